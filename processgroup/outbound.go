package processgroup

import (
	"context"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
)

// awaitTargets blocks until every target is met, for a member's outbound
// fence: the watcher arms the targets' counters, reads them, and releases
// the wait once they reached the targets, as for a round's drain. It returns
// the context's error if ctx ends first (the watcher then forgets the
// targets), or an error wrapping fence.ErrClosed once the coordinator
// closes.
func (c *Coordinator[T]) awaitTargets(ctx context.Context, targets []member.Target) error {
	d := &drain[T]{out: make(chan struct{})}
	c.watcher.Submit(d, appendWatch(nil, targets))
	select {
	case <-d.out:
		return nil
	case <-ctx.Done():
		c.watcher.Drop(d)
		return fence.ContextError(ctx)
	case <-c.ctx.Done(): // Close: the watcher stopped without releasing d
		return errClosed("outbound fence")
	}
}
