package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/muster-go/muster/fence"
)

// The frames that go with every message or batch of messages — post,
// deliver, handled and arm — and those of every round — the calls of
// arrivals, waits and fences and their plain replies — have a compact
// encoding instead of JSON: a zero byte (a JSON frame starts with '{'), the
// operation, then its fields as unsigned varints (a deadline as a signed
// one, in Unix nanoseconds) and length-prefixed strings, and a message's
// payload as the rest of the frame:
//
//	post     0, op, to ID, to name, flags (1: handler), payload
//	deliver  0, op, from ID, from name, seq, payload
//	handled  0, op, count, flags (1: drop)
//	arm      0, op, count
//	call     0, op, call, flags (1: handler, 2: foreign, 4: deadline), [deadline],
//	         then for arrive and barrier: mode, group, barrier; for wait: arrival
//	reply    0, op, call, flags (1: result, 2: to), [result round], arrival, round, [to], count
//
// The calls are arrive, barrier, wait, the two fences, snapshot and err; a
// reply is compact when it carries no error and no state, and a result
// with no departures and no leavers. A frame of any other operation, or one
// these do not fit, is JSON.

// compactTag is the first byte of a compact frame.
const compactTag = 0

// appendCompact appends f's compact encoding to dst, if its operation has
// one.
func appendCompact(dst []byte, f *Frame) ([]byte, bool) {
	switch f.Op {
	case OpPost:
		if f.To == nil || f.Count > math.MaxUint32 {
			return dst, false
		}
		return append(appendCount(appendPostHead(dst, *f.To, f.Handler), f.Count), f.Body...), true
	case OpDeliver:
		if f.Count > math.MaxUint32 {
			return dst, false
		}
		return append(appendCount(appendDeliverHead(dst, f.From, f.Seq), f.Count), f.Body...), true
	case OpHandled:
		dst = append(dst, compactTag, byte(f.Op))
		return append(binary.AppendUvarint(dst, f.Count), flag(f.Drop)), true
	case OpArm:
		dst = append(dst, compactTag, byte(f.Op))
		return binary.AppendUvarint(dst, f.Count), true
	case OpArrive, OpBarrier, OpWait, OpLocalFence, OpOutboundFence, OpSnapshot, OpErr:
		return appendCall(dst, f), true
	case OpReply:
		if f.Err != nil || f.State != nil || f.Result != nil && (len(f.Result.Departed) > 0 || len(f.Result.Left) > 0) {
			return dst, false
		}
		return appendReply(dst, f), true
	}
	return dst, false
}

// appendPostHead appends the fields of a compact post to to before its
// count.
func appendPostHead(dst []byte, to fence.Identity, handler bool) []byte {
	dst = append(dst, compactTag, byte(OpPost))
	return append(appendIdentity(dst, to), flag(handler))
}

// appendDeliverHead appends the fields of a compact delivery from from,
// starting at the message seq, before its count.
func appendDeliverHead(dst []byte, from fence.Identity, seq uint64) []byte {
	dst = append(dst, compactTag, byte(OpDeliver))
	return binary.AppendUvarint(appendIdentity(dst, from), seq)
}

// appendCount appends the count of a run, which must fit 32 bits.
func appendCount(dst []byte, count uint64) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(count))
}

// postSize is the length of the compact post of body alone to to.
func postSize(to fence.Identity, body []byte) int {
	return 2 + identitySize(to) + 1 + countSize + messageSize(body)
}

// DeliverSize is the length of the compact delivery of body alone, the
// message seq of from.
func DeliverSize(from fence.Identity, seq uint64, body []byte) int {
	return deliverHeadSize(from, seq) + messageSize(body)
}

// RunSize is the length of the compact delivery of run, packed messages of
// from, the first of them the message seq.
func RunSize(from fence.Identity, seq uint64, run []byte) int {
	return deliverHeadSize(from, seq) + len(run)
}

// deliverHeadSize is the length of a compact delivery but its messages.
func deliverHeadSize(from fence.Identity, seq uint64) int {
	return 2 + identitySize(from) + uvarintSize(seq) + countSize
}

// identitySize is the length of id as appendIdentity appends it.
func identitySize(id fence.Identity) int {
	return uvarintSize(id.ID) + uvarintSize(uint64(len(id.Name))) + len(id.Name)
}

// uvarintSize is the length of v as an unsigned varint.
func uvarintSize(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// Flags of compact calls and replies.
const (
	flagHandler  = 1
	flagForeign  = 2
	flagDeadline = 4
	flagResult   = 1
	flagTo       = 2
)

func appendCall(dst []byte, f *Frame) []byte {
	dst = append(dst, compactTag, byte(f.Op))
	dst = binary.AppendUvarint(dst, f.Call)
	flags := flag(f.Handler)*flagHandler | flag(f.Foreign)*flagForeign | flag(!f.Deadline.IsZero())*flagDeadline
	dst = append(dst, flags)
	if !f.Deadline.IsZero() {
		dst = binary.AppendVarint(dst, f.Deadline.UnixNano())
	}
	switch f.Op {
	case OpArrive, OpBarrier:
		dst = append(dst, byte(f.Mode))
		dst = appendString(dst, f.Group)
		dst = appendString(dst, f.Barrier)
	case OpWait:
		dst = binary.AppendUvarint(dst, f.Arrival)
	}
	return dst
}

func appendReply(dst []byte, f *Frame) []byte {
	dst = append(dst, compactTag, byte(f.Op))
	dst = binary.AppendUvarint(dst, f.Call)
	dst = append(dst, flag(f.Result != nil)*flagResult|flag(f.To != nil)*flagTo)
	if f.Result != nil {
		dst = binary.AppendUvarint(dst, f.Result.Round)
	}
	dst = binary.AppendUvarint(dst, f.Arrival)
	dst = binary.AppendUvarint(dst, f.Round)
	if f.To != nil {
		dst = appendIdentity(dst, *f.To)
	}
	return binary.AppendUvarint(dst, f.Count)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func flag(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendIdentity(dst []byte, id fence.Identity) []byte {
	return appendString(binary.AppendUvarint(dst, id.ID), id.Name)
}

// errCompact is the error of a compact frame that does not decode.
var errCompact = errors.New("a compact frame cut short or malformed")

// compactReader reads a compact frame's fields; the first failure sticks.
// Its strings come from names, when it has one.
type compactReader struct {
	b     []byte
	bad   bool
	names *nameCache
}

// nameCache keeps the strings a reader decoded last, so that the names its
// frames repeat (a sender's, a recipient's, a group's) are not allocated
// again for every frame.
type nameCache struct {
	s    [4]string
	next int
}

// get returns b as a string: one kept, if it equals b.
func (c *nameCache) get(b []byte) string {
	if c == nil {
		return string(b)
	}
	for _, s := range c.s {
		if s == string(b) { // compares without allocating
			return s
		}
	}
	s := string(b)
	c.s[c.next] = s
	c.next = (c.next + 1) % len(c.s)
	return s
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

// count reads the count of a run.
func (r *compactReader) count() uint64 {
	if len(r.b) < countSize {
		r.bad = true
		return 0
	}
	c := binary.BigEndian.Uint32(r.b)
	r.b = r.b[countSize:]
	return uint64(c)
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

// varint reads a signed varint: the zigzag encoding binary.AppendVarint
// writes, over an unsigned one.
func (r *compactReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *compactReader) string() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := r.names.get(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *compactReader) identity() fence.Identity {
	id := r.uvarint()
	return fence.Identity{ID: id, Name: r.string()}
}

// flags reads a flags byte, refusing bits beyond known.
func (r *compactReader) flags(known byte) byte {
	b := r.byte()
	if b&^known != 0 {
		r.bad = true
	}
	return b
}

// call reads a compact call's fields into f.
func (r *compactReader) call(f *Frame) {
	f.Call = r.uvarint()
	flags := r.flags(flagHandler | flagForeign | flagDeadline)
	f.Handler, f.Foreign = flags&flagHandler != 0, flags&flagForeign != 0
	if flags&flagDeadline != 0 {
		f.Deadline = time.Unix(0, r.varint())
	}
	switch f.Op {
	case OpArrive, OpBarrier:
		f.Mode = fence.Mode(r.byte())
		f.Group, f.Barrier = r.string(), r.string()
	case OpWait:
		f.Arrival = r.uvarint()
	}
}

// reply reads a compact reply's fields into f, its recipient into to.
func (r *compactReader) reply(f *Frame, to *fence.Identity) {
	f.Call = r.uvarint()
	flags := r.flags(flagResult | flagTo)
	if flags&flagResult != 0 {
		f.Result = &Result{Round: r.uvarint()}
	}
	f.Arrival, f.Round = r.uvarint(), r.uvarint()
	if flags&flagTo != 0 {
		*to = r.identity()
		f.To = to
	}
	f.Count = r.uvarint()
}

// compactFrame is a frame with room for the identity its To points to, so
// that decoding one allocates once.
type compactFrame struct {
	Frame
	to fence.Identity
}

// decodeCompact decodes a compact frame (b starts with compactTag). The
// run of a post or delivery is a part of b.
func decodeCompact(b []byte) (*Frame, error) {
	cf := new(compactFrame)
	if err := cf.decode(b, nil); err != nil {
		return nil, err
	}
	return &cf.Frame, nil
}

// decode decodes the compact frame b into cf, which must be zero, taking
// strings from names (if not nil). The run of a post or delivery is a
// part of b.
func (cf *compactFrame) decode(b []byte, names *nameCache) error {
	if len(b) < 2 {
		return errCompact
	}
	f := &cf.Frame
	f.Op = Op(b[1])
	r := &compactReader{b: b[2:], names: names}
	switch f.Op {
	case OpPost:
		cf.to = r.identity()
		f.To, f.Handler = &cf.to, r.flag()
		f.Count = r.count()
		f.Body, r.b = r.b, nil
	case OpDeliver:
		f.From = r.identity()
		f.Seq, f.Count = r.uvarint(), r.count()
		f.Body, r.b = r.b, nil
	case OpHandled:
		f.Count, f.Drop = r.uvarint(), r.flag()
	case OpArm:
		f.Count = r.uvarint()
	case OpArrive, OpBarrier, OpWait, OpLocalFence, OpOutboundFence, OpSnapshot, OpErr:
		r.call(f)
	case OpReply:
		r.reply(f, &cf.to)
	default:
		return fmt.Errorf("operation %d has no compact encoding", f.Op)
	}
	if r.bad || len(r.b) > 0 {
		return errCompact
	}
	if len(f.Body) == 0 {
		f.Body = nil
	}
	return nil
}
