package processgroup

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/names"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// port is the coordinator as one member reaches it (member.Coordinator). It
// remembers the group the member called last: a member's barrier calls
// mostly repeat one group, and then find it without a lookup.
type port[T any] struct {
	c    *Coordinator[T]
	last atomic.Pointer[Group[T]]
	// wake is what the member's Barrier calls park on. One call at a time
	// holds it (busy); a concurrent call makes a channel of its own.
	wake chan struct{}
	busy atomic.Bool
	// run is the member's run context, set by watchRun before the member
	// runs: its end leaves a token on wake, so a call made with it waits on
	// wake alone, which costs a parked waiter much less than a select on
	// two channels (see waitWake).
	run context.Context
}

func newPort[T any](c *Coordinator[T]) *port[T] {
	return &port[T]{c: c, wake: make(chan struct{}, 1)}
}

// watchRun makes the end of ctx, the member's run context, leave a token on
// wake. Call it once, before the member runs.
func (p *port[T]) watchRun(ctx context.Context) {
	p.run = ctx
	context.AfterFunc(ctx, func() { leaveToken(p.wake) })
}

// takeWake returns a channel of capacity 1 that no other call parks on
// until putWake.
func (p *port[T]) takeWake() chan struct{} {
	if p.busy.CompareAndSwap(false, true) {
		return p.wake
	}
	return make(chan struct{}, 1)
}

// putWake gives back what takeWake returned.
func (p *port[T]) putWake(ch chan struct{}) {
	if ch == p.wake {
		p.busy.Store(false)
	}
}

// Lookup returns the running member called name, or an error wrapping
// fence.ErrUnknownMember (fence.ErrClosed once closed).
func (p *port[T]) Lookup(name string) (*member.Member[T], error) {
	c := p.c
	c.mu.RLock()
	rec, closed := c.members[name], c.closed
	c.mu.RUnlock()
	if closed {
		return nil, errClosed("lookup " + names.Quote(name))
	}
	if rec == nil {
		return nil, fmt.Errorf("processgroup: member %s: %w", names.Quote(name), fence.ErrUnknownMember)
	}
	return rec.m, nil
}

// Resolve is Lookup by identity: a name that now belongs to a later member
// does not resolve.
func (p *port[T]) Resolve(id fence.Identity) (*member.Member[T], error) {
	m, err := p.Lookup(id.Name)
	if err != nil {
		return nil, err
	}
	if m.ID() != id {
		return nil, fmt.Errorf("processgroup: member %v: departed (the name is %v's now): %w", id, m.ID(), fence.ErrUnknownMember)
	}
	return m, nil
}

// GroupMembers appends the current members of group to dst.
func (p *port[T]) GroupMembers(group string, dst []*member.Member[T]) ([]*member.Member[T], error) {
	g, err := p.c.Group(group)
	if err != nil {
		return dst, err
	}
	return g.appendMembers(dst), nil
}

// Arrive, Join and Leave are m's calls on group; Barrier follows.
func (p *port[T]) Arrive(ctx context.Context, m *member.Member[T], group, name string, mode fence.Mode) (managedprocess.Arrival, error) {
	g, err := p.group(group)
	if err != nil {
		return nil, err
	}
	a, err := g.arriveCall(ctx, m, name, mode)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Barrier is Arrive followed by Wait: m arrives at the next round of the
// barrier called name and blocks until that round is released. It returns the
// round's Result, or a *fence.Error that wraps the cause:
//
//   - the caller's context ended: the context's error, with who had not
//     arrived and which streams lagged behind which targets. The arrival
//     still stands and the others' round still completes. m's next Barrier
//     (or Arrive) call for name attaches to that arrival instead of arriving
//     again, and returns its round's outcome, at once if the round already
//     finished: retrying after a timeout never skips a round.
//   - a member the round expected failed while it was open: its cause
//     (fence.ErrExited wrapping its run function's error, fence.ErrCrashed),
//     unless the group completes rounds for survivors. A member that left
//     gracefully fails nothing (see managedprocess.Member.Leave).
//   - fence.ErrClosed: the coordinator closed.
//   - refused before arriving, leaving everything unchanged:
//     fence.ErrInvalidName, fence.ErrInvalidMode, fence.ErrInvalidArgument
//     (a nil ctx), fence.ErrNotMember, m's departure cause (m departed),
//     fence.ErrBusy (a call of m for this name is in progress: m's arrival
//     in an open round of this name has a Barrier or Wait waiting on it, or
//     an Arrival handle that owns it), fence.ErrModeMismatch (the round's
//     first arrival chose another mode), fence.ErrInHandler (ctx is a
//     handler's context: waiting there could only deadlock the reader).
//
// Calls must be made by m itself (its run function or goroutines it owns):
// the coordinator cannot tell who holds a Member, so an arrival made with
// another member's handle counts as that member's.
func (p *port[T]) Barrier(ctx context.Context, m *member.Member[T], group, name string, mode fence.Mode) (fence.Result, error) {
	g, err := p.group(group)
	if err != nil {
		return fence.Result{}, err
	}
	a, err := g.arrive(ctx, "barrier", m, name, mode, false)
	if err != nil {
		return fence.Result{}, err
	}
	res, err, gaveUp := g.await(ctx, "barrier", a, m, p, nil)
	switch {
	case gaveUp:
		g.giveUp(m, a)
	case a.attached:
		g.endCall(a.r, a.idx)
		g.returned(a.r)
	default:
		g.returned(a.r)
	}
	return res, err
}

func (p *port[T]) Join(m *member.Member[T], group string) error {
	g, err := p.group(group)
	if err != nil {
		return err
	}
	return g.joinCall(m)
}

func (p *port[T]) Leave(m *member.Member[T], group string) error {
	g, err := p.group(group)
	if err != nil {
		return err
	}
	return g.leaveCall(m)
}

// AwaitTargets waits for the targets of an outbound fence.
func (p *port[T]) AwaitTargets(ctx context.Context, targets []member.Target) error {
	return p.c.awaitTargets(ctx, targets)
}

// Notify hands a crossing to the progress watcher.
func (p *port[T]) Notify(c watcher.Counter) { p.c.watcher.Notify(c) }

// group returns the group called name.
func (p *port[T]) group(name string) (*Group[T], error) {
	if g := p.last.Load(); g != nil && g.name == name {
		return g, nil
	}
	g, err := p.c.Group(name)
	if err == nil {
		p.last.Store(g)
	}
	return g, err
}

var _ member.Coordinator[int] = (*port[int])(nil)
