package redisgroup

import (
	"context"
	"time"
)

// heartbeats renews the heartbeat keys of this coordinator's members every
// Heartbeat/4 until Close, and departs here the members Redis no longer
// holds as live.
func (c *Coordinator[T]) heartbeats() {
	t := time.NewTicker(c.cfg.Heartbeat / 4)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.beat(c.ctx)
	}
}

func (c *Coordinator[T]) beat(ctx context.Context) {
	c.mu.Lock()
	args := []any{c.cfg.Heartbeat.Milliseconds()}
	ms := make(map[int64]*member[T], len(c.members))
	for id, m := range c.members {
		args = append(args, m.sid)
		ms[int64(id)] = m
	}
	c.mu.Unlock()
	if len(ms) == 0 {
		return
	}
	lost, err := c.sc.run(ctx, c.sc.heartbeat, args...).Slice()
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Warn("redisgroup: renewing heartbeats", "err", err)
		}
		return
	}
	for i := 0; i+1 < len(lost); i += 2 {
		id, _ := lost[i].(int64)
		s, _ := lost[i+1].(string)
		if s == "" {
			// Redis lost the group's state: its rounds are numbered from 1
			// again, so the outcomes remembered are of other rounds.
			c.watch.forgetRecent()
		}
		if m := ms[id]; m != nil {
			_, cause := decodeCause(s)
			m.lost(cause)
		}
	}
}
