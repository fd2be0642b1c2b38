package wire

import (
	"fmt"
	"sync"
)

// queue is the sending side of a Pipe or a SocketPipe: frames, framed as
// on a socket (see AppendFramed), waiting to be carried on. A carrier — the
// goroutine that carries them on, or a sender that would rather not wait
// for it (see claim) — takes everything queued as one batch, and no other
// batch is taken until it is done with it, so batches go out in order.
// put never blocks; after close it drops frames.
type queue struct {
	mu     sync.Mutex
	buf    []byte
	spare  []byte // the room of a batch carried on, for the next one
	busy   bool   // a batch is being carried on
	closed bool
	wake   chan struct{}
}

func newQueue() queue { return queue{wake: make(chan struct{}, 1)} }

// put frames f and queues it, waking the goroutine that carries frames on
// unless quiet (the caller then carries them on itself, or wakes it).
func (q *queue) put(f *Frame, quiet bool) {
	q.mu.Lock()
	if !q.closed {
		var err error
		if q.buf, err = AppendFramed(q.buf, f); err != nil {
			q.mu.Unlock()
			panic(fmt.Sprintf("wire: frame %d does not encode: %v", f.Op, err)) // a bug: frames hold plain data
		}
	}
	q.mu.Unlock()
	if !quiet {
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

// take returns what is queued, waiting while nothing is or another carrier
// has a batch; the caller calls done with it. An empty batch means it was
// closed and everything put before was carried on.
func (q *queue) take() []byte {
	for {
		q.mu.Lock()
		if !q.busy && (len(q.buf) > 0 || q.closed) {
			batch := q.takeLocked()
			q.mu.Unlock()
			return batch
		}
		q.mu.Unlock()
		<-q.wake
	}
}

// claim returns what is queued without waiting, for the caller to carry on
// itself and then call done with: nil if nothing is, or another carrier has
// a batch (whose done wakes the goroutine for what is queued now).
func (q *queue) claim() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.busy || len(q.buf) == 0 {
		return nil
	}
	return q.takeLocked()
}

// takeLocked takes what is queued as a batch. Callers hold mu.
func (q *queue) takeLocked() []byte {
	batch := q.buf
	if len(batch) > 0 {
		q.busy = true
		q.buf, q.spare = q.spare[:0], nil
	}
	return batch
}

// done says batch was carried on; its room serves a later one, and the
// goroutine is woken for what was queued meanwhile.
func (q *queue) done(batch []byte) {
	q.mu.Lock()
	q.busy = false
	if cap(batch) > cap(q.spare) {
		q.spare = batch[:0]
	}
	more := len(q.buf) > 0 || q.closed
	q.mu.Unlock()
	if more {
		q.signal()
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
