package redisgroup

import (
	"context"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// WaitForOutboundFence blocks until every message the member sent before
// the call has been handled by its recipients, or ctx ends: see
// managedprocess.Member.WaitForOutboundFence.
func (m *member[T]) WaitForOutboundFence(ctx context.Context) error {
	fail := func(err error) *fence.Error { return &fence.Error{Op: "outbound fence", Member: m.id, Err: err} }
	switch {
	case ctx == nil:
		return fail(fmt.Errorf("%w: nil context", fence.ErrInvalidArgument))
	case m.isHandlerCtx(ctx):
		return fail(fence.ErrInHandler)
	}
	if err := m.Err(); err != nil {
		return fail(err)
	}
	m.mu.Lock()
	m.fences++
	fid := fmt.Sprintf("%s-%s-%d", m.c.cid, m.sid, m.fences)
	m.mu.Unlock()
	caughtUp, tick, done := m.c.watch.waitFence(fid)
	defer done()
	n, err := m.c.sc.run(ctx, m.c.sc.outbound, m.sid, m.c.cid, fid).Int()
	if err != nil {
		return fail(m.errOr(redisErr("outbound fence", err)))
	}
	for n > 0 {
		select {
		case <-caughtUp:
			return nil
		case <-tick:
			tick = m.c.watch.nextTick()
			lags, err := m.lags(ctx)
			if err == nil && len(lags) == 0 {
				return nil
			}
		case <-ctx.Done():
			e := fail(fence.ContextError(ctx))
			e.Lagging, _ = m.lags(context.WithoutCancel(ctx))
			return e
		}
	}
	return nil
}

// lags reads the member's links whose recipient has not handled everything
// it sent there.
func (m *member[T]) lags(ctx context.Context) ([]fence.Lag, error) {
	reply, err := m.c.sc.run(ctx, m.c.sc.lags, m.sid).Int64Slice()
	if err != nil {
		return nil, err
	}
	var out []fence.Lag
	for i := 0; i+2 < len(reply); i += 3 {
		out = append(out, fence.Lag{
			Target:    fence.Target{Recipient: fence.Identity{ID: uint64(reply[i])}, Sender: m.id, Seq: uint64(reply[i+1])},
			Delivered: uint64(reply[i+2]),
		})
	}
	return out, nil
}
