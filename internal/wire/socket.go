//go:build unix

package wire

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/muster-go/muster/fence"
)

// SocketPipe carries frames one way through a kernel socket: Send frames
// and queues them without waiting, a writer goroutine writes them to one
// end of a Unix socket pair, and a reader goroutine reads them,
// length-prefixed and size-limited (see ReadFramed), from the other end
// and hands each to the receive function, in order. A frame the reader
// cannot accept disconnects the connection: every direction of it ends. It
// is the Pipe with a real byte stream in the middle. NewSocketPipes makes
// the two directions of a connection within this process, NewSocketConn
// one direction to a child process and the other back (see Conn for the
// sockets each uses), whose reader starts at Start. A SocketPipe must be
// closed; Close waits for both of its goroutines.
type SocketPipe struct {
	w          writeEnd
	r          readEnd
	receive    func(*Frame)
	idle       func() // before each read from the socket, if not nil
	onBad      func(error)
	limit      int
	disconnect func() // ends every direction of the connection at once

	q       queue
	written chan struct{} // the writer goroutine returned
	read    chan struct{} // the reader goroutine returned, or Close found it never started
	reading sync.Once     // starts the reader, or stands for it in Close
}

// NewSocketPipes returns the two directions of a connection within this
// process: aToB hands what it carries to toB, bToA to toA. Their readers
// refuse frames longer than limit bytes (DefaultFrameLimit if limit <= 0).
// A frame one of them cannot accept stops it: it passes the error (one
// wrapping ErrBadFrame) to onBad and disconnects the connection; a failing
// socket only disconnects it. The receive functions must not block for
// long: later frames wait for them; nor keep a frame of the operations that
// go with every message (post, deliver, handled, arm), or its Body, past
// their return: the reader decodes the next one into it, and reads over
// its payload (a receive function copies the payload it keeps).
func NewSocketPipes(toB, toA func(*Frame), limit int, onBad func(error)) (aToB, bToA *SocketPipe, err error) {
	if limit <= 0 {
		limit = DefaultFrameLimit
	}
	a, b, err := pollPair()
	if err != nil {
		return nil, nil, err
	}
	ea, eb := newSocketEnd(a), newSocketEnd(b)
	disconnect := func() {
		ea.abort()
		eb.abort()
	}
	aToB, bToA = newSocketPipe(ea, eb, toB, nil, limit, onBad, disconnect), newSocketPipe(eb, ea, toA, nil, limit, onBad, disconnect)
	aToB.Start()
	bToA.Start()
	return aToB, bToA, nil
}

func newSocketPipe(w writeEnd, r readEnd, receive func(*Frame), idle func(), limit int, onBad func(error), disconnect func()) *SocketPipe {
	p := &SocketPipe{w: w, r: r, receive: receive, idle: idle, onBad: onBad, limit: limit, disconnect: disconnect,
		q: newQueue(limit), written: make(chan struct{}), read: make(chan struct{})}
	go p.write()
	return p
}

// NewSocketConn returns a connection to another process over c: Send
// frames go to that process, and frames it sends are handed to receive, in
// order. Its reader refuses frames longer than limit bytes
// (DefaultFrameLimit if limit <= 0), and the runs of messages it sends stay
// within limit too: the other process reads with the same limit. A frame
// it cannot accept closes the
// connection and is passed to onBad (a failing socket only closes it).
// Ended reports when the reader stopped. receive is bound as
// NewSocketPipes says. idle, if not nil, is called on the reader goroutine
// each time the reader is about to read from the socket (and may wait):
// once it has handed on every frame its buffer held (see Remote.Take).
//
// Sending works at once; reading waits for Start, so that receive may use
// what its caller sets up once it has the pipe: nothing written before
// Start is ordered before receive's calls otherwise, since the frames come
// from another process.
func NewSocketConn(c *Conn, receive func(*Frame), idle func(), limit int, onBad func(error)) *SocketPipe {
	if limit <= 0 {
		limit = DefaultFrameLimit
	}
	disconnect := func() {
		c.w.abort()
		c.r.close()
	}
	return newSocketPipe(c.w, c.r, receive, idle, limit, onBad, disconnect)
}

// Send frames f and queues it for the writer. It never blocks; after Close
// it drops the frame.
func (p *SocketPipe) Send(f *Frame) { p.q.put(f) }

// Post queues a post frame, as Send does.
func (p *SocketPipe) Post(to fence.Identity, handler bool, body []byte) {
	p.q.putPost(to, handler, body)
}

// Deliver queues a deliver frame, as Send does.
func (p *SocketPipe) Deliver(from fence.Identity, seq uint64, body []byte) {
	p.q.putDeliver(from, seq, body)
}

// Relay queues a deliver frame of a run, as Send does.
func (p *SocketPipe) Relay(from fence.Identity, seq uint64, count uint32, run []byte) {
	p.q.putRelay(from, seq, count, run)
}

// Start starts the reader of a pipe from NewSocketConn (NewSocketPipes
// starts its own): from then on frames are handed to receive. Everything
// the caller did before Start happens before the first call. Later calls,
// and calls after Close, do nothing.
func (p *SocketPipe) Start() { p.reading.Do(func() { go p.readLoop() }) }

// Close stops the pipe once the frames already queued were written and
// received, and waits for that. On a connection to another process
// (NewSocketConn) it waits until that process ends its stream too; Abort
// first if it might not. A pipe whose reader never started reads nothing
// more: Close closes its end.
func (p *SocketPipe) Close() {
	p.q.close()
	<-p.written
	p.reading.Do(func() {
		p.r.close()
		close(p.read)
	})
	<-p.read
}

// Flush stops sending once the frames already queued were written, and
// waits for that: the other side reads the end of the stream after them.
// Receiving goes on.
func (p *SocketPipe) Flush() {
	p.q.close()
	<-p.written
}

// Abort disconnects the connection at once: frames not yet written are
// dropped, and the readers stop. Close still waits for the goroutines.
func (p *SocketPipe) Abort() {
	p.q.close()
	p.disconnect()
}

// Ended returns a channel closed once the reader stopped: at the end of the
// stream, after Abort, or at a frame it refused (which onBad was told).
func (p *SocketPipe) Ended() <-chan struct{} { return p.read }

// write writes what is queued, then waits for more; once closed and
// drained it shuts its end for writing, which the reader sees as the end
// of the stream.
func (p *SocketPipe) write() {
	defer close(p.written)
	defer p.w.close()
	defer p.w.closeWrite() // the reader sees the end of the stream
	var spare []byte       // the previous batch's room, for Send to fill next
	for {
		batch := p.q.take(spare)
		if len(batch) == 0 { // closed, and everything queued was written
			return
		}
		if err := p.w.write(batch); err != nil {
			p.q.close() // the connection is disconnected (the reader reported why): drop later frames
			return
		}
		spare = batch
	}
}

// readBuffer is how much the reader takes from the socket at once.
const readBuffer = 16 << 10

// readLoop reads frames until the stream ends or a frame is refused.
func (p *SocketPipe) readLoop() {
	defer close(p.read)
	defer p.r.close()
	var from io.Reader = p.r
	if p.idle != nil {
		from = idleReader{p.r, p.idle}
	}
	in := newFrameReader(from, readBuffer, p.limit)
	for {
		f, err := in.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.disconnect() // a bad frame disconnects: every direction ends
				if p.onBad != nil && errors.Is(err, ErrBadFrame) {
					p.onBad(err)
				}
			}
			return
		}
		p.receive(f)
	}
}

// idleReader calls idle before each read from r.
type idleReader struct {
	r    io.Reader
	idle func()
}

func (r idleReader) Read(b []byte) (int, error) {
	r.idle()
	return r.r.Read(b)
}
