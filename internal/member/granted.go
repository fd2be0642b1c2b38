package member

import (
	"context"

	"github.com/muster-go/muster/fence"
)

// The coordinator's side of a wire sends for its member side in two steps:
// it grants credit on a link (Room: how many more messages fit in the
// window) and later queues the messages the member side sent within it
// (Post), which never wait. Between the two the member side counts what it
// sent, so a link holds no more than the window, as with Send.

// Recipient resolves a send's recipient as Send does by name, or, with an
// empty name, as SendTo does by identity.
func (m *Member[T]) Recipient(name string, id fence.Identity) (*Member[T], error) {
	if name != "" {
		return m.lookup(name)
	}
	return m.resolve(id)
}

// Room returns how many more messages fit in the window of m's link to r,
// which it makes if there is none. With wait, while none fit it waits as a
// send outside a handler does (shown in m's Snapshot) until one does or ctx
// ends; without, it returns 0. It fails as a send would once m or r
// departed.
func (m *Member[T]) Room(ctx context.Context, r *Member[T], wait bool) (uint64, error) {
	for {
		room, l, sent, err := m.out.room(r)
		if err != nil || room > 0 || !wait {
			return room, m.sendError(r, err)
		}
		if err := m.waitRoom(ctx, l, sent); err != nil {
			return 0, m.sendError(r, err)
		}
	}
}

// Post queues msg for r as the next message of m's stream without looking
// at the window: the send was granted room before (see Room), or is a
// handler's. It never waits, and fails as a send does when m or r departed.
func (m *Member[T]) Post(r *Member[T], msg T) error {
	_, _, err := m.out.sendOne(r, &msg, nil, false)
	return m.sendError(r, err)
}

// Run is a run of messages already encoded, on its way to a member behind
// a wire, from another one (see PostRun) or from a goroutine member (see
// Config.Encode): Count messages (at least one), packed as the wire's
// frames carry them. Only the far side decodes them.
type Run struct {
	Packed []byte
	Count  uint32
}

// PostRun is Post for a run of messages already encoded, from one member
// behind a wire to another (r.Forwards()): they take the next run.Count
// sequence numbers of m's stream, and the coordinator relays them to r's
// far side together, without decoding them. r's inbox keeps run until
// then: the caller must not change it.
func (m *Member[T]) PostRun(r *Member[T], run *Run) error {
	var zero T
	_, _, err := m.out.sendOne(r, &zero, run, false)
	return m.sendError(r, err)
}

// Forwards reports whether m forwards what it receives to a far side
// (Config.Forward) instead of handling it.
func (m *Member[T]) Forwards() bool { return m.fwd != nil }

// room returns the room in the window of the stream's link to r, with the
// link and its last sequence to wait on when there is none.
func (s *stream[T]) room(r *Member[T]) (room uint64, l *link[T], sent uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != nil {
		return 0, nil, 0, s.refused
	}
	if err := r.Err(); err != nil { // departed: a send would be refused
		return 0, nil, 0, err
	}
	l = s.linkTo(r)
	if unhandled := l.sent - l.progress.Delivered(); unhandled < l.credit.window {
		return l.credit.window - unhandled, l, l.sent, nil
	}
	return 0, l, l.sent, nil
}
