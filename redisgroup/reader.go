package redisgroup

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// readBatch is how many inbox entries the reader takes at once; readBlock
// bounds one blocking read, so that a reader whose stop entry was lost (with
// Redis's state) still notices its member departed.
const (
	readBatch = 256
	readBlock = 2 * time.Second
)

// read hands the member's inbox to its handler, in order, one batch at a
// time, and reports each batch's progress in one script call. It stops at
// the stop entry a departure appends; after a graceful departure it has
// handled everything queued before it, and then consumes the rest.
func (m *member[T]) read() {
	defer close(m.done)
	defer m.c.forget(m)
	defer m.dropArrivals()
	ctx := context.WithoutCancel(m.c.ctx)
	last := "0-0"
	for {
		streams, err := m.c.rdb.XRead(ctx, &redis.XReadArgs{
			Streams: []string{m.inbox, last}, Count: readBatch, Block: readBlock,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if m.Err() != nil && m.c.ctx.Err() != nil {
				return
			}
			time.Sleep(m.c.cfg.Heartbeat / 8)
			continue
		}
		if len(streams) == 0 {
			if m.Err() != nil && m.isDropping() {
				return
			}
			continue
		}
		var stop bool
		last, stop = m.batch(streams[0].Messages)
		if stop {
			break
		}
	}
	if m.isGraceful() && !m.isDropping() {
		m.retried("consuming an inbox", m.isDropping, m.c.sc.depart, m.sid, kindExit, "", "1", "1")
	}
}

// batch handles msgs and reports their progress. It returns the last entry's
// id and whether it met the stop entry.
func (m *member[T]) batch(msgs []redis.XMessage) (last string, stop bool) {
	counts := map[string]string{}
	for _, e := range msgs {
		last = e.ID
		if _, ok := e.Values["x"]; ok {
			stop = true
			break
		}
		s, _ := e.Values["s"].(string)
		k, _ := e.Values["k"].(string)
		counts[s] = k
		if m.isDropping() {
			m.nDropped.Add(1)
			continue
		}
		m.deliver(e.Values)
	}
	if !m.isDropping() && len(counts) > 0 {
		// What the handlers sent is counted before what they handled.
		_ = m.flush(context.WithoutCancel(m.c.ctx))
		args := []any{m.sid, last}
		for s, k := range counts {
			args = append(args, s, k)
		}
		// A lost report would hold the fences waiting for these messages
		// until the next batch's, if one comes: it is retried until it
		// lands, which is safe, as it only raises each sender's count to k.
		m.retried("reporting progress", m.isDropping, m.c.sc.progress, args...)
	}
	m.handledThrough(last)
	return last, stop
}

// deliver decodes one entry and runs the handler (and the post-handler work
// it scheduled) on it. A panic crashes the member.
func (m *member[T]) deliver(v map[string]any) {
	s, _ := v["s"].(string)
	name, _ := v["n"].(string)
	q, _ := v["q"].(string)
	b, _ := v["b"].(string)
	id, _ := strconv.ParseUint(s, 10, 64)
	seq, _ := strconv.ParseUint(q, 10, 64)
	from := fence.Identity{Name: name, ID: id}
	var body T
	if err := m.c.cfg.Codec.Decode([]byte(b), &body); err != nil {
		m.c.cfg.Logger.Warn("redisgroup: a message that does not decode", "member", m.id, "from", from, "err", err)
		m.nHandled.Add(1)
		return
	}
	m.nHandled.Add(1)
	if m.handler == nil {
		return
	}
	m.handling.Store(&managedprocess.Handling{From: from, Seq: seq, Since: time.Now()})
	defer m.handling.Store(nil)
	if cause := m.handle(managedprocess.NewMessage[T](m, from, seq, body)); cause != nil {
		m.depart(cause, false)
	}
}

// handle runs the handler and its post-handler work, and returns the crash
// cause if either panicked or called runtime.Goexit.
func (m *member[T]) handle(msg managedprocess.Message[T]) (cause error) {
	returned := false
	m.inHandler.Store(true)
	defer func() {
		m.inHandler.Store(false)
		m.afterMu.Lock()
		m.after = m.after[:0]
		m.afterMu.Unlock()
		if v := recover(); v != nil {
			cause = &fence.PanicError{Value: v, Stack: debug.Stack()}
		} else if !returned {
			cause = fence.ErrGoexit
		}
	}()
	m.handler(m.hctx, msg)
	m.inHandler.Store(false)
	for i := 0; ; i++ {
		m.afterMu.Lock()
		if i >= len(m.after) {
			m.afterMu.Unlock()
			break
		}
		fn := m.after[i]
		m.afterMu.Unlock()
		fn()
	}
	returned = true
	return nil
}

func (m *member[T]) isDropping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropping
}

func (m *member[T]) isGraceful() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.graceful
}

// handledThrough records that the reader is done with inbox entry id.
func (m *member[T]) handledThrough(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handled = id
	close(m.progress)
	m.progress = make(chan struct{})
}

// WaitForDeliveryFence blocks until every message queued for the member
// before the call has been handled.
func (m *member[T]) WaitForDeliveryFence(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil context", fence.ErrInvalidArgument)
	}
	if m.isHandlerCtx(ctx) {
		return fmt.Errorf("%w: WaitForDeliveryFence", fence.ErrInHandler)
	}
	last, err := m.c.rdb.XRevRangeN(ctx, m.inbox, "+", "-", 1).Result()
	if err != nil {
		return m.errOr(redisErr("local fence", err))
	}
	if len(last) == 0 {
		return m.Err()
	}
	for {
		m.mu.Lock()
		reached, dropping, cause, ch := !idLess(m.handled, last[0].ID), m.dropping, m.err, m.progress
		m.mu.Unlock()
		switch {
		case dropping:
			return cause
		case reached:
			return nil
		}
		select {
		case <-ch:
		case <-m.done:
		case <-ctx.Done():
			return fence.ContextError(ctx)
		}
	}
}

// idLess reports whether stream entry id a comes before b.
func idLess(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am < bm || am == bm && as < bs
}

func splitID(id string) (ms, seq uint64) {
	for i := range len(id) {
		if id[i] == '-' {
			ms, _ = strconv.ParseUint(id[:i], 10, 64)
			seq, _ = strconv.ParseUint(id[i+1:], 10, 64)
			return ms, seq
		}
	}
	ms, _ = strconv.ParseUint(id, 10, 64)
	return ms, 0
}
