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
// finish. Close is idempotent: later calls wait the same way.
func (c *Coordinator[T]) Close(ctx context.Context) error {
	c.closeOnce.Do(c.shutdown)
	select {
	case <-c.closeDone:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("processgroup: close: members still running: %w", fence.ContextError(ctx))
	}
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
