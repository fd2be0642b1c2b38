package processgroup

// relayArena holds the payloads a member side posts to members behind other
// wires, on their way through the coordinator: it copies each one out of
// the connection's read buffer into a chunk of a few KiB, shared with the
// payloads read after it, and hands out a reference to it from a chunk of
// references, instead of two allocations per message. A chunk lives while
// any message it holds is queued at its recipient. So what a recipient
// that does not keep up holds alive is bounded by its senders' windows, as
// without the arena, but each message it holds may keep its chunks alive:
// at most relayChunk bytes and relayRefs references. A payload larger than
// relayLarge has an allocation of its own. Its methods are for one
// goroutine at a time: the connection's reader.
type relayArena struct {
	room []byte   // the rest of the current chunk
	refs [][]byte // the references not yet handed out of the current chunk
}

// The sizes of a relay arena's chunks, and the largest payload it copies
// into one.
const (
	relayChunk = 4 << 10
	relayRefs  = 64
	relayLarge = 512
)

// copy returns a reference to a copy of b, which no one may change.
func (a *relayArena) copy(b []byte) *[]byte {
	if len(a.refs) == 0 {
		a.refs = make([][]byte, relayRefs)
	}
	ref := &a.refs[0]
	a.refs = a.refs[1:]
	switch {
	case len(b) == 0:
		*ref = []byte{} // not nil, which would say the message is not relayed but encoded here
	case len(b) > relayLarge:
		*ref = append([]byte(nil), b...)
	default:
		if len(b) > cap(a.room)-len(a.room) {
			a.room = make([]byte, 0, relayChunk)
		}
		start := len(a.room)
		a.room = append(a.room, b...)
		*ref = a.room[start:len(a.room):len(a.room)] // full: no append reaches the next payload
	}
	return ref
}
