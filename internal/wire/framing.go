package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// On a byte stream (a socket) every frame is its encoding preceded by its
// length, a 4-byte big-endian unsigned integer. A reader refuses a length
// above its limit before it reads or allocates the frame.

// DefaultFrameLimit is the largest encoded frame a reader accepts unless it
// is given another limit: 16 MiB.
const DefaultFrameLimit = 16 << 20

// lengthSize is the size of a frame's length prefix.
const lengthSize = 4

// ErrBadFrame is wrapped by every error about a frame the other side sent
// that this side cannot accept: longer than the limit, cut short, not a
// frame, or a frame out of protocol. After one the connection is unusable.
var ErrBadFrame = errors.New("wire: bad frame")

// FrameError describes a frame that was refused: what was wrong (Reason),
// its size as announced (Size, 0 if unknown) and the limit in force.
type FrameError struct {
	Reason string
	Size   uint64
	Limit  int
	Err    error // the decoder's error, if that is what refused it
}

func (e *FrameError) Error() string {
	s := "wire: bad frame: " + e.Reason
	if e.Size > 0 {
		s += fmt.Sprintf(" (%d bytes, limit %d)", e.Size, e.Limit)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrBadFrame) hold.
func (e *FrameError) Is(target error) bool { return target == ErrBadFrame }

func (e *FrameError) Unwrap() error { return e.Err }

// AppendFramed appends f, encoded and length-prefixed, to dst.
func AppendFramed(dst []byte, f *Frame) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, lengthSize)...)
	out, ok := appendCompact(dst, f)
	if !ok {
		b, err := json.Marshal(f)
		if err != nil {
			return dst[:start], err
		}
		out = append(dst, b...)
	}
	return prefixed(out, start)
}

// prefixed writes the length of the frame that follows the room for its
// prefix at b[start:], or, if it does not fit a prefix, drops the frame
// and fails.
func prefixed(b []byte, start int) ([]byte, error) {
	size := len(b) - start - lengthSize
	if uint64(size) > 1<<32-1 {
		return b[:start], fmt.Errorf("wire: frame of %d bytes does not fit a length prefix", size)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(size))
	return b, nil
}

// ReadFramed reads one length-prefixed frame from r, refusing one longer
// than limit bytes without reading it. At a clean end of the stream (no byte
// of a next frame) it returns io.EOF; every other failure to read a whole,
// valid frame is a *FrameError (wrapping ErrBadFrame) or r's own error.
// It reads no byte beyond the frame.
func ReadFramed(r io.Reader, limit int) (*Frame, error) {
	var prefix [lengthSize]byte
	n, err := io.ReadFull(r, prefix[:])
	if err != nil && n == 0 {
		return nil, err // io.EOF: the other side closed between frames
	}
	size, err := frameSize(prefix[:n], err, limit)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, cutShort(err, size, limit)
	}
	f, err := Decode(b)
	return checked(f, err, size, limit)
}

// frameSize returns the size a frame's length prefix announces, refusing
// an empty frame, one longer than limit, or a prefix cut short (fewer than
// lengthSize bytes, read up to err).
func frameSize(prefix []byte, err error, limit int) (uint64, error) {
	if len(prefix) < lengthSize {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, &FrameError{Reason: "stream ends inside a length prefix", Limit: limit}
		}
		return 0, err
	}
	size := uint64(binary.BigEndian.Uint32(prefix))
	switch {
	case size == 0:
		return 0, &FrameError{Reason: "empty frame", Limit: limit}
	case size > uint64(limit):
		return 0, &FrameError{Reason: "frame longer than the limit", Size: size, Limit: limit}
	}
	return size, nil
}

// cutShort is the error of a frame whose bytes could not all be read.
func cutShort(err error, size uint64, limit int) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FrameError{Reason: "stream ends inside a frame", Size: size, Limit: limit}
	}
	return err
}

// checked returns the frame of size bytes decoded as f (or failing with
// err), refusing one that does not decode or whose operation is unknown.
func checked(f *Frame, err error, size uint64, limit int) (*Frame, error) {
	if err != nil {
		return nil, &FrameError{Reason: "not a frame", Size: size, Limit: limit, Err: err}
	}
	if err := f.check(); err != nil {
		return nil, &FrameError{Reason: err.Error(), Size: size, Limit: limit}
	}
	return f, nil
}

// check refuses a frame whose operation is unknown, and a post or delivery
// whose run is not the messages its count says.
func (f *Frame) check() error {
	switch {
	case f.Op == OpPost || f.Op == OpDeliver:
		return checkRun(f.Body, f.Count)
	case f.Op >= OpPublish && f.Op <= OpUndecodable:
	case f.Op >= OpDeliver && f.Op <= OpRevoke:
	default:
		return fmt.Errorf("unknown operation %d", f.Op)
	}
	return nil
}
