package wire

import (
	"fmt"
	"sync"
)

// Sender is one direction of a connection between a member and its
// coordinator: Send queues a frame for the other side and never blocks;
// Close ends the direction once the frames queued were received, and waits
// for that. Pipe and SocketPipe are Senders.
type Sender interface {
	Send(*Frame)
	Close()
}

// Pipe carries frames one way as bytes: Send encodes a frame into a queue
// without waiting, and a goroutine of the Pipe's own decodes each one and
// hands it to the receive function, in order. It stands in for one
// direction of a socket. A Pipe must be closed; Close waits for that
// goroutine.
type Pipe struct {
	mu      sync.Mutex
	queue   [][]byte
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	receive func(*Frame)
}

// NewPipe returns a pipe whose goroutine hands every frame to receive, which
// must not block for long: later frames wait for it.
func NewPipe(receive func(*Frame)) *Pipe {
	p := &Pipe{wake: make(chan struct{}, 1), done: make(chan struct{}), receive: receive}
	go p.run()
	return p
}

// Send queues f, encoded, for the receiving side. It never blocks; after
// Close it drops the frame.
func (p *Pipe) Send(f *Frame) {
	b, err := Encode(f)
	if err != nil {
		panic(fmt.Sprintf("wire: frame %d does not encode: %v", f.Op, err)) // a bug: frames hold plain data
	}
	p.mu.Lock()
	if !p.closed {
		p.queue = append(p.queue, b)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Close stops the pipe once the frames already queued were received, and
// waits for that.
func (p *Pipe) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
}

func (p *Pipe) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		batch, closed := p.queue, p.closed
		p.queue = nil
		p.mu.Unlock()
		for _, b := range batch {
			f, err := Decode(b)
			if err != nil {
				panic(fmt.Sprintf("wire: a frame does not decode: %v", err)) // a bug: Send encoded it
			}
			p.receive(f)
		}
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-p.wake
		}
	}
}
