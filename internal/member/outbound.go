package member

import (
	"context"

	"github.com/muster-go/muster/fence"
)

// WaitForOutboundFence blocks until every message m sent before the call has
// been handled by its recipients (the handler and its post-handler work
// returned, or the message was consumed on another path): the producer's
// side of a fence, for which recipients call nothing. It returns nil at once
// when nothing m sent is unhandled. Messages m sends during the call are not
// waited for.
//
// If ctx ends first it returns a *fence.Error wrapping the context's error
// that lists the streams lagging behind their targets. It refuses with
// fence.ErrInHandler when called from a handler (waiting there could
// deadlock the reader), fence.ErrInvalidArgument for a nil ctx, and m's
// departure cause once m departed. It is safe for concurrent use.
func (m *Member[T]) WaitForOutboundFence(ctx context.Context) error {
	if err := m.checkOutbound(ctx); err != nil {
		return err
	}
	targets := m.PendingTargets(nil)
	if len(targets) == 0 {
		return nil
	}
	if m.coord == nil {
		return m.outboundError(fence.ErrUnknownMember, nil) // no coordinator to watch progress
	}
	if err := m.coord.AwaitTargets(ctx, targets); err != nil {
		return m.outboundError(err, targets)
	}
	return nil
}

// checkOutbound refuses what WaitForOutboundFence cannot wait for.
func (m *Member[T]) checkOutbound(ctx context.Context) error {
	switch {
	case ctx == nil:
		return m.outboundError(fence.ErrInvalidArgument, nil)
	case InHandler(ctx):
		return m.outboundError(fence.ErrInHandler, nil)
	}
	if err := m.Err(); err != nil {
		return m.outboundError(err, nil)
	}
	return nil
}

// outboundError is the diagnosis of an outbound fence that did not release:
// cause, and the targets still unmet.
func (m *Member[T]) outboundError(cause error, targets []Target) error {
	var lags []fence.Lag
	for _, t := range targets {
		if l, unmet := t.Lag(); unmet {
			lags = append(lags, l)
		}
	}
	return &fence.Error{Op: "outbound fence", Member: m.id, Lagging: lags, Err: cause}
}
