package processgroup

import (
	"bytes"

	"github.com/muster-go/muster/internal/member"
)

// relayArena holds the runs of messages a member side posts to members
// behind other wires, on their way through the coordinator: it copies each
// run out of the connection's read buffer into a chunk of a few KiB, shared
// with the runs read after it, and hands out a reference to it from a chunk
// of references, instead of two allocations per run. A chunk lives while
// any run it holds is queued at its recipient. So what a recipient that
// does not keep up holds alive is bounded by its senders' windows, as
// without the arena, but each run it holds may keep its chunks alive: at
// most relayChunk bytes and relayRefs references. A run larger than
// relayLarge has an allocation of its own. Its methods are for one
// goroutine at a time: the connection's reader.
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
	if len(a.refs) == 0 {
		a.refs = make([]member.Run, relayRefs)
	}
	ref := &a.refs[0]
	a.refs = a.refs[1:]
	ref.Count = count
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
