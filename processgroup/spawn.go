package processgroup

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/names"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// Spawn starts a member described by spec as goroutines in this process: its
// reader and a supervisor running spec.Run. The member joins spec.Groups
// before anything runs. Spawn does not block; ctx only gates the start (a
// cancelled ctx starts nothing). Errors wrap fence.ErrInvalidName,
// fence.ErrInvalidArgument (a nil ctx, a negative window in spec or
// in WithWindow), fence.ErrDuplicateName, fence.ErrUnknownGroup,
// fence.ErrClosed or ctx's cause, and leave the coordinator unchanged.
func (c *Coordinator[T]) Spawn(ctx context.Context, spec Spec[T]) (managedprocess.Member[T], error) {
	if err := c.checkSpawn(ctx, spec); err != nil {
		return nil, err
	}
	var connect connector[T]
	if place := wire.Loopback(ctx); place.Behind != nil {
		connect = func(id fence.Identity) (*wireEnd[T], error) {
			if !place.Behind(id) {
				return nil, nil
			}
			return newWireEnd(c, id, spec, place.Socket)
		}
	}
	rec, err := c.register(spec, connect)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancelCause(c.ctx)
	rec.cancel = cancel
	rec.port.watchRun(mctx)
	rec.m.Start(mctx)
	c.cfg.logger.Debug("member spawned", "member", rec.m.ID(), "groups", spec.Groups)
	if ep := rec.wire; ep != nil {
		ep.start(mctx)
		if spec.Run != nil {
			spec.Run = ep.runFar
		}
		go c.supervise(mctx, rec, spec.Run)
		return ep.remote, nil
	}
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
	case spec.Window < 0:
		return invalid("negative window %d", spec.Window)
	case spec.Window == 0 && c.cfg.window < 0:
		return invalid("negative default window %d (WithWindow)", c.cfg.window)
	}
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("processgroup: spawn %q: %w", spec.Name, err)
	}
	return nil
}

// connector returns the wire end a new member reaches its member side
// through, given its identity; nil for a member in this process.
type connector[T any] func(fence.Identity) (*wireEnd[T], error)

// register validates spec, records the new member and joins its groups,
// all under the lock. A member connect returns a wire end for is a shadow
// (see wireEnd); one in a child process always has a handler and a body.
func (c *Coordinator[T]) register(spec Spec[T], connect connector[T]) (*memberRecord[T], error) {
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
	window := spec.Window
	if window == 0 {
		window = c.cfg.window
	}
	if window == 0 {
		window = DefaultWindow
	}
	c.nextID++
	id := fence.Identity{Name: spec.Name, ID: c.nextID}
	rec := &memberRecord[T]{port: newPort(c), groups: make(map[*Group[T]]struct{}, len(groups))}
	handler, counted := spec.Handler, spec.Run != nil
	var forward member.Forward[T]
	var arm member.Arm
	var encode func(fence.Identity, T, *member.Run) (*member.Run, error)
	if connect != nil {
		ep, err := connect(id)
		if err != nil {
			return nil, fmt.Errorf("processgroup: spawn %q: %w", spec.Name, err) // an ID skipped, nothing else changed
		}
		rec.wire = ep
		if ep != nil && (handler != nil || ep.remote == nil) {
			handler, forward, arm, encode = nil, ep.deliver, ep.arm, ep.encode
		}
		counted = counted || ep != nil && ep.remote == nil
	}
	rec.m = member.New(member.Config[T]{
		ID:          id,
		Handler:     handler,
		Coordinator: rec.port,
		Window:      window,
		OnCrash:     func(_ *member.Member[T], cause error) { c.crashed(rec, cause) },
		Forward:     forward,
		Arm:         arm,
		Encode:      encode,
	})
	if rec.wire != nil {
		rec.wire.shadow = rec.m
	}
	for _, g := range groups {
		rec.groups[g] = struct{}{}
		g.join(rec.m)
	}
	c.members[spec.Name] = rec
	c.running.Add(1)
	if counted {
		c.exits.start()
	}
	return rec, nil
}

// exit is how a member's run function ended.
type exit struct {
	// cause is the member's departure cause; nil when its context ended
	// first (a close or a crash in a handler), whose cause it then is.
	cause error
	// graceful: run returned nil, and the member leaves its groups
	// gracefully. A non-nil cause that is not graceful is a failure.
	graceful bool
}

// supervise runs the member's body, then retires the member. A body that
// calls runtime.Goexit ends this goroutine early; the member is retired on
// the way out, as crashed with fence.ErrGoexit.
func (c *Coordinator[T]) supervise(ctx context.Context, rec *memberRecord[T], run RunFunc[T]) {
	defer c.running.Done()
	switch {
	case rec.wire == nil:
	case rec.wire.remote == nil:
		defer rec.wire.close() // after retire: a child's connection ends with its member
	default:
		defer func() { <-c.ctx.Done(); rec.wire.close() }() // after retire: the connection lasts until Close
	}
	if run == nil {
		<-ctx.Done()
		c.retire(ctx, rec, exit{})
		return
	}
	defer func() {
		if rec.wire == nil || !rec.wire.uncounted.Load() {
			c.exits.stop()
		}
	}()
	end := exit{cause: fence.ErrGoexit} // unless run returns or panics
	defer func() { c.retire(ctx, rec, end) }()
	end = runProtected(ctx, rec.m, run)
}

// retire records a failed run (a run that returned the error Close gave its
// calls was stopped by Close, which fails no member), makes the member
// depart (gracefully, or with the cause: the cause of ctx if run did not
// give one, ErrClosed if Close stopped it), cancels its context
// with the cause, so that handlers still running see the departure, waits
// for its reader to finish and frees the member's links, to it and from it.
func (c *Coordinator[T]) retire(ctx context.Context, rec *memberRecord[T], end exit) {
	cause := end.cause
	switch {
	case cause == nil:
		cause = context.Cause(ctx)
	case !end.graceful && errors.Is(cause, fence.ErrClosed) && c.isClosed():
		cause = fence.ErrClosed // run returned the error Close gave its calls: stopped by Close, not a failure
	case !end.graceful:
		c.exits.fail(rec.m.ID(), cause)
	}
	c.depart(rec, cause, end.graceful)
	rec.cancel(cause)
	<-rec.m.Done()
	rec.m.ReleaseLinks()
	if rec.wire != nil {
		rec.wire.retired.Store(true)
		rec.wire.forgetGrants()
	}
}

// runProtected calls run and returns how it ended: gracefully with cause
// ErrExited when run returned nil, or failed with ErrExited wrapping run's
// error, or with a PanicError. It returns no cause when run returned after
// ctx ended, so that a close is not reported as an exit. If run calls
// runtime.Goexit, runProtected does not return.
func runProtected[T any](ctx context.Context, m *member.Member[T], run RunFunc[T]) (end exit) {
	defer func() {
		if v := recover(); v != nil {
			end = exit{cause: &fence.PanicError{Value: v, Stack: debug.Stack()}}
		}
	}()
	err := run(ctx, m)
	switch {
	case ctx.Err() != nil:
		return exit{}
	case err != nil:
		return exit{cause: fmt.Errorf("%w: %w", fence.ErrExited, err)}
	default:
		return exit{cause: fmt.Errorf("%w: run returned", fence.ErrExited), graceful: true}
	}
}

// crashed handles a crash in a handler, called on the member's reader
// goroutine.
func (c *Coordinator[T]) crashed(rec *memberRecord[T], cause error) {
	c.exits.fail(rec.m.ID(), cause)
	c.depart(rec, cause, false)
	rec.cancel(cause)
}

// isClosed reports whether Close began.
func (c *Coordinator[T]) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
}
