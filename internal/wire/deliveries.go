package wire

import (
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
)

// deliveryQueue holds the runs of messages delivered to a member side that
// its handler goroutine has not taken yet. put never blocks, so the
// connection's reader goes on reading replies while a handler waits for
// one. A put wakes the handler goroutine only when it waits, so a busy
// queue costs no channel operation per run.
type deliveryQueue struct {
	mu      sync.Mutex
	queue   []delivery
	closed  bool
	waiting bool        // take waits on wake: the next put signals it
	dropped atomic.Bool // the member departed dropping what is queued; read per message without mu
	wake    chan struct{}
}

// delivery is a run of messages delivered: a deliver frame's fields, its
// run copied.
type delivery struct {
	from  fence.Identity
	seq   uint64 // the first message's
	count int
	run   []byte // count messages, packed (see NextMessage)
}

// messagesIn counts the messages of ds.
func messagesIn(ds []delivery) int {
	n := 0
	for i := range ds {
		n += ds[i].count
	}
	return n
}

func newDeliveryQueue() deliveryQueue { return deliveryQueue{wake: make(chan struct{}, 1)} }

// put queues ds, which it does not keep; after close it drops them.
func (q *deliveryQueue) put(ds []delivery) {
	q.mu.Lock()
	if !q.closed {
		q.queue = append(q.queue, ds...)
	}
	waiting := q.waiting
	q.waiting = false
	q.mu.Unlock()
	if waiting {
		q.signal()
	}
}

// close drops what is queued and everything put later, and makes take
// return nil.
func (q *deliveryQueue) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.queue)
	q.queue = nil
	q.mu.Unlock()
	q.signal()
}

// drop makes the handler drop what is queued and what comes later (see
// dropping).
func (q *deliveryQueue) drop() {
	q.dropped.Store(true)
	q.signal()
}

// dropping reports whether drop was called.
func (q *deliveryQueue) dropping() bool { return q.dropped.Load() }

// take appends what is queued to dst, waiting while nothing is, and
// reports whether it is to be dropped; it returns nil once the queue is
// closed.
func (q *deliveryQueue) take(dst []delivery) ([]delivery, bool) {
	for {
		q.mu.Lock()
		closed, queued, dropped := q.closed, q.queue, q.dropped.Load()
		if len(queued) > 0 && !closed {
			dst = append(dst, queued...)
			clear(queued)
			q.queue = queued[:0]
		}
		q.waiting = !closed && len(dst) == 0
		q.mu.Unlock()
		switch {
		case closed:
			return nil, false
		case len(dst) > 0:
			return dst, dropped
		}
		<-q.wake
	}
}

func (q *deliveryQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
