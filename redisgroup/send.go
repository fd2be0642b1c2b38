package redisgroup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/muster-go/muster/fence"
)

// Send appends msg to the inbox of the member called to. See
// managedprocess.Member.Send: it blocks while this member's window at the
// recipient is full, and a handler's send never does.
func (m *member[T]) Send(ctx context.Context, to string, msg T) error {
	return m.send(ctx, to, 0, msg, false, false)
}

// SendTo is Send to the member with identity to.
func (m *member[T]) SendTo(ctx context.Context, to fence.Identity, msg T) error {
	return m.send(ctx, to.Name, to.ID, msg, false, false)
}

// TrySend is Send that returns an error wrapping fence.ErrWouldBlock instead
// of waiting for room.
func (m *member[T]) TrySend(to string, msg T) error {
	return m.send(context.Background(), to, 0, msg, false, true)
}

// Publish appends msg, as one message of this member's stream, to the inbox
// of every other member of group: all of them, or while one window is full,
// none of them.
func (m *member[T]) Publish(ctx context.Context, group string, msg T) error {
	if group != m.c.cfg.Group {
		return fmt.Errorf("%w: %q", fence.ErrUnknownGroup, group)
	}
	return m.send(ctx, "", 0, msg, true, false)
}

// send runs the send script until it finds room, or ctx ends. Sends of one
// member are serialised, so that its stream reaches each inbox in order.
func (m *member[T]) send(ctx context.Context, to string, toID uint64, msg T, publish, try bool) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil context", fence.ErrInvalidArgument)
	}
	if err := m.Err(); err != nil {
		return err
	}
	body, err := m.c.cfg.Codec.Append(nil, msg)
	if err != nil {
		return fmt.Errorf("%w: encoding a message: %w", fence.ErrInvalidArgument, err)
	}
	handler := m.isHandlerCtx(ctx)
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	seq := m.seq + 1
	var since time.Time
	for {
		wake, done := m.c.watch.waitRoom(m.sid)
		reply, err := m.c.sc.run(ctx, m.c.sc.send, m.sid, seq, flag(handler), to,
			strconv.FormatUint(toID, 10), body, flag(publish)).Slice()
		if err != nil {
			done()
			return m.errOr(fence.ContextError(ctx))
		}
		if reply[0] != "full" {
			done()
			return m.sent1(reply, to)
		}
		if try {
			done()
			return fmt.Errorf("%w: %s to %s", fence.ErrWouldBlock, m.id, to)
		}
		if since.IsZero() {
			since = time.Now()
		}
		select {
		case <-wake:
			done()
		case <-ctx.Done():
			done()
			return fmt.Errorf("%w (%s waited %v for room in its window at #%v)",
				fence.ContextError(ctx), m.id, time.Since(since).Round(time.Millisecond), reply[1])
		}
	}
}

// sent1 interprets the send script's reply other than 'full'; it runs with
// sendMu held.
func (m *member[T]) sent1(reply []any, to string) error {
	switch reply[0] {
	case "ok":
		m.seq++
		for i := 1; i+1 < len(reply); i += 2 {
			r, _ := reply[i].(int64)
			k, _ := reply[i+1].(int64)
			m.sent[uint64(r)] = uint64(k)
		}
		return nil
	case "unknown":
		return fmt.Errorf("%w: %q", fence.ErrUnknownMember, to)
	case "gone":
		s, _ := reply[1].(string)
		who, cause := decodeCause(s)
		if s == "" {
			return fmt.Errorf("%w: %q departed", fence.ErrUnknownMember, to)
		}
		return fmt.Errorf("%s departed: %w", who, cause)
	default: // "self"
		s, _ := reply[1].(string)
		_, cause := decodeCause(s)
		return m.errOr(cause)
	}
}
