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

// Arrive, Barrier, Join and Leave are m's calls on group.
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

func (p *port[T]) Barrier(ctx context.Context, m *member.Member[T], group, name string, mode fence.Mode) (fence.Result, error) {
	g, err := p.group(group)
	if err != nil {
		return fence.Result{}, err
	}
	return g.barrierCall(ctx, m, name, mode)
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
