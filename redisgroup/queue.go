package redisgroup

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Queue is a work queue of the group: a producer dispatches tasks to it, and
// each task is handed to one of the workers serving it, at least once. A
// task is a message of the producer's stream: the producer's
// WaitForOutboundFence, and the delivery fences it arrives at, wait until
// every task it dispatched before was handled by some worker. A task whose
// worker departs (crashes, or its heartbeat lapses) before acknowledging it
// is handed to another worker, so the producer's wait completes once every
// task was handled, even if a worker was killed mid-task; a task may then be
// handled twice, and counts once.
type Queue[T any] struct {
	c    *Coordinator[T]
	name string
	key  string
}

// Queue returns the group's queue called name (created by its first
// dispatch). Errors: fence.ErrInvalidName.
func (c *Coordinator[T]) Queue(name string) (*Queue[T], error) {
	if err := validName("queue", name); err != nil {
		return nil, err
	}
	return &Queue[T]{c: c, name: name, key: c.cfg.base() + ":q:" + name}, nil
}

// local returns m as a member of this coordinator, or an error.
func (q *Queue[T]) local(m managedprocess.Member[T]) (*member[T], error) {
	lm, ok := m.(*member[T])
	if !ok || lm.c != q.c {
		return nil, fmt.Errorf("%w: redisgroup: %v is not a member of this coordinator", fence.ErrInvalidArgument, m)
	}
	return lm, nil
}

// Dispatch appends tasks to the queue, in order, as messages of from's
// stream. It never waits for room: the queue is not bounded by a window.
// Errors: from is not a member of this coordinator (fence.ErrInvalidArgument),
// the codec refused a task (fence.ErrInvalidArgument; nothing is
// dispatched), from departed (its cause), ErrRedis.
func (q *Queue[T]) Dispatch(ctx context.Context, from managedprocess.Member[T], tasks ...T) error {
	m, err := q.local(from)
	if err != nil {
		return err
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil context", fence.ErrInvalidArgument)
	}
	args := []any{m.sid, q.name, 0} // args[2]: the seq, below
	for _, t := range tasks {
		b, err := q.c.cfg.Codec.Append(nil, t)
		if err != nil {
			return fmt.Errorf("%w: encoding a task: %w", fence.ErrInvalidArgument, err)
		}
		args = append(args, b)
	}
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if err := m.flushLocked(ctx); err != nil {
		return m.errOr(err)
	}
	if err := fence.ContextError(ctx); err != nil {
		return err
	}
	// The call takes the stream's next seq, so that Redis appends it once
	// however often go-redis sends it; spent even if the call fails, as it
	// may have been appended. Once sent, ctx does not end the call: a
	// cancelled dispatch is never one that was appended.
	m.seq++
	args[2] = m.seq
	reply, err := q.c.sc.run(context.WithoutCancel(ctx), q.c.sc.dispatch, args...).Slice()
	if err != nil {
		return m.errOr(redisErr("dispatch", err))
	}
	if reply[0] == "self" {
		s, _ := reply[1].(string)
		_, cause := decodeCause(s)
		return m.errOr(cause)
	}
	return nil
}

// Serve hands the queue's tasks, one at a time, to handle, as worker (a
// member of this coordinator), until ctx ends or the worker departs, and
// acknowledges each once handle returned. It first takes over the tasks that
// departed workers took and did not acknowledge. handle's context is ctx; a
// panic in handle crashes the worker (its task goes to another worker) and
// Serve returns the *fence.PanicError. It returns the context's cause, or
// the worker's departure cause. Serve must not be called from a handler.
func (q *Queue[T]) Serve(ctx context.Context, worker managedprocess.Member[T], handle managedprocess.Handler[T]) error {
	m, err := q.local(worker)
	if err != nil {
		return err
	}
	if ctx == nil || handle == nil {
		return fmt.Errorf("%w: Serve needs a context and a handler", fence.ErrInvalidArgument)
	}
	if m.isHandlerCtx(ctx) {
		return fmt.Errorf("%w: Serve", fence.ErrInHandler)
	}
	if err := q.ensureGroup(ctx); err != nil {
		return redisErr("serve", err)
	}
	for {
		if err := m.Err(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fence.ContextError(ctx)
		}
		tasks, err := q.next(ctx, m)
		if err != nil {
			if ctx.Err() != nil {
				return fence.ContextError(ctx)
			}
			if isNoGroup(err) { // the queue stayed empty for KeyTTL, and expired
				_ = q.ensureGroup(ctx)
			}
			time.Sleep(q.c.cfg.Heartbeat / 8)
			continue
		}
		for _, t := range tasks {
			if err := q.handle(ctx, m, t, handle); err != nil {
				return err
			}
		}
	}
}

// next returns the tasks departed workers left, or else waits a while for
// new ones; when none came, the tasks delivered to this worker that it never
// acknowledged (a delivery whose reply was lost on a broken connection, which
// go-redis's retry then skipped past).
func (q *Queue[T]) next(ctx context.Context, m *member[T]) ([]redis.XMessage, error) {
	left, err := q.c.sc.run(ctx, q.c.sc.reclaim, m.sid, q.name, 1).Slice()
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		return xmessages(left), nil
	}
	streams, err := q.c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: "workers", Consumer: m.sid, Streams: []string{q.key, ">"}, Count: 1, Block: q.c.cfg.Heartbeat / 4,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return q.pending(ctx, m)
	}
	if err != nil || len(streams) == 0 {
		return nil, err
	}
	return streams[0].Messages, nil
}

// pending returns the first task delivered to m and not acknowledged.
func (q *Queue[T]) pending(ctx context.Context, m *member[T]) ([]redis.XMessage, error) {
	streams, err := q.c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: "workers", Consumer: m.sid, Streams: []string{q.key, "0"}, Count: 1, Block: -1,
	}).Result()
	if errors.Is(err, redis.Nil) || len(streams) == 0 {
		return nil, nil
	}
	return streams[0].Messages, err
}

// handle runs handle on task t and acknowledges it; a panic crashes m.
func (q *Queue[T]) handle(ctx context.Context, m *member[T], t redis.XMessage, handle managedprocess.Handler[T]) (err error) {
	s, _ := t.Values["s"].(string)
	name, _ := t.Values["n"].(string)
	k, _ := t.Values["k"].(string)
	b, _ := t.Values["b"].(string)
	id, _ := strconv.ParseUint(s, 10, 64)
	seq, _ := strconv.ParseUint(k, 10, 64)
	var body T
	if err := q.c.cfg.Codec.Decode([]byte(b), &body); err != nil {
		q.c.cfg.Logger.Warn("redisgroup: a task that does not decode", "queue", q.name, "err", err)
	} else {
		defer func() {
			if v := recover(); v != nil {
				err = &fence.PanicError{Value: v, Stack: debug.Stack()}
				m.depart(err, false)
			}
		}()
		handle(ctx, managedprocess.NewMessage[T](m, fence.Identity{Name: name, ID: id}, seq, body))
	}
	// An acknowledgement counts once: it is retried until it lands, or the
	// worker departs (then another worker takes the task).
	departed := func() bool { return m.Err() != nil }
	m.retried("acknowledging a task of queue "+q.name, departed, q.c.sc.ack, q.name, t.ID, s)
	return nil
}

// xmessages converts XCLAIM's raw reply.
func xmessages(raw []any) []redis.XMessage {
	var out []redis.XMessage
	for _, e := range raw {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			continue
		}
		id, _ := pair[0].(string)
		fields, _ := pair[1].([]any)
		v := map[string]any{}
		for i := 0; i+1 < len(fields); i += 2 {
			f, _ := fields[i].(string)
			v[f] = fields[i+1]
		}
		out = append(out, redis.XMessage{ID: id, Values: v})
	}
	return out
}

// ensureGroup creates the queue's stream and consumer group unless they
// exist, and renews the stream's TTL.
func (q *Queue[T]) ensureGroup(ctx context.Context) error {
	if err := q.c.rdb.XGroupCreateMkStream(ctx, q.key, "workers", "0").Err(); err != nil && !isBusyGroup(err) {
		return err
	}
	return q.c.rdb.PExpire(ctx, q.key, q.c.cfg.KeyTTL).Err()
}

func isBusyGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") }

// isNoGroup reports whether err says the queue's consumer group is gone.
func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }
