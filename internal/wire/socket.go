//go:build unix

package wire

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// SocketPipe carries frames one way through a kernel socket: Send frames
// and queues them without waiting, a writer goroutine writes them to one end
// of a Unix socket pair, and a reader goroutine reads them, length-prefixed
// and size-limited (see ReadFramed), from the other end and hands each to
// the receive function, in order. A frame the reader cannot accept
// disconnects the pair: both directions end. It is the Pipe with a real
// byte stream in the middle; a child process will hold one end.
// NewSocketPipes makes the two directions of one socket pair. A SocketPipe
// must be closed; Close waits for both of its goroutines.
type SocketPipe struct {
	w, r    *socketEnd
	receive func(*Frame)
	onBad   func(error)
	limit   int

	q       queue
	written chan struct{} // the writer goroutine returned
	read    chan struct{} // the reader goroutine returned
}

// socketEnd is one end of the pair, which both directions use (one writes
// to it, the other reads from it): the last to finish closes it.
type socketEnd struct {
	*net.UnixConn
	users atomic.Int32
}

func (e *socketEnd) release() {
	if e.users.Add(-1) == 0 {
		e.Close()
	}
}

// NewSocketPipes returns the two directions of one Unix socket pair: aToB
// hands what it carries to toB, bToA to toA. Their readers refuse frames
// longer than limit bytes (DefaultFrameLimit if limit <= 0). A frame one of
// them cannot accept stops it: it passes the error (one wrapping
// ErrBadFrame) to onBad and disconnects the pair; a failing socket only
// disconnects it. The
// receive functions must not block for long: later frames wait for them;
// nor keep a frame of the operations that go with every message (post,
// deliver, handled, arm) past their return: the reader decodes the next one
// into it (its Body may be kept).
func NewSocketPipes(toB, toA func(*Frame), limit int, onBad func(error)) (aToB, bToA *SocketPipe, err error) {
	if limit <= 0 {
		limit = DefaultFrameLimit
	}
	a, b, err := socketPair()
	if err != nil {
		return nil, nil, err
	}
	ea, eb := &socketEnd{UnixConn: a}, &socketEnd{UnixConn: b}
	ea.users.Store(2)
	eb.users.Store(2)
	return newSocketPipe(ea, eb, toB, limit, onBad), newSocketPipe(eb, ea, toA, limit, onBad), nil
}

func newSocketPipe(w, r *socketEnd, receive func(*Frame), limit int, onBad func(error)) *SocketPipe {
	p := &SocketPipe{w: w, r: r, receive: receive, onBad: onBad, limit: limit,
		q: newQueue(), written: make(chan struct{}), read: make(chan struct{})}
	go p.write()
	go p.readLoop()
	return p
}

// NewSocketConn returns a connection over one end of a socket pair whose
// other end another process holds: Send frames go to that process, and
// frames it sends are handed to receive, in order. Its reader refuses frames
// longer than limit bytes (DefaultFrameLimit if limit <= 0); a frame it
// cannot accept closes the connection and is passed to onBad (a failing
// socket only closes it). Ended reports when the reader stopped. receive
// is bound as NewSocketPipes says.
func NewSocketConn(c *net.UnixConn, receive func(*Frame), limit int, onBad func(error)) *SocketPipe {
	if limit <= 0 {
		limit = DefaultFrameLimit
	}
	e := &socketEnd{UnixConn: c}
	e.users.Store(2)
	return newSocketPipe(e, e, receive, limit, onBad)
}

// SocketForChild returns a connected socket pair for a child process: the
// parent's end as a connection, and the child's end as a file to pass in
// exec.Cmd.ExtraFiles (the parent closes it once the child started). Both
// are close-on-exec from their creation, so no other child inherits them.
func SocketForChild() (parent *net.UnixConn, child *os.File, err error) {
	syscall.ForkLock.RLock() // no fork between the socketpair and close-on-exec
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("wire: socketpair: %w", err)
	}
	child = os.NewFile(uintptr(fds[1]), "muster-child-socket")
	parent, err = fileConn(os.NewFile(uintptr(fds[0]), "muster-parent-socket"))
	if err != nil {
		child.Close()
		return nil, nil, err
	}
	return parent, child, nil
}

// InheritedConn returns the connection a child process inherited as file
// descriptor fd from the parent that started it with SocketForChild.
func InheritedConn(fd uintptr) (*net.UnixConn, error) {
	syscall.CloseOnExec(int(fd)) // the child's own children must not inherit it
	return fileConn(os.NewFile(fd, "muster-socket"))
}

// fileConn returns a Unix connection over a duplicate of f, and closes f.
func fileConn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("wire: socket %s: %w", f.Name(), err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("wire: %s is not a Unix socket: %w", f.Name(), ErrBadFrame)
	}
	return uc, nil
}

// socketPair returns the two ends of a connected Unix stream socket pair,
// both close-on-exec; nothing else can connect to it.
func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: socketpair: %w", err)
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), fmt.Sprintf("muster-socket-%d", i))
		c, err := net.FileConn(f) // a duplicate of fd
		f.Close()
		if err != nil {
			if i == 1 {
				conns[0].Close()
			} else {
				syscall.Close(fds[1])
			}
			return nil, nil, fmt.Errorf("wire: socketpair: %w", err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1], nil
}

// Send frames f and queues it for the writer. It never blocks; after Close
// it drops the frame.
func (p *SocketPipe) Send(f *Frame) { p.q.put(f, false) }

// SendNow is Send for a frame whose answer the caller will wait for: unless
// a batch is being written, it writes what is queued, f last, before it
// returns — saving the hand-off to the writer goroutine — and may wait for
// room in the socket to do so.
func (p *SocketPipe) SendNow(f *Frame) {
	p.q.put(f, true)
	batch := p.q.claim()
	if batch == nil {
		p.q.signal() // nothing queued, or the writer has a batch: it takes f next
		return
	}
	p.writeBatch(batch)
}

// Close stops the pipe once the frames already queued were written and
// received, and waits for that. On a connection to another process
// (NewSocketConn) it waits until that process ends its stream too; Abort
// first if it might not.
func (p *SocketPipe) Close() {
	p.q.close()
	<-p.written
	<-p.read
}

// Flush stops sending once the frames already queued were written, and
// waits for that: the other side reads the end of the stream after them.
// Receiving goes on.
func (p *SocketPipe) Flush() {
	p.q.close()
	<-p.written
}

// Abort closes the socket at once: frames not yet written are dropped, and
// the reader stops. Close still waits for the goroutines.
func (p *SocketPipe) Abort() {
	p.q.close()
	p.r.Close()
	p.w.Close()
}

// Ended returns a channel closed once the reader stopped: at the end of the
// stream, after Abort, or at a frame it refused (which onBad was told).
func (p *SocketPipe) Ended() <-chan struct{} { return p.read }

// write writes what is queued, then waits for more; once closed and
// drained it shuts its end for writing, which the reader sees as the end
// of the stream.
func (p *SocketPipe) write() {
	defer close(p.written)
	defer p.w.release()
	defer p.w.CloseWrite() // the reader sees the end of the stream
	for {
		batch := p.q.take()
		if len(batch) == 0 { // closed, and everything queued was written
			return
		}
		p.writeBatch(batch)
	}
}

// writeBatch writes a batch taken from the queue. If the socket fails, the
// pair is disconnected (the reader reports why): later frames are dropped.
func (p *SocketPipe) writeBatch(batch []byte) {
	if _, err := p.w.Write(batch); err != nil {
		p.q.close()
	}
	p.q.done(batch)
}

// readBuffer is how much the reader takes from the socket at once.
const readBuffer = 16 << 10

// readLoop reads frames until the stream ends or a frame is refused.
func (p *SocketPipe) readLoop() {
	defer close(p.read)
	defer p.r.release()
	in := newFrameReader(p.r, readBuffer, p.limit)
	for {
		f, err := in.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.r.Close() // a bad frame disconnects: both directions end
				if p.onBad != nil && errors.Is(err, ErrBadFrame) {
					p.onBad(err)
				}
			}
			return
		}
		p.receive(f)
	}
}
