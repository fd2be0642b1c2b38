package member

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/names"
)

// Send implements managedprocess.Member.Send.
func (m *Member[T]) Send(ctx context.Context, to string, msg T) error {
	r, err := m.lookup(to)
	if err != nil {
		return err
	}
	return m.sendTo(ctx, r, &msg)
}

// SendTo implements managedprocess.Member.SendTo.
func (m *Member[T]) SendTo(ctx context.Context, to fence.Identity, msg T) error {
	r := m.lastTo.Load() // resolve's fast path, here so that it costs no call
	if r == nil || r.id != to {
		var err error
		if r, err = m.resolveNew(to); err != nil {
			return err
		}
	}
	if ctx != nil && r.encode == nil && m.out.queueNow(r, &msg) { // sendTo, by hand: the compiler does not inline it
		return nil
	}
	return m.sendAny(ctx, r, &msg)
}

// sendTo is Send to a recipient already resolved. Most sends find room,
// an open recipient and no far side: queueNow takes them in one pass,
// and the rest go the general way.
func (m *Member[T]) sendTo(ctx context.Context, to *Member[T], msg *T) error {
	if ctx != nil && to != nil && to.encode == nil && m.out.queueNow(to, msg) {
		return nil
	}
	return m.sendAny(ctx, to, msg)
}

// sendAny is sendTo for any send: it checks the call, encodes for a far
// side and waits for room as it must.
func (m *Member[T]) sendAny(ctx context.Context, to *Member[T], msg *T) error {
	if err := m.checkSend(ctx, to); err != nil {
		return err
	}
	run, err := m.encodeFor(to, msg)
	if err != nil {
		return m.sendError(to, err)
	}
	bounded := true
	for {
		full, sent, err := m.out.sendOne(to, msg, run, bounded)
		if err != errFull {
			return m.sendError(to, err)
		}
		// Only a full window asks whether this is a handler's send (exempt).
		if bounded = !m.inHandlerOf(ctx); bounded {
			if err := m.waitRoom(ctx, full, sent); err != nil {
				return m.sendError(to, err)
			}
		}
	}
}

// TrySend implements managedprocess.Member.TrySend.
func (m *Member[T]) TrySend(to string, msg T) error {
	r, err := m.lookup(to)
	if err != nil {
		return err
	}
	if err := m.checkSend(context.Background(), r); err != nil {
		return err
	}
	run, err := m.encodeFor(r, &msg)
	if err != nil {
		return m.sendError(r, err)
	}
	_, _, err = m.out.sendOne(r, &msg, run, true)
	if err == errFull {
		err = fence.ErrWouldBlock
	}
	return m.sendError(r, err)
}

// encodeFor returns msg encoded for to, if to has a far side that needs it
// encoded (see Config.Encode), and clears msg: the run is queued instead.
// Otherwise it returns nil.
func (m *Member[T]) encodeFor(to *Member[T], msg *T) (*Run, error) {
	if to.encode == nil {
		return nil, nil
	}
	return m.encodeFar(to, msg)
}

// encodeFar is encodeFor for a recipient with a far side.
func (m *Member[T]) encodeFar(to *Member[T], msg *T) (*Run, error) {
	run, err := to.encode(m.id, *msg, nil)
	var zero T
	*msg = zero
	return run, err
}

// checkSend refuses a nil context or recipient. The stream refuses a
// departed sender (see sendOne).
func (m *Member[T]) checkSend(ctx context.Context, to *Member[T]) error {
	if ctx == nil || to == nil { // apart, so that the check inlines into the send
		return m.badSend(ctx)
	}
	return nil
}

// badSend is checkSend's error: ctx nil, or else the recipient.
func (m *Member[T]) badSend(ctx context.Context) error {
	if ctx == nil {
		return m.errorf("send: nil context: %w", fence.ErrInvalidArgument)
	}
	return m.errorf("send to a nil member: %w", fence.ErrUnknownMember)
}

func (m *Member[T]) sendError(to *Member[T], err error) error {
	if err == nil {
		return nil
	}
	return m.errorf("send to %s: %w", to.id, err)
}

// Publish implements managedprocess.Member.Publish.
func (m *Member[T]) Publish(ctx context.Context, group string, msg T) error {
	to, err := m.recipients(ctx, group)
	if err != nil {
		return err
	}
	runs, err := m.encodeAll(to, msg)
	if err != nil {
		return m.errorf("publish to %s: %w", names.Quote(group), err)
	}
	bounded := true
	for {
		full, sent, err := m.out.sendAll(to, &msg, runs, bounded)
		if err != errFull {
			if err != nil {
				return m.errorf("publish to %s: %w", names.Quote(group), err)
			}
			return nil
		}
		if bounded = !m.inHandlerOf(ctx); bounded {
			if err := m.waitRoom(ctx, full, sent); err != nil {
				return m.errorf("publish to %s: %w", names.Quote(group), err)
			}
		}
	}
}

// encodeAll returns msg encoded for each recipient in to that needs it
// (see encodeFor), one encoding for all of them: nil for the others, and
// nil for all if none does.
func (m *Member[T]) encodeAll(to []*Member[T], msg T) ([]*Run, error) {
	var runs []*Run
	var run *Run
	for i, r := range to {
		if r.encode == nil {
			continue
		}
		if runs == nil {
			runs = make([]*Run, len(to))
		}
		var err error
		if run, err = r.encode(m.id, msg, run); err != nil {
			return nil, fmt.Errorf("to %s: %w", r.id, err)
		}
		runs[i] = run
	}
	return runs, nil
}

// recipients returns the members of group other than m, ordered by ID,
// after Publish's checks.
func (m *Member[T]) recipients(ctx context.Context, group string) ([]*Member[T], error) {
	if ctx == nil {
		return nil, m.errorf("publish: nil context: %w", fence.ErrInvalidArgument)
	}
	if m.coord == nil {
		return nil, m.errorf("publish to %s: %w", names.Quote(group), fence.ErrUnknownGroup)
	}
	all, err := m.coord.GroupMembers(group, nil)
	if err != nil {
		return nil, m.errorf("publish to %s: %w", names.Quote(group), err)
	}
	to := slices.DeleteFunc(all, func(r *Member[T]) bool { return r == m })
	slices.SortFunc(to, func(a, b *Member[T]) int { return cmp.Compare(a.id.ID, b.id.ID) })
	return to, nil
}

// resolve returns the running member with identity id; the recipient it
// resolved last is found without asking the coordinator. (A departed one is
// found too: the send then fails with its departure cause.)
func (m *Member[T]) resolve(id fence.Identity) (*Member[T], error) {
	if r := m.lastTo.Load(); r != nil && r.id == id { // SendTo repeats this check inline
		return r, nil
	}
	return m.resolveNew(id)
}

// resolveNew is resolve for a recipient other than the last one.
func (m *Member[T]) resolveNew(id fence.Identity) (*Member[T], error) {
	if m.coord == nil {
		return nil, m.errorf("send to %s: %w", id, fence.ErrUnknownMember)
	}
	r, err := m.coord.Resolve(id)
	if err != nil {
		return nil, m.errorf("send to %s: %w", id, err)
	}
	m.lastTo.Store(r)
	return r, nil
}

func (m *Member[T]) lookup(name string) (*Member[T], error) {
	if m.coord == nil {
		return nil, m.errorf("send to %s: %w", names.Quote(name), fence.ErrUnknownMember)
	}
	r, err := m.coord.Lookup(name)
	if err != nil {
		return nil, m.errorf("send to %s: %w", names.Quote(name), err)
	}
	if r == nil {
		return nil, m.errorf("send to %s: %w", names.Quote(name), fence.ErrUnknownMember)
	}
	return r, nil
}
