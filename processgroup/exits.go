package processgroup

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/muster-go/muster/fence"
)

// exitLog counts the members with a run function that have not finished and
// collects every member's failures, for Wait and Close. A member counts from
// its registration until its run function returned and its reader exited.
// It must not be copied after first use.
type exitLog struct {
	mu       sync.Mutex
	running  int
	idle     chan struct{} // closed when running drops to zero; remade when it rises again
	failures []error       // *fence.MemberError, in the order they happened; only appended to
}

// start counts one more member with a run function. Callers hold the
// coordinator's mu, so that no member starts once it is closed.
func (l *exitLog) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == 0 {
		l.idle = make(chan struct{})
	}
	l.running++
}

// stop counts a member whose run function returned and whose reader exited.
func (l *exitLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running--; l.running == 0 {
		close(l.idle)
	}
}

// fail records that the member id failed with cause.
func (l *exitLog) fail(id fence.Identity, cause error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, &fence.MemberError{Member: id, Err: cause})
}

// wait blocks until no member with a run function runs, or ctx ends. It
// returns the failures so far, joined (nil if none), and whether every such
// member had stopped.
func (l *exitLog) wait(ctx context.Context) (failures error, stopped bool) {
	for {
		l.mu.Lock()
		running, idle := l.running, l.idle
		l.mu.Unlock()
		if running == 0 {
			return l.joined(), true
		}
		select {
		case <-idle: // a member may have started since: look again
		case <-ctx.Done():
			return l.joined(), false
		}
	}
}

// joined returns the failures so far, joined (nil if none).
func (l *exitLog) joined() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.failures...)
}

// Wait blocks until every member spawned with a run function — so far, or
// while Wait waits — has returned from it and its reader has exited, like
// errgroup.Group.Wait. Members without a run function (handlers only) are
// not waited for: they run until Close or a crash.
//
// It returns the members' failures joined with errors.Join, each a
// *fence.MemberError naming the member: a run function that returned an
// error (wrapping fence.ErrExited and the error), panicked (a
// *fence.PanicError) or called runtime.Goexit (fence.ErrGoexit), and a
// handler that crashed (any member's, up to then). It returns nil when every
// run function returned nil. Members stopped by Close are not failures: a run
// function's result is ignored once Close cancelled its context. A member
// that fails both in its run function and in a handler is reported twice.
// If ctx ends first, Wait returns ctx's error wrapped, joined with the
// failures so far. Wait may be called any number of times, also after Close;
// each call reports every failure so far. A nil ctx is refused with
// fence.ErrInvalidArgument.
func (c *Coordinator[T]) Wait(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("processgroup: wait: nil context: %w", fence.ErrInvalidArgument)
	}
	failures, stopped := c.exits.wait(ctx)
	if !stopped {
		return errors.Join(fmt.Errorf("processgroup: wait: members still running: %w", fence.ContextError(ctx)), failures)
	}
	return failures
}
