package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/muster-go/muster/fence"
)

// queue is the sending side of a Pipe or a SocketPipe: frames, framed as
// on a socket (see AppendFramed), waiting for the goroutine that carries
// them on. put never blocks; after close it drops frames. A put wakes that
// goroutine only when it waits, so a busy queue costs no channel operation
// per frame. A post or delivery that follows one of the same kind while
// that one is still queued is added to its run (see AppendMessage) rather
// than framed alone, up to runLimit bytes a frame.
type queue struct {
	mu       sync.Mutex
	buf      []byte
	run      openRun // the run that ends buf, if any
	runLimit int
	closed   bool
	waiting  bool // take waits on wake: the next put signals it
	wake     chan struct{}
}

// openRun is the post or delivery frame that ends a queue's buffer, which
// the next message of the same kind extends.
type openRun struct {
	op      Op             // OpPost or OpDeliver; 0: there is none
	start   int            // where its length prefix is
	countAt int            // where its count is
	count   uint32         // its messages
	id      fence.Identity // a post's recipient, a delivery's sender
	handler bool           // a post's
	seq     uint64         // a delivery's last message
}

// newQueue returns a queue whose runs' frames stay within limit bytes (a
// limit below maxRun, the frame limit of the side that reads them) and
// maxRun.
func newQueue(limit int) queue {
	if limit <= 0 || limit > maxRun {
		limit = maxRun
	}
	return queue{wake: make(chan struct{}, 1), runLimit: limit}
}

// put frames f and queues it.
func (q *queue) put(f *Frame) {
	q.mu.Lock()
	if !q.closed {
		var err error
		if q.buf, err = AppendFramed(q.buf, f); err != nil {
			q.mu.Unlock()
			panic(fmt.Sprintf("wire: frame %d does not encode: %v", f.Op, err)) // a bug: frames hold plain data
		}
		q.run.op = 0 // no run ends the buffer now
	}
	q.queued()
}

// putPost queues the post of body to to, as put would its frame, adding it
// to the run that ends the queue if that is a post to to with the same
// handler flag.
func (q *queue) putPost(to fence.Identity, handler bool, body []byte) {
	q.mu.Lock()
	switch {
	case q.closed:
	case q.run.op == OpPost && q.run.handler == handler && q.run.id == to && q.extends(body):
		q.extend(body, 0)
	default:
		start := q.open()
		q.begin(appendPostHead(q.buf, to, handler), start, body)
		q.run.op, q.run.id, q.run.handler = OpPost, to, handler
	}
	q.queued()
}

// putDeliver queues the delivery of the message seq of from, as put would
// its frame, adding it to the run that ends the queue if that is a
// delivery from from whose last message is seq-1.
func (q *queue) putDeliver(from fence.Identity, seq uint64, body []byte) {
	q.mu.Lock()
	switch {
	case q.closed:
	case q.run.op == OpDeliver && q.run.seq+1 == seq && q.run.id == from && q.extends(body):
		q.extend(body, seq)
	default:
		start := q.open()
		q.begin(appendDeliverHead(q.buf, from, seq), start, body)
		q.run.op, q.run.id, q.run.seq = OpDeliver, from, seq
	}
	q.queued()
}

// open appends room for a frame's length prefix and returns where it
// starts. Callers hold mu.
func (q *queue) open() (start int) {
	start = len(q.buf)
	q.buf = append(q.buf, make([]byte, lengthSize)...)
	return start
}

// begin keeps b, the queue's buffer with the head of a post or delivery
// appended after a length prefix's room at start, as the frame of a new
// run of body alone. Callers hold mu and set the run's kind.
func (q *queue) begin(b []byte, start int, body []byte) {
	q.run.start, q.run.countAt, q.run.count = start, len(b), 1
	b = AppendMessage(appendCount(b, 1), body)
	var err error
	if q.buf, err = prefixed(b, start); err != nil {
		q.mu.Unlock()
		panic(err.Error()) // a message of 4 GiB: the frame limit refuses far less
	}
}

// extends reports whether body fits the run that ends the queue. Callers
// hold mu.
func (q *queue) extends(body []byte) bool {
	return len(q.buf)-q.run.start-lengthSize+messageSize(body) <= q.runLimit && q.run.count < math.MaxUint32
}

// extend adds body, the message seq (of a delivery), to the run that ends
// the queue. Callers hold mu.
func (q *queue) extend(body []byte, seq uint64) {
	q.buf = AppendMessage(q.buf, body)
	q.run.count++
	q.run.seq = seq
	binary.BigEndian.PutUint32(q.buf[q.run.countAt:], q.run.count)
	binary.BigEndian.PutUint32(q.buf[q.run.start:], uint32(len(q.buf)-q.run.start-lengthSize))
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
			q.buf, q.run.op = spare[:0], 0
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
