package managedprocess

import (
	"fmt"

	"github.com/muster-go/muster/fence"
)

// State is what a member looks like at one instant, for debugging.
type State struct {
	ID      fence.Identity
	Leading uint64        // last sequence of its stream
	Streams []StreamState // its outbound links
	Queued  int           // messages (and local fences) waiting in its inbox
	Handled uint64        // messages its handler consumed
	Dropped uint64        // messages consumed unhandled after a crash or close
	Err     error         // why it stopped accepting messages; nil while it runs
}

// String returns a one-line summary.
func (s State) String() string {
	str := fmt.Sprintf("%s leading=%d queued=%d handled=%d dropped=%d", s.ID, s.Leading, s.Queued, s.Handled, s.Dropped)
	for _, st := range s.Streams {
		str += fmt.Sprintf(" →%s %d/%d", st.Recipient, st.Delivered, st.Sent)
	}
	if s.Err != nil {
		str += fmt.Sprintf(" stopped: %v", s.Err)
	}
	return str
}

// Snapshot returns the member's current state. It takes the member's locks
// briefly and never waits for progress.
func (m *Member[T]) Snapshot() State {
	queued, err := m.inbox.queued(), m.inbox.err()
	return State{
		ID:      m.id,
		Leading: m.out.leadingSeq(),
		Streams: m.out.states(),
		Queued:  queued,
		Handled: m.stats.handledCount(),
		Dropped: m.stats.dropped.Load(),
		Err:     err,
	}
}
