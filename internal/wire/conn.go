//go:build unix

package wire

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// A connection to a child process has a socket pair per direction: its
// writer holds one end as a blocking descriptor it writes with system
// calls, its reader the other through the runtime's network poller.
// Nothing polls the writing end, so a read does not wake the writing
// process: the kernel wakes whoever watches a socket each time the other
// side takes what it wrote (it has room to write again), and the poller
// watches every socket it reads. A write that finds the socket full blocks
// its thread until there is room; the senders' windows keep that rare. A
// connection within this process (NewSocketPipes) is one socket pair that
// both directions use through the poller: it saves descriptors, and there
// is no other process to wake.

// writeEnd is what a SocketPipe writes to, from one goroutine at a time
// (see queue); closeWrite, abort and close may come from any.
type writeEnd interface {
	write(b []byte) error // all of b, waiting for room as it must
	closeWrite()          // the reader reads the end of the stream after what was written
	abort()               // ends the socket both ways at once: a read or write that waits returns
	close()               // once no write is in progress or to come
}

// readEnd is what a SocketPipe reads from, on its reader goroutine; close
// may come from any, and a read that waits then returns.
type readEnd interface {
	io.Reader
	close()
}

// fdWriter is the writing end of one direction to a child: a blocking
// descriptor.
type fdWriter struct {
	fd int

	mu     sync.Mutex
	closed bool
}

func (w *fdWriter) write(b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(w.fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("wire: write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

func (w *fdWriter) closeWrite() { w.shutdown(syscall.SHUT_WR) }

func (w *fdWriter) abort() { w.shutdown(syscall.SHUT_RDWR) }

// shutdown shuts the socket as how says, unless it was closed (its
// descriptor may have been reused since).
func (w *fdWriter) shutdown(how int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		syscall.Shutdown(w.fd, how)
	}
}

func (w *fdWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		syscall.Close(w.fd)
	}
}

// socketPair returns a connected Unix stream socket pair, both ends
// blocking and close-on-exec; nothing else can connect to it. The fork
// lock keeps a concurrent exec from inheriting it in between.
func socketPair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fds, fmt.Errorf("wire: socketpair: %w", err)
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return fds, nil
}

// readingEnd returns the descriptor fd as a connection through the poller
// (a non-blocking duplicate), and closes fd.
func readingEnd(fd int, name string) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("wire: socket %s: %w", name, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("wire: %s is not a Unix socket: %w", name, ErrBadFrame)
	}
	return uc, nil
}

// pollReader is the reading end of one direction from a child.
type pollReader struct{ *net.UnixConn }

func (r pollReader) close() { r.Close() }

// socketEnd is one end of a socket pair within this process, which both
// directions use (one writes to it, the other reads from it) through the
// poller: the last of them to close it closes it.
type socketEnd struct {
	c     *net.UnixConn
	users atomic.Int32
}

func newSocketEnd(c *net.UnixConn) *socketEnd {
	e := &socketEnd{c: c}
	e.users.Store(2)
	return e
}

func (e *socketEnd) Read(b []byte) (int, error) { return e.c.Read(b) }

func (e *socketEnd) write(b []byte) error {
	_, err := e.c.Write(b)
	return err
}

func (e *socketEnd) closeWrite() { e.c.CloseWrite() }

func (e *socketEnd) abort() { e.c.Close() }

func (e *socketEnd) close() {
	if e.users.Add(-1) == 0 {
		e.c.Close()
	}
}

// Conn is this process's side of a connection to another: the end it
// reads of one socket pair, and the end it writes of another. Make one with
// SocketForChild or InheritedConn, and hand it to NewSocketConn.
type Conn struct {
	r pollReader
	w *fdWriter
}

// Close closes both ends, for a Conn never handed to NewSocketConn.
func (c *Conn) Close() {
	c.r.close()
	c.w.close()
}

// pollPair returns a connected Unix stream socket pair within this
// process, both ends read and written through the poller.
func pollPair() (a, b *net.UnixConn, err error) {
	fds, err := socketPair()
	if err != nil {
		return nil, nil, err
	}
	if a, err = readingEnd(fds[0], "muster-socket-0"); err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	if b, err = readingEnd(fds[1], "muster-socket-1"); err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// SocketForChild returns a connection for a child process: the parent's
// side, and the child's ends as files to pass in exec.Cmd.ExtraFiles, in
// that order — the one it reads, then the one it writes (the parent closes
// them once the child started). All are close-on-exec from their creation,
// so no other child inherits them.
func SocketForChild() (parent *Conn, child [2]*os.File, err error) {
	toChild, err := socketPair()
	if err != nil {
		return nil, child, err
	}
	fromChild, err := socketPair()
	if err != nil {
		syscall.Close(toChild[0])
		syscall.Close(toChild[1])
		return nil, child, err
	}
	r, err := readingEnd(fromChild[1], "muster-parent-socket")
	if err != nil {
		for _, fd := range []int{toChild[0], toChild[1], fromChild[0]} {
			syscall.Close(fd)
		}
		return nil, child, err
	}
	child = [2]*os.File{os.NewFile(uintptr(toChild[1]), "muster-child-reads"), os.NewFile(uintptr(fromChild[0]), "muster-child-writes")}
	return &Conn{r: pollReader{r}, w: &fdWriter{fd: toChild[0]}}, child, nil
}

// InheritedConn returns the connection a child process inherited from the
// parent that started it with SocketForChild: the descriptors readFD and
// writeFD. It fails, wrapping ErrBadFrame, if either is not a stream
// socket.
func InheritedConn(readFD, writeFD uintptr) (*Conn, error) {
	for _, fd := range []uintptr{readFD, writeFD} {
		typ, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE)
		if err != nil || typ != syscall.SOCK_STREAM {
			return nil, fmt.Errorf("wire: descriptor %d is not a stream socket (%v): %w", fd, err, ErrBadFrame)
		}
		syscall.CloseOnExec(int(fd)) // the child's own children must not inherit it
	}
	if err := syscall.SetNonblock(int(writeFD), false); err != nil {
		return nil, fmt.Errorf("wire: descriptor %d: %w", writeFD, err)
	}
	r, err := readingEnd(int(readFD), "muster-socket")
	if err != nil {
		return nil, err
	}
	return &Conn{r: pollReader{r}, w: &fdWriter{fd: int(writeFD)}}, nil
}
