package redisgroup

import (
	"context"
	"fmt"
	"strconv"

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
	if err := m.flush(ctx); err != nil {
		return fail(m.errOr(err))
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
// it sent there. A queue's link names the queue ("q:<name>") as recipient.
func (m *member[T]) lags(ctx context.Context) ([]fence.Lag, error) {
	reply, err := m.c.sc.run(ctx, m.c.sc.lags, m.sid).Slice()
	if err != nil {
		return nil, err
	}
	var out []fence.Lag
	for i := 0; i+2 < len(reply); i += 3 {
		r, _ := reply[i].(string)
		sent, _ := reply[i+1].(int64)
		done, _ := reply[i+2].(int64)
		rcpt := fence.Identity{Name: r}
		if id, err := strconv.ParseUint(r, 10, 64); err == nil {
			rcpt = fence.Identity{ID: id}
		}
		out = append(out, fence.Lag{
			Target:    fence.Target{Recipient: rcpt, Sender: m.id, Seq: uint64(sent)},
			Delivered: uint64(done),
		})
	}
	return out, nil
}
