package processgroup

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/names"
	"github.com/muster-go/muster/managedprocess"
)

// Spawn starts a member described by spec as goroutines in this process: its
// reader and a supervisor running spec.Run. The member joins spec.Groups
// before anything runs. Spawn does not block; ctx only gates the start (a
// cancelled ctx starts nothing). Errors wrap fence.ErrInvalidName,
// fence.ErrInvalidArgument (a nil ctx, a negative inbox capacity in spec or
// in WithInboxCapacity), fence.ErrDuplicateName, fence.ErrUnknownGroup,
// fence.ErrClosed or ctx's cause, and leave the coordinator unchanged.
func (c *Coordinator[T]) Spawn(ctx context.Context, spec Spec[T]) (*managedprocess.Member[T], error) {
	if err := c.checkSpawn(ctx, spec); err != nil {
		return nil, err
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

// checkSpawn refuses what no coordinator state could make valid.
func (c *Coordinator[T]) checkSpawn(ctx context.Context, spec Spec[T]) error {
	if err := checkName("member", spec.Name); err != nil {
		return err
	}
	invalid := func(what string, args ...any) error {
		return fmt.Errorf("processgroup: spawn %q: %s: %w", spec.Name, fmt.Sprintf(what, args...), fence.ErrInvalidArgument)
	}
	switch {
	case ctx == nil:
		return invalid("nil context")
	case spec.InboxCapacity < 0:
		return invalid("negative inbox capacity %d", spec.InboxCapacity)
	case spec.InboxCapacity == 0 && c.cfg.inboxCapacity < 0:
		return invalid("negative default inbox capacity %d (WithInboxCapacity)", c.cfg.inboxCapacity)
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("processgroup: spawn %q: %w", spec.Name, err)
	}
	return nil
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
			return nil, fmt.Errorf("processgroup: spawn %q: group %s: %w", spec.Name, names.Quote(name), fence.ErrUnknownGroup)
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
		OnCrash:       func(_ *managedprocess.Member[T], cause error) { c.crashed(rec, cause) },
	})
	for _, g := range groups {
		rec.groups[g] = struct{}{}
		g.join(rec.m)
	}
	c.members[spec.Name] = rec
	c.running.Add(1)
	return rec, nil
}

// supervise runs the member's body, then retires the member. A body that
// calls runtime.Goexit ends this goroutine early; the member is retired on
// the way out, as crashed with fence.ErrGoexit.
func (c *Coordinator[T]) supervise(ctx context.Context, rec *memberRecord[T], run RunFunc[T]) {
	cause := fence.ErrGoexit // unless run returns or panics
	defer func() { c.retire(ctx, rec, cause) }()
	if run == nil {
		<-ctx.Done()
		cause = nil
		return
	}
	cause = runProtected(ctx, rec.m, run)
}

// retire makes the member depart with cause (nil: the cause of ctx, a close
// or a crash in a handler), cancels its context with it, so that handlers
// still running see the departure, and waits for its reader to finish.
func (c *Coordinator[T]) retire(ctx context.Context, rec *memberRecord[T], cause error) {
	defer c.running.Done()
	if cause == nil {
		cause = context.Cause(ctx)
	}
	c.depart(rec, cause)
	rec.cancel(cause)
	<-rec.m.Done()
}

// runProtected calls run and returns its departure cause: ErrExited (with
// run's error, if any) or a PanicError. It returns nil when run returned
// because ctx ended, so that a close is not reported as an exit. If run calls
// runtime.Goexit, runProtected does not return.
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

// crashed handles a crash in a handler, called on the member's reader
// goroutine.
func (c *Coordinator[T]) crashed(rec *memberRecord[T], cause error) {
	c.depart(rec, cause)
	rec.cancel(cause)
}
