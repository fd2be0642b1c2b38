package managedprocess

import (
	"fmt"
	"time"

	"github.com/muster-go/muster/fence"
)

// State is what a member looks like, for debugging. Its parts are read one
// after another while the member runs, not at one instant: while messages
// flow, Queued and Handling may count a message that just moved on (the sum
// can exceed a window), while each stream's Sent is read before its
// Delivered, so that Sent - Delivered never overstates what is unhandled.
type State struct {
	ID      fence.Identity
	Leading uint64        // last sequence of its stream
	Streams []StreamState // its outbound links
	// Queued counts the messages (and local fences) waiting to be handled:
	// in its inbox, and in the batch its reader took, behind the message
	// being handled.
	Queued   int
	Handling *Handling // the message whose handler runs now; nil if none
	// Waiting lists its sends that wait for room in a full window, oldest
	// first: a handler among them (sending with a context not derived from
	// its handler context) holds up its reader.
	Waiting []WaitingSend
	Handled uint64 // messages its handler consumed
	Dropped uint64 // messages consumed unhandled after a crash or close
	Err     error  // why it stopped accepting messages; nil while it runs
}

// Handling is the message a member's handler (or its post-handler work) is
// running on. Since is when it started: exact for the first message of a
// batch the reader took at once, otherwise the time a Snapshot first saw
// this message being handled, so a stuck handler shows how long it has been
// stuck at least that long.
type Handling struct {
	From  fence.Identity
	Seq   uint64
	Since time.Time
}

// String returns "from#id seq N for D".
func (h Handling) String() string {
	return fmt.Sprintf("%s seq %d for %v", h.From, h.Seq, time.Since(h.Since).Round(time.Millisecond))
}

// String returns a one-line summary.
func (s State) String() string {
	str := fmt.Sprintf("%s leading=%d queued=%d handled=%d dropped=%d", s.ID, s.Leading, s.Queued, s.Handled, s.Dropped)
	if s.Handling != nil {
		str += fmt.Sprintf(" handling=[%s]", s.Handling)
	}
	if len(s.Waiting) > 0 {
		str += fmt.Sprintf(" waiting-for-room=%v", s.Waiting)
	}
	for _, st := range s.Streams {
		str += fmt.Sprintf(" →%s %d/%d", st.Recipient, st.Delivered, st.Sent)
	}
	if s.Err != nil {
		str += fmt.Sprintf(" stopped: %v", s.Err)
	}
	return str
}

// WaitingSend is a send of a member that waits for room in its full window
// at a recipient: to whom, and since when. A handler that sends with a
// context not derived from its handler context is not exempt from the
// window; two such handlers sending into each other's full windows wait for
// each other until their contexts end, and this is how the Snapshot shows
// it.
type WaitingSend struct {
	To    fence.Identity
	Since time.Time
}

// String returns "to#id for D".
func (w WaitingSend) String() string {
	return fmt.Sprintf("%s for %v", w.To, time.Since(w.Since).Round(time.Millisecond))
}

// StreamState is the progress of one (sender, recipient) pair, counted in
// messages: the pair numbers its messages 1, 2, 3, … apart from the
// sender's stream sequence (Message.Seq).
type StreamState struct {
	Recipient fence.Identity
	Sent      uint64 // messages the sender addressed to the recipient
	Delivered uint64 // of those, the ones the recipient has consumed
}
