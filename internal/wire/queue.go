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

// newQueue returns a queue whose runs' frames stay within maxRun bytes and
// within limit, the frame limit of the side that reads them (0: none).
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
	if !q.closed {
		if !(q.run.op == OpPost && q.run.handler == handler && q.run.id == to && q.extends(messageSize(body), 1)) {
			q.begin(OpPost, to, appendPostHead(q.open(), to, handler))
			q.run.handler = handler
		}
		q.buf = AppendMessage(q.buf, body)
		q.ran(1, 0)
	}
	q.queued()
}

// putDeliver queues the delivery of the message seq of from, as put would
// its frame, adding it to the run that ends the queue if that is a
// delivery from from whose last message is seq-1.
func (q *queue) putDeliver(from fence.Identity, seq uint64, body []byte) {
	q.mu.Lock()
	if !q.closed {
		q.openDelivery(from, seq, messageSize(body), 1)
		q.buf = AppendMessage(q.buf, body)
		q.ran(1, seq)
	}
	q.queued()
}

// putRelay queues the delivery of run, count messages packed as a frame
// carries them, the first of them the message seq of from, as putDeliver
// would each one.
func (q *queue) putRelay(from fence.Identity, seq uint64, count uint32, run []byte) {
	q.mu.Lock()
	if !q.closed {
		q.openDelivery(from, seq, len(run), count)
		q.buf = append(q.buf, run...)
		q.ran(count, seq+uint64(count)-1)
	}
	q.queued()
}

// openDelivery makes the queue end with a run of deliveries from from
// that size more bytes of count messages from seq on may extend: the run
// that ends it, if that is one whose last message is seq-1 and has the
// room, else a new one. Callers hold mu.
func (q *queue) openDelivery(from fence.Identity, seq uint64, size int, count uint32) {
	if !(q.run.op == OpDeliver && q.run.seq+1 == seq && q.run.id == from && q.extends(size, count)) {
		q.begin(OpDeliver, from, appendDeliverHead(q.open(), from, seq))
	}
}

// open appends room for a frame's length prefix, and returns the buffer.
// Callers hold mu.
func (q *queue) open() []byte {
	q.run.start = len(q.buf)
	return append(q.buf, make([]byte, lengthSize)...)
}

// begin keeps b, the queue's buffer with the head of a post or delivery
// appended after a length prefix's room (see open), as the frame of a new
// run of op, to or from id, with no messages yet: ran counts those added.
// Callers hold mu.
func (q *queue) begin(op Op, id fence.Identity, b []byte) {
	q.run.op, q.run.id, q.run.countAt, q.run.count = op, id, len(b), 0
	q.buf = appendCount(b, 0)
}

// extends reports whether size more bytes of count messages fit the run
// that ends the queue. Callers hold mu.
func (q *queue) extends(size int, count uint32) bool {
	return len(q.buf)-q.run.start-lengthSize+size <= q.runLimit && q.run.count <= math.MaxUint32-count
}

// ran records that count messages, the last of them seq (of a delivery),
// were appended to the run that ends the queue: it writes the run's count
// and its frame's length prefix. Callers hold mu.
func (q *queue) ran(count uint32, seq uint64) {
	q.run.count += count
	q.run.seq = seq
	binary.BigEndian.PutUint32(q.buf[q.run.countAt:], q.run.count)
	var err error
	if q.buf, err = prefixed(q.buf, q.run.start); err != nil {
		q.run.op = 0
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
