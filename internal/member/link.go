package member

import (
	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/progress"
	"github.com/muster-go/muster/watcher"
)

// link is the state of one (sender, recipient) pair with traffic. The
// recipient's reader reads the first fields for every message; the sender
// writes the last ones for every message. The padding keeps them on
// different cache lines, so the two cores do not trade the line per message.
//
// A link numbers its messages 1, 2, 3, … (the link sequence, apart from the
// stream's sequence every message also has); its two counters count in it.
// They are what the quiescence check of a processing fence reads, and what
// the window bounds: sent is raised before a message becomes visible to the
// recipient's reader, progress only after its handler and post-handler work
// returned, so sent >= delivered at every instant. Progress is an atomic the
// reader publishes without a lock; sent is a plain field of the sender's
// stream, which the check locks anyway to list the links.
type link[T any] struct {
	to       *Member[T]
	from     *stream[T] // the sender's stream, which holds the link
	sender   fence.Identity
	progress *progress.Counter // delivered: the link sequence of the last message consumed
	watch    watcher.Counter   // progress as the watcher arms it (see watched)
	marker   *marker           // set only on the pseudo-link of a local fence marker
	lane     int               // the recipient's inbox lane the sender uses
	_        [64]byte
	// sent is the link sequence of the last message queued. It is written
	// under the recipient's lane lock (so before the reader can take the
	// message) while the sender's stream lock is held, and read under the
	// stream lock.
	sent uint64
	// room is how many more messages fit in the window for certain, as of
	// the last time the sender read progress: sends spend it without reading
	// the counter the reader writes (see full). Written with sent.
	room   uint64
	dirty  bool // in the sender's dirty list; guarded by the sender's stream lock
	credit credit
}

// Target is one drain target of a member's stream: the recipient's delivery
// progress on the link must reach Seq, a link sequence. Its counter is the coordinator's to
// watch; a Target only reports it (Lag) and hands it to the watcher (Watch).
type Target struct {
	fence.Target
	counter watcher.Counter
}

// Lag returns the target as a lag with the counter's current progress, and
// whether it is still unmet.
func (t Target) Lag() (fence.Lag, bool) {
	d := t.counter.Delivered()
	return fence.Lag{Target: t.Target, Delivered: d}, d < t.Seq
}

// Watch returns the target as the progress watcher waits for it.
func (t Target) Watch() watcher.Target { return watcher.Target{Counter: t.counter, Seq: t.Seq} }

// SameLink reports whether t and u are targets on the same link.
func (t Target) SameLink(u Target) bool { return t.counter == u.counter }

// target returns the link's drain target at seq.
func (l *link[T]) target(seq uint64) Target {
	return Target{
		Target:  fence.Target{Recipient: l.to.id, Sender: l.sender, Seq: seq},
		counter: l.watch,
	}
}

// A link's progress counter is what the watcher arms and reads.
var _ watcher.Counter = (*progress.Counter)(nil)
