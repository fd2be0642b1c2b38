package processgroup

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Spawn starts a member described by spec as goroutines in this process: its
// reader and a supervisor running spec.Run. The member joins spec.Groups
// before anything runs. Spawn does not block; ctx only gates the start (a
// cancelled ctx starts nothing). Errors wrap fence.ErrInvalidName,
// fence.ErrDuplicateName, fence.ErrUnknownGroup, fence.ErrClosed or ctx's
// cause, and leave the coordinator unchanged.
func (c *Coordinator[T]) Spawn(ctx context.Context, spec Spec[T]) (*managedprocess.Member[T], error) {
	if err := checkName("member", spec.Name); err != nil {
		return nil, err
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("processgroup: spawn %q: %w", spec.Name, err)
	}
	rec, err := c.register(spec)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancelCause(c.ctx)
	rec.cancel = cancel
	rec.m.Start(mctx)
	c.cfg.logger.Debug("member spawned", "member", rec.m.ID(), "groups", spec.Groups)
	go c.supervise(mctx, rec, spec.Run)
	return rec.m, nil
}

// register validates spec, records the new member and joins its groups,
// all under the lock.
func (c *Coordinator[T]) register(spec Spec[T]) (*memberRecord[T], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed("spawn " + spec.Name)
	}
	if c.members[spec.Name] != nil {
		return nil, fmt.Errorf("processgroup: spawn %q: %w", spec.Name, fence.ErrDuplicateName)
	}
	groups := make([]*Group[T], 0, len(spec.Groups))
	for _, name := range spec.Groups {
		g := c.groups[name]
		if g == nil {
			return nil, fmt.Errorf("processgroup: spawn %q: group %q: %w", spec.Name, name, fence.ErrUnknownGroup)
		}
		groups = append(groups, g)
	}
	capacity := spec.InboxCapacity
	if capacity == 0 {
		capacity = c.cfg.inboxCapacity
	}
	c.nextID++
	rec := &memberRecord[T]{groups: make(map[*Group[T]]struct{}, len(groups))}
	rec.m = managedprocess.New(managedprocess.Config[T]{
		ID:            fence.Identity{Name: spec.Name, ID: c.nextID},
		Handler:       spec.Handler,
		Directory:     c,
		Notifier:      c.watcher,
		InboxCapacity: capacity,
		OnCrash:       func(_ *managedprocess.Member[T], perr *fence.PanicError) { c.crashed(rec, perr) },
	})
	for _, g := range groups {
		rec.groups[g] = struct{}{}
		g.join(rec.m)
	}
	c.members[spec.Name] = rec
	c.running.Add(1)
	return rec, nil
}

// supervise runs the member's body, makes the member depart with the
// reason, waits for its reader to finish and releases its context.
func (c *Coordinator[T]) supervise(ctx context.Context, rec *memberRecord[T], run RunFunc[T]) {
	defer c.running.Done()
	var cause error
	if run == nil {
		<-ctx.Done()
	} else {
		cause = runProtected(ctx, rec.m, run)
	}
	if cause == nil {
		cause = context.Cause(ctx) // closed, or crashed in a handler
	}
	c.depart(rec, cause)
	<-rec.m.Done()
	rec.cancel(cause)
}

// runProtected calls run and returns its departure cause: ErrExited (with
// run's error, if any) or a PanicError. It returns nil when run returned
// because ctx ended, so that a close is not reported as an exit.
func runProtected[T any](ctx context.Context, m *managedprocess.Member[T], run RunFunc[T]) (cause error) {
	defer func() {
		if v := recover(); v != nil {
			cause = &fence.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	err := run(ctx, m)
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("%w: %w", fence.ErrExited, err)
	default:
		return fmt.Errorf("%w: run returned", fence.ErrExited)
	}
}

// crashed handles a handler panic, called on the member's reader goroutine.
func (c *Coordinator[T]) crashed(rec *memberRecord[T], perr *fence.PanicError) {
	c.depart(rec, perr)
	rec.cancel(perr)
}
