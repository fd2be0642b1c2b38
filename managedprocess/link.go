package managedprocess

import (
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/progress"
)

// link is the state of one (sender, recipient) pair with traffic. The
// recipient's reader reads the first fields for every message; the sender
// writes the last ones for every message. The padding keeps them on
// different cache lines, so the two cores do not trade the line per message.
//
// The link's two counters are what the quiescence check of a processing
// fence reads without any lock: sent is raised before a message becomes
// visible to the recipient's reader, progress only after its handler and
// post-handler work returned, so sent >= delivered at every instant.
type link[T any] struct {
	to       *Member[T]
	sender   fence.Identity
	progress *progress.Counter // delivered: the last sequence consumed
	marker   *marker           // set only on the pseudo-link of a local fence marker
	lane     int               // the recipient's inbox lane the sender uses
	_        [64]byte
	// sent is the last sequence addressed to the recipient. It is written
	// under the recipient's lane lock (so before the reader can take the
	// message) while the sender's stream lock is held, and read atomically.
	sent  atomic.Uint64
	dirty bool // in the sender's dirty list; guarded by the sender's stream lock
}

// Target is one drain target of a member's stream: Counter must reach Seq.
type Target struct {
	fence.Target
	Counter *progress.Counter
}

// Lag returns the target as a lag with the counter's current progress, and
// whether it is still unmet.
func (t Target) Lag() (fence.Lag, bool) {
	d := t.Counter.Delivered()
	return fence.Lag{Target: t.Target, Delivered: d}, d < t.Seq
}

// StreamState is the progress of one (sender, recipient) pair.
type StreamState struct {
	Recipient fence.Identity
	Sent      uint64 // last sequence the sender addressed to the recipient
	Delivered uint64 // last sequence the recipient has consumed
}

// target returns the link's drain target at seq.
func (l *link[T]) target(seq uint64) Target {
	return Target{
		Target:  fence.Target{Recipient: l.to.id, Sender: l.sender, Seq: seq},
		Counter: l.progress,
	}
}
