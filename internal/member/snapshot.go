package member

import (
	"time"

	"github.com/muster-go/muster/managedprocess"
)

// Snapshot returns the member's current state. It takes the member's locks
// briefly and never waits for progress.
func (m *Member[T]) Snapshot() managedprocess.State {
	handled, waiting, cur := m.stats.reading(time.Now())
	if m.fwd != nil {
		handled, waiting, cur = m.fwd.reading()
	}
	queued, err := m.inbox.queued(), m.inbox.err()
	return managedprocess.State{
		ID:       m.id,
		Leading:  m.out.leadingSeq(),
		Streams:  m.out.states(),
		Queued:   queued + waiting,
		Handling: cur,
		Waiting:  m.waiting.snapshot(),
		Handled:  handled,
		Dropped:  m.stats.dropped.Load(),
		Err:      err,
	}
}
