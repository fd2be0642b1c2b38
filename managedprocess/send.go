package managedprocess

import (
	"context"

	"github.com/muster-go/muster/fence"
)

// Send queues msg for the member called to, as the next message of m's
// stream.
//
// If the recipient's inbox is full, Send blocks until the recipient's reader
// makes room or ctx ends; then it returns the context's cause and nothing was
// sent. Sends made with a handler's context are exempt from the bound and
// never block. A nil return means the message will be handled (or, if the
// recipient crashes first, consumed and counted as dropped): it is never
// silently lost. An unknown or departed recipient gets an error wrapping
// fence.ErrUnknownMember or the recipient's departure cause.
func (m *Member[T]) Send(ctx context.Context, to string, msg T) error {
	r, err := m.lookup(to)
	if err != nil {
		return err
	}
	return m.SendTo(ctx, r, msg)
}

// SendTo is Send to a recipient already resolved, skipping the name lookup.
func (m *Member[T]) SendTo(ctx context.Context, to *Member[T], msg T) error {
	bounded := true
	for {
		err := m.out.sendOne(to, &msg, bounded)
		if err != errFull {
			return m.sendError(to, err)
		}
		// Only a full inbox asks whether this is a handler's send (exempt).
		if bounded = !m.inHandlerOf(ctx); bounded {
			if err := to.inbox.waitRoom(ctx, laneOf(m.id.ID)); err != nil {
				return m.sendError(to, err)
			}
		}
	}
}

// TrySend is Send that never blocks: if the recipient's inbox is full it
// returns an error wrapping fence.ErrWouldBlock and sends nothing.
func (m *Member[T]) TrySend(to string, msg T) error {
	r, err := m.lookup(to)
	if err != nil {
		return err
	}
	err = m.out.sendOne(r, &msg, true)
	if err == errFull {
		err = fence.ErrWouldBlock
	}
	return m.sendError(r, err)
}

func (m *Member[T]) sendError(to *Member[T], err error) error {
	if err == nil {
		return nil
	}
	return m.errorf("send to %s: %w", to.id, err)
}

// Publish queues msg, as one message of m's stream, for every member of group
// except m itself. It blocks like Send while any recipient's inbox is full
// (not with a handler's context). A member that departs while the message is
// being published is skipped; Publish returns an error only if the group is
// unknown or ctx ended before anything was queued.
func (m *Member[T]) Publish(ctx context.Context, group string, msg T) error {
	if m.dir == nil {
		return m.errorf("publish to %s: %w", group, fence.ErrUnknownGroup)
	}
	all, err := m.dir.GroupMembers(group, nil)
	if err != nil {
		return m.errorf("publish to %s: %w", group, err)
	}
	to := all[:0]
	for _, r := range all {
		if r != m {
			to = append(to, r)
		}
	}
	if !m.inHandlerOf(ctx) {
		for _, r := range to {
			if err := r.inbox.waitRoom(ctx, laneOf(m.id.ID)); err != nil {
				return m.errorf("publish to %s: %w", group, err)
			}
		}
	}
	m.out.sendAll(to, &msg)
	return nil
}

func (m *Member[T]) lookup(name string) (*Member[T], error) {
	if m.dir == nil {
		return nil, m.errorf("send to %q: %w", name, fence.ErrUnknownMember)
	}
	r, err := m.dir.Lookup(name)
	if err != nil {
		return nil, m.errorf("send to %q: %w", name, err)
	}
	if r == nil {
		return nil, m.errorf("send to %q: %w", name, fence.ErrUnknownMember)
	}
	return r, nil
}
