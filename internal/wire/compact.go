package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// The frames that go with every message or batch of messages — post,
// deliver, handled and arm — have a compact encoding instead of JSON: a
// zero byte (a JSON frame starts with '{'), the operation, then its fields
// as unsigned varints and length-prefixed strings, and a message's payload
// as the rest of the frame:
//
//	post     0, op, to ID, to name, flags (1: handler), payload
//	deliver  0, op, from ID, from name, seq, payload
//	handled  0, op, count, flags (1: drop)
//	arm      0, op, count
//
// A frame of any other operation, or with fields these do not carry, is
// JSON.

// compactTag is the first byte of a compact frame.
const compactTag = 0

// appendCompact appends f's compact encoding to dst, if its operation has
// one.
func appendCompact(dst []byte, f *Frame) ([]byte, bool) {
	switch f.Op {
	case OpPost:
		if f.To == nil {
			return dst, false
		}
		dst = append(dst, compactTag, byte(f.Op))
		dst = appendIdentity(dst, *f.To)
		return append(append(dst, flag(f.Handler)), f.Body...), true
	case OpDeliver:
		dst = append(dst, compactTag, byte(f.Op))
		dst = appendIdentity(dst, f.From)
		dst = binary.AppendUvarint(dst, f.Seq)
		return append(dst, f.Body...), true
	case OpHandled:
		dst = append(dst, compactTag, byte(f.Op))
		return append(binary.AppendUvarint(dst, f.Count), flag(f.Drop)), true
	case OpArm:
		dst = append(dst, compactTag, byte(f.Op))
		return binary.AppendUvarint(dst, f.Count), true
	}
	return dst, false
}

func flag(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendIdentity(dst []byte, id fence.Identity) []byte {
	dst = binary.AppendUvarint(dst, id.ID)
	dst = binary.AppendUvarint(dst, uint64(len(id.Name)))
	return append(dst, id.Name...)
}

// errCompact is the error of a compact frame that does not decode.
var errCompact = errors.New("a compact frame cut short or malformed")

// compactReader reads a compact frame's fields; the first failure sticks.
type compactReader struct {
	b   []byte
	bad bool
}

func (r *compactReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *compactReader) flag() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.bad = true
	return false
}

func (r *compactReader) identity() fence.Identity {
	id := r.uvarint()
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return fence.Identity{}
	}
	name := string(r.b[:n])
	r.b = r.b[n:]
	return fence.Identity{ID: id, Name: name}
}

// decodeCompact decodes a compact frame (b starts with compactTag). The
// payload of a post or delivery is a part of b.
func decodeCompact(b []byte) (*Frame, error) {
	if len(b) < 2 {
		return nil, errCompact
	}
	f := &Frame{Op: Op(b[1])}
	r := &compactReader{b: b[2:]}
	switch f.Op {
	case OpPost:
		to := r.identity()
		f.To, f.Handler = &to, r.flag()
		f.Body, r.b = r.b, nil
	case OpDeliver:
		f.From = r.identity()
		f.Seq = r.uvarint()
		f.Body, r.b = r.b, nil
	case OpHandled:
		f.Count, f.Drop = r.uvarint(), r.flag()
	case OpArm:
		f.Count = r.uvarint()
	default:
		return nil, fmt.Errorf("operation %d has no compact encoding", f.Op)
	}
	if r.bad || len(r.b) > 0 {
		return nil, errCompact
	}
	if len(f.Body) == 0 {
		f.Body = nil
	}
	return f, nil
}
