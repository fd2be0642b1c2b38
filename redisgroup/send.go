package redisgroup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/muster-go/muster/fence"
)

// Send queues msg for the member called to. See managedprocess.Member.Send:
// it blocks while this member's window at the recipient is full, and a
// handler's send never does. While the recipient is known and has room,
// Send returns at once and the member's flusher appends the message (with
// the others queued meanwhile, in one script call); the member's next
// arrival, leave, publish, outbound fence or dispatch, and its reader's next
// progress report, wait until it is appended. A message whose recipient
// departs before it is appended is dropped, and later sends to it fail.
func (m *member[T]) Send(ctx context.Context, to string, msg T) error {
	return m.send(ctx, to, 0, msg, false)
}

// SendTo is Send to the member with identity to.
func (m *member[T]) SendTo(ctx context.Context, to fence.Identity, msg T) error {
	return m.send(ctx, to.Name, to.ID, msg, false)
}

// TrySend is Send that returns an error wrapping fence.ErrWouldBlock instead
// of waiting for room.
func (m *member[T]) TrySend(to string, msg T) error {
	return m.send(context.Background(), to, 0, msg, true)
}

// send queues one message, or appends it itself when the recipient is not
// known here yet or its window looks full.
func (m *member[T]) send(ctx context.Context, to string, toID uint64, msg T, try bool) error {
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
	p := pending{handler: m.isHandlerCtx(ctx), to: to, toID: strconv.FormatUint(toID, 10), body: body}
	var since time.Time
	for {
		m.sendMu.Lock()
		l := m.links[to]
		if l != nil && l.err != nil && (toID == 0 || toID == l.id) {
			m.sendMu.Unlock()
			return l.err
		}
		if l != nil && (toID == 0 || toID == l.id) && (p.handler || l.sent-l.done < l.window) {
			m.queueLocked(l, p)
			m.sendMu.Unlock()
			return nil
		}
		full, err := m.sendNowLocked(ctx, p)
		m.sendMu.Unlock()
		if !full || err != nil {
			return err
		}
		if try {
			return fmt.Errorf("%w: %s to %s", fence.ErrWouldBlock, m.id, to)
		}
		if since.IsZero() {
			since = time.Now()
		}
		if err := m.waitForRoom(ctx, to, since); err != nil {
			return err
		}
	}
}

// queueLocked queues p for the flusher as the stream's next message.
func (m *member[T]) queueLocked(l *link, p pending) {
	m.seq++
	p.seq = m.seq
	l.sent++
	m.outbox = append(m.outbox, p)
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// sendNowLocked appends p itself, once everything queued before it was
// appended. It reports full when the recipient's window had no room: then
// nothing was sent, and the member is registered to be woken. Once the call
// is sent, ctx no longer ends it, so that a cancelled send is never one that
// was appended; a Redis error spends its seq, as it may have been.
func (m *member[T]) sendNowLocked(ctx context.Context, p pending) (full bool, err error) {
	if err := m.flushLocked(ctx); err != nil {
		return false, err
	}
	if err := fence.ContextError(ctx); err != nil {
		return false, err
	}
	p.seq = m.seq + 1
	reply, err := m.runBatch(context.WithoutCancel(ctx), []pending{p})
	if err != nil {
		m.seq++ // the message may have been appended: its seq is spent
		return false, m.callErr(ctx, "send", err)
	}
	m.applyLinks(reply, true)
	switch {
	case reply.status == "self":
		return false, m.errOr(reply.errs[0].err)
	case len(reply.errs) > 0:
		return false, reply.errs[0].err
	case reply.status == "full":
		return true, nil
	}
	m.seq++
	return false, nil
}

// waitForRoom waits until the member is woken (a recipient it waits for
// handled messages, or departed) or the next interval passes, or ctx ends.
func (m *member[T]) waitForRoom(ctx context.Context, to string, since time.Time) error {
	wake, done := m.c.watch.waitRoom(m.sid)
	defer done()
	select {
	case <-wake:
		return nil
	case <-m.c.watch.nextTick():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (%s waited %v for room in its window at %q)",
			fence.ContextError(ctx), m.id, time.Since(since).Round(time.Millisecond), to)
	}
}

// Publish appends msg, as one message of this member's stream, to the inbox
// of every other member of group: all of them, or while one window is full,
// none of them. It first waits until the messages queued before it are
// appended; once its call is sent, ctx no longer ends it, so that a
// cancelled publish is never one that was appended.
func (m *member[T]) Publish(ctx context.Context, group string, msg T) error {
	if group != m.c.cfg.Group {
		return fmt.Errorf("%w: %q", fence.ErrUnknownGroup, group)
	}
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
	since := time.Now()
	for {
		m.sendMu.Lock()
		full, err := m.publishLocked(ctx, handler, body)
		m.sendMu.Unlock()
		if !full || err != nil {
			return err
		}
		if err := m.waitForRoom(ctx, "group "+group, since); err != nil {
			return err
		}
	}
}

func (m *member[T]) publishLocked(ctx context.Context, handler bool, body []byte) (full bool, err error) {
	if err := m.flushLocked(ctx); err != nil {
		return false, err
	}
	if err := fence.ContextError(ctx); err != nil {
		return false, err
	}
	reply, err := m.c.sc.run(context.WithoutCancel(ctx), m.c.sc.publish, m.sid, m.seq+1, flag(handler), body).Slice()
	if err != nil {
		m.seq++ // the message may have been appended: its seq is spent
		return false, m.callErr(ctx, "publish", err)
	}
	switch reply[0] {
	case "full":
		return true, nil
	case "self":
		s, _ := reply[1].(string)
		_, cause := decodeCause(s)
		return false, m.errOr(cause)
	}
	m.seq++
	for i := 1; i+1 < len(reply); i += 2 {
		id, _ := reply[i].(int64)
		k, _ := reply[i+1].(int64)
		if l := m.byID[uint64(id)]; l != nil {
			l.sent = uint64(k)
		}
	}
	return false, nil
}
