package wire

import (
	"fmt"
	"sync"

	"github.com/muster-go/muster/fence"
)

// queue is the sending side of a Pipe or a SocketPipe: frames, framed as
// on a socket (see AppendFramed), waiting for the goroutine that carries
// them on. put never blocks; after close it drops frames. A put wakes that
// goroutine only when it waits, so a busy queue costs no channel operation
// per frame.
type queue struct {
	mu      sync.Mutex
	buf     []byte
	closed  bool
	waiting bool // take waits on wake: the next put signals it
	wake    chan struct{}
}

func newQueue() queue { return queue{wake: make(chan struct{}, 1)} }

// put frames f and queues it.
func (q *queue) put(f *Frame) {
	q.mu.Lock()
	if !q.closed {
		var err error
		if q.buf, err = AppendFramed(q.buf, f); err != nil {
			q.mu.Unlock()
			panic(fmt.Sprintf("wire: frame %d does not encode: %v", f.Op, err)) // a bug: frames hold plain data
		}
	}
	q.queued()
}

// putPost queues the post of body to to, as put would its frame.
func (q *queue) putPost(to fence.Identity, handler bool, body []byte) {
	if start, ok := q.open(); ok {
		q.putFramed(appendPost(q.buf, to, handler, body), start)
	}
	q.queued()
}

// putDeliver queues the delivery of the message seq of from, as put would
// its frame.
func (q *queue) putDeliver(from fence.Identity, seq uint64, body []byte) {
	if start, ok := q.open(); ok {
		q.putFramed(appendDeliver(q.buf, from, seq, body), start)
	}
	q.queued()
}

// open begins a put without a Frame: it locks mu and, unless the queue is
// closed, appends room for a length prefix and returns where it starts.
func (q *queue) open() (start int, ok bool) {
	q.mu.Lock()
	if q.closed {
		return 0, false
	}
	start = len(q.buf)
	q.buf = append(q.buf, make([]byte, lengthSize)...)
	return start, true
}

// putFramed keeps b, the queue's buffer with a frame appended at start
// after room for its length prefix (see open). Callers hold mu.
func (q *queue) putFramed(b []byte, start int) {
	var err error
	if q.buf, err = prefixed(b, start); err != nil {
		q.mu.Unlock()
		panic(err.Error()) // a message of 4 GiB: the frame limit refuses far less
	}
}

// queued ends a put: it unlocks mu, and wakes the taker if it waits.
func (q *queue) queued() {
	waiting := q.waiting
	q.waiting = false
	q.mu.Unlock()
	if waiting {
		q.signal()
	}
}

// close makes put drop frames from now on.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// take returns what is queued, waiting for a put while nothing is; the
// queue goes on in spare's room. An empty batch means it was closed and
// everything put before was taken.
func (q *queue) take(spare []byte) []byte {
	for {
		q.mu.Lock()
		batch, closed := q.buf, q.closed
		if len(batch) > 0 || closed {
			q.buf = spare[:0]
			q.mu.Unlock()
			return batch
		}
		q.waiting = true
		q.mu.Unlock()
		<-q.wake
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
