package wire

import (
	"fmt"
	"sync"
)

// queue is the sending side of a Pipe or a SocketPipe: frames, framed as
// on a socket (see AppendFramed), waiting for the goroutine that carries
// them on. put never blocks; after close it drops frames.
type queue struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
	wake   chan struct{}
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
	q.mu.Unlock()
	q.signal()
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
