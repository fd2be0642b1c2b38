package member

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-go/muster/managedprocess"
)

// counters are the reader's statistics, read by Snapshot. Counting handled
// messages costs nothing per message: the reader publishes the batch it is
// handling, and a reader of the count adds the batch's messages whose
// progress is already published (a link's progress covers exactly the
// messages handled from it, in order). The first message of the batch whose
// progress is not published is the one being handled.
type counters[T any] struct {
	mu      sync.Mutex
	handled uint64     // in batches done
	batch   []entry[T] // the batch being handled, nil between batches
	began   time.Time  // when the reader started on batch
	seen    seenEntry[T]
	dropped atomic.Uint64
}

// seenEntry is the message a Snapshot last found being handled, and when.
type seenEntry[T any] struct {
	link *link[T]
	seq  uint64
	at   time.Time
}

// begin publishes the batch the reader starts handling.
func (c *counters[T]) begin(batch []entry[T]) {
	now := time.Now()
	c.mu.Lock()
	c.batch, c.began = batch, now
	c.mu.Unlock()
}

// end records that n messages of the published batch were handled and
// withdraws it.
func (c *counters[T]) end(n int) {
	c.mu.Lock()
	c.handled += uint64(n)
	c.batch = nil
	c.mu.Unlock()
}

// reading returns how many messages the handler consumed so far, how many
// of the current batch wait behind the one being handled, and that one (nil
// between messages of no batch).
func (c *counters[T]) reading(now time.Time) (handled uint64, waiting int, cur *managedprocess.Handling) {
	c.mu.Lock()
	defer c.mu.Unlock()
	handled, first := c.handled, true
	for i := range c.batch {
		e := &c.batch[i]
		switch {
		case e.link.marker != nil:
			continue
		case e.link.progress.Delivered() >= e.n:
			handled++
		case cur == nil:
			cur = &managedprocess.Handling{From: e.link.sender, Seq: e.seq, Since: c.since(e, first, now)}
		default:
			waiting++
		}
		first = false
	}
	return handled, waiting, cur
}

// since returns when the handler started on e: the batch's start for its
// first message, otherwise when a Snapshot first saw e being handled.
// Callers hold mu.
func (c *counters[T]) since(e *entry[T], first bool, now time.Time) time.Time {
	if first {
		return c.began
	}
	if c.seen.link != e.link || c.seen.seq != e.seq {
		c.seen = seenEntry[T]{link: e.link, seq: e.seq, at: now}
	}
	return c.seen.at
}
