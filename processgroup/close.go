package processgroup

import (
	"context"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// Close shuts the coordinator down: every open round fails with
// fence.ErrClosed, later calls return it, the watcher stops, every member's
// context is cancelled with cause fence.ErrClosed, and readers consume what
// is queued without handling it (a handler running then finishes; nothing
// after it is handled). Close blocks until every goroutine the
// coordinator started has exited — which waits for run functions to return —
// or ctx ends; then it returns ctx's error and the stragglers are left to
// finish. The first call, once everything stopped, returns what Wait would:
// the members' failures joined (nil if none; members stopped by Close are
// not failures, whatever their run functions return once their calls
// failed with fence.ErrClosed or their contexts ended). Later calls wait the same way, then return an error
// wrapping fence.ErrClosed (Wait still reports the failures).
func (c *Coordinator[T]) Close(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("processgroup: close: nil context: %w", fence.ErrInvalidArgument)
	}
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.shutdown()
	})
	select {
	case <-c.closeDone:
	case <-ctx.Done():
		return fmt.Errorf("processgroup: close: members still running: %w", fence.ContextError(ctx))
	}
	if !first {
		return errClosed("close")
	}
	return c.exits.joined() // every supervisor has returned
}

func (c *Coordinator[T]) shutdown() {
	c.mu.Lock()
	c.closed = true
	groups := make([]*Group[T], 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	recs := make([]*memberRecord[T], 0, len(c.members))
	for _, rec := range c.members {
		recs = append(recs, rec)
	}
	c.mu.Unlock()
	for _, g := range groups {
		g.close()
	}
	// Every inbox drops before any context ends: a handler that returns
	// when its context does must find what is queued behind it dropped.
	for _, rec := range recs {
		rec.m.Stop(fence.ErrClosed, true)
	}
	c.watcher.Stop()
	c.cancel(fence.ErrClosed)
	go func() {
		c.running.Wait()
		close(c.closeDone)
	}()
}
