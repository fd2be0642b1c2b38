package processgroup

import (
	"context"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// Close shuts the coordinator down: every open round fails with
// fence.ErrClosed, later calls return it, the watcher stops, every member's
// context is cancelled with cause fence.ErrClosed, and readers consume what
// is queued without handling it. Close blocks until every goroutine the
// coordinator started has exited — which waits for run functions to return —
// or ctx ends; then it returns ctx's error and the stragglers are left to
// finish. The first call returns nil once everything stopped; later calls
// wait the same way, then return an error wrapping fence.ErrClosed.
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
	return nil
}

func (c *Coordinator[T]) shutdown() {
	c.mu.Lock()
	c.closed = true
	groups := make([]*Group[T], 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	for _, g := range groups {
		g.close()
	}
	c.watcher.Stop()
	c.cancel(fence.ErrClosed)
	go func() {
		c.running.Wait()
		close(c.closeDone)
	}()
}
