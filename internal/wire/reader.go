package wire

import (
	"bufio"
	"io"
)

// frameReader reads the frames of one byte stream as ReadFramed does, with
// fewer allocations, for a connection's reader goroutine. A frame that fits
// its buffer is decoded where it lies, and the names that frames repeat are
// kept (see nameCache). A frame of the operations that go with every
// message — post, deliver, handled and arm — is decoded into the reader's
// own frame, which the next one overwrites, and its Body is a part of the
// reader's buffer, which the next read overwrites: a receive function must
// keep neither past its return, and copies the payload it keeps (so that
// a payload is copied once, where it is kept, and how).
type frameReader struct {
	in    *bufio.Reader
	limit int
	names nameCache
	hot   compactFrame
}

func newFrameReader(r io.Reader, size, limit int) *frameReader {
	return &frameReader{in: bufio.NewReaderSize(r, size), limit: limit}
}

// next reads one frame. Its errors are ReadFramed's.
func (r *frameReader) next() (*Frame, error) {
	prefix, err := r.in.Peek(lengthSize)
	if len(prefix) == 0 {
		return nil, err // io.EOF: the other side closed between frames
	}
	size, err := frameSize(prefix, err, r.limit)
	if err != nil {
		return nil, err
	}
	r.in.Discard(lengthSize)
	b, inBuffer, err := r.bytes(int(size))
	if err != nil {
		return nil, cutShort(err, size, r.limit)
	}
	f, err := r.decode(b)
	if inBuffer {
		r.in.Discard(len(b))
	}
	return checked(f, err, size, r.limit)
}

// bytes returns the size bytes of the frame whose prefix was read: in the
// reader's buffer (inBuffer; the caller discards them once decoded) when
// they fit, else in bytes of their own.
func (r *frameReader) bytes(size int) (b []byte, inBuffer bool, err error) {
	if size <= r.in.Size() {
		b, err = r.in.Peek(size)
		return b, true, err
	}
	b = make([]byte, size)
	_, err = io.ReadFull(r.in, b)
	return b, false, err
}

// decode decodes b, into the reader's own frame if its operation is one
// that goes with every message, with its payload a part of b.
func (r *frameReader) decode(b []byte) (*Frame, error) {
	if len(b) < 2 || b[0] != compactTag || !hot(Op(b[1])) {
		return Decode(b) // copies what it keeps, but the payload of a post or delivery, which are hot
	}
	r.hot = compactFrame{}
	if err := r.hot.decode(b, &r.names); err != nil {
		return nil, err
	}
	return &r.hot.Frame, nil
}

// hot reports whether frames of op are decoded into the reader's own frame.
func hot(op Op) bool {
	switch op {
	case OpPost, OpDeliver, OpHandled, OpArm:
		return true
	}
	return false
}
