package managedprocess

import (
	"sync"
	"sync/atomic"
)

// counters are the reader's statistics, read by Snapshot. Counting handled
// messages costs nothing per message: the reader publishes the batch it is
// handling, and a reader of the count adds the batch's messages whose
// progress is already published (a link's progress covers exactly the
// messages handled from it, in order).
type counters[T any] struct {
	mu      sync.Mutex
	handled uint64     // in batches done
	batch   []entry[T] // the batch being handled, nil between batches
	dropped atomic.Uint64
}

// begin publishes the batch the reader starts handling.
func (c *counters[T]) begin(batch []entry[T]) {
	c.mu.Lock()
	c.batch = batch
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

// handledCount returns how many messages the handler consumed so far.
func (c *counters[T]) handledCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.handled
	for i := range c.batch {
		e := &c.batch[i]
		if e.link.marker == nil && e.link.progress.Delivered() >= e.seq {
			n++
		}
	}
	return n
}
