package wire

import (
	"bytes"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// Sender is one direction of a connection between a member and its
// coordinator: Send queues a frame for the other side and never blocks,
// encoding it before it returns (it keeps nothing of it, so the caller may
// reuse the frame). Post, Deliver and Relay queue the frames that go with
// every message as Send would, without a Frame: a message posted, one
// delivered, or a run of messages delivered as a post carried them, count
// messages packed in run (see AppendMessage) from the message seq of from
// on. Close ends the direction once the
// frames queued were received, and waits for that. Pipe and SocketPipe are
// Senders.
type Sender interface {
	Send(*Frame)
	Post(to fence.Identity, handler bool, body []byte)
	Deliver(from fence.Identity, seq uint64, body []byte)
	Relay(from fence.Identity, seq uint64, count uint32, run []byte)
	Close()
}

// Pipe carries frames one way as bytes: Send frames a frame into a queue
// without waiting, and a goroutine of the Pipe's own decodes each one and
// hands it to the receive function, in order. It stands in for one
// direction of a socket. A Pipe must be closed; Close waits for that
// goroutine.
type Pipe struct {
	q       queue
	done    chan struct{}
	receive func(*Frame)
}

// NewPipe returns a pipe whose goroutine hands every frame to receive, which
// must not block for long: later frames wait for it.
func NewPipe(receive func(*Frame)) *Pipe {
	p := &Pipe{q: newQueue(0), done: make(chan struct{}), receive: receive}
	go p.run()
	return p
}

// Send queues f, encoded, for the receiving side. It never blocks; after
// Close it drops the frame.
func (p *Pipe) Send(f *Frame) { p.q.put(f) }

// Post queues a post frame, as Send does.
func (p *Pipe) Post(to fence.Identity, handler bool, body []byte) { p.q.putPost(to, handler, body) }

// Deliver queues a deliver frame, as Send does.
func (p *Pipe) Deliver(from fence.Identity, seq uint64, body []byte) { p.q.putDeliver(from, seq, body) }

// Relay queues a deliver frame of a run, as Send does.
func (p *Pipe) Relay(from fence.Identity, seq uint64, count uint32, run []byte) {
	p.q.putRelay(from, seq, count, run)
}

// Close stops the pipe once the frames already queued were received, and
// waits for that.
func (p *Pipe) Close() {
	p.q.close()
	<-p.done
}

func (p *Pipe) run() {
	defer close(p.done)
	var spare []byte
	for {
		batch := p.q.take(spare)
		if len(batch) == 0 { // closed, and everything queued was received
			return
		}
		for r := bytes.NewReader(batch); r.Len() > 0; {
			f, err := ReadFramed(r, len(batch))
			if err != nil {
				panic(fmt.Sprintf("wire: a frame does not decode: %v", err)) // a bug: Send encoded it
			}
			p.receive(f)
		}
		spare = batch
	}
}
