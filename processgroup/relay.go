package processgroup

import (
	"bytes"
	"encoding/binary"

	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
)

// relayArena holds runs of messages on their way through the coordinator
// to members behind wires: the runs a member side posts to members behind
// other wires, which it copies out of the connection's read buffer (copy),
// or the messages goroutine members send to one, which it encodes (pack).
// It puts each run into a chunk of a few KiB, shared with the runs after
// it, and hands out a reference to it from a chunk of references, instead
// of two allocations per run. A chunk lives while any run it holds is
// queued at its recipient. So what a recipient that does not keep up holds
// alive is bounded by its senders' windows, as without the arena, but each
// run it holds may keep its chunks alive: at most relayChunk bytes and
// relayRefs references. A run larger than relayLarge has an allocation of
// its own. Its methods are for one goroutine at a time.
type relayArena struct {
	room []byte       // the rest of the current chunk
	refs []member.Run // the references not yet handed out of the current chunk
}

// The sizes of a relay arena's chunks, and the largest run it copies into
// one.
const (
	relayChunk = 4 << 10
	relayRefs  = 64
	relayLarge = 512
)

// copy returns a reference to a copy of packed, a run of count messages,
// which no one may change.
func (a *relayArena) copy(packed []byte, count uint32) *member.Run {
	ref := a.ref(count)
	if len(packed) > relayLarge {
		ref.Packed = bytes.Clone(packed)
		return ref
	}
	if len(packed) > cap(a.room)-len(a.room) {
		a.room = make([]byte, 0, relayChunk)
	}
	start := len(a.room)
	a.room = append(a.room, packed...)
	ref.Packed = a.room[start:len(a.room):len(a.room)] // full: no append reaches the next run
	return ref
}

// ref hands out the next reference, for a run of count messages.
func (a *relayArena) ref(count uint32) *member.Run {
	if len(a.refs) == 0 {
		a.refs = make([]member.Run, relayRefs)
	}
	ref := &a.refs[0]
	a.refs = a.refs[1:]
	ref.Count = count
	return ref
}

// pack returns a reference to msg encoded with codec as a run of one (see
// wire.AppendMessage), or the codec's error. The codec encodes into the current chunk when the chunk has
// relayLarge bytes to spare, else into a new one; an encoding that
// outgrows the chunk keeps the allocation the codec made for it.
func pack[T any](a *relayArena, codec managedprocess.Codec[T], msg T) (*member.Run, error) {
	const prefix = binary.MaxVarintLen64 // room for the length, written once it is known
	if cap(a.room)-len(a.room) < prefix+relayLarge {
		a.room = make([]byte, 0, relayChunk)
	}
	start := len(a.room)
	b, err := codec.Append(a.room[start:start+prefix], msg)
	if err != nil {
		return nil, err
	}
	if len(b) <= cap(a.room)-start && &b[0] == &a.room[start : start+1][0] { // in the chunk
		a.room = a.room[:start+len(b)]
	}
	size := len(b) - prefix
	var length [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(length[:], uint64(size))
	copy(b[prefix-k:], length[:k])
	ref := a.ref(1)
	ref.Packed = b[prefix-k : len(b) : len(b)] // full: no append reaches the next run
	return ref, nil
}
