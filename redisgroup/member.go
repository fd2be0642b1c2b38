package redisgroup

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// handlerKey marks a handler's context; its value is the member.
type handlerKey struct{}

// member is a member of a Redis-backed group, served by this process. It
// implements managedprocess.Member: its sends are appended to the
// recipients' inbox streams, its arrivals are scripts, and its reader hands
// its own inbox to its handler.
type member[T any] struct {
	c       *Coordinator[T]
	id      fence.Identity
	sid     string // id.ID in decimal, as the group's keys hold it
	inbox   string
	handler managedprocess.Handler[T]
	hasRun  bool

	runCtx    context.Context // cancelled with the departure cause
	cancelRun context.CancelCauseFunc
	hctx      context.Context // the handlers' context
	done      chan struct{}   // closed when departed and the reader stopped

	// The send side: sendMu orders the member's sends (its stream) and
	// guards what follows; the flusher appends the outbox.
	sendMu      sync.Mutex
	seq         uint64
	cleanSeq    uint64           // every message up to it was handled (see sentClean); 0 before any send
	links       map[string]*link // by recipient name
	byID        map[uint64]*link
	outbox      []pending
	inflight    bool          // the flusher runs a batch
	flushed     chan struct{} // closed and replaced when the outbox emptied
	kick        chan struct{} // wakes the flusher
	flusherDone chan struct{}

	mu       sync.Mutex
	err      error // departure cause
	dropping bool  // the departure consumed the inbox: the reader handles nothing more
	graceful bool
	arrivals map[string]*arrival // barrier name → arrival not yet collected
	tokens   uint64              // the last token issued, to an arrival, join or leave
	retry    map[string]uint64   // barrier name → token of an arrival whose reply was lost
	fences   uint64
	handled  string        // inbox entry the reader handled last
	progress chan struct{} // closed and replaced when handled moves

	inHandler atomic.Bool
	afterMu   sync.Mutex
	after     []func()
	handling  atomic.Pointer[managedprocess.Handling]
	nHandled  atomic.Uint64
	nDropped  atomic.Uint64
}

func newMember[T any](c *Coordinator[T], id fence.Identity, spec processgroup.Spec[T]) *member[T] {
	m := &member[T]{
		c: c, id: id, sid: strconv.FormatUint(id.ID, 10), handler: spec.Handler, hasRun: spec.Run != nil,
		done: make(chan struct{}), links: map[string]*link{}, byID: map[uint64]*link{},
		flushed: make(chan struct{}), kick: make(chan struct{}, 1), flusherDone: make(chan struct{}),
		arrivals: map[string]*arrival{}, retry: map[string]uint64{}, handled: "0-0", progress: make(chan struct{}),
	}
	m.inbox = c.cfg.base() + ":in:" + m.sid
	m.runCtx, m.cancelRun = context.WithCancelCause(c.ctx)
	m.hctx = context.WithValue(m.runCtx, handlerKey{}, m)
	return m
}

// start runs the reader and, if there is one, the run function.
func (m *member[T]) start(run processgroup.RunFunc[T]) {
	m.c.wg.Add(2)
	go func() { defer m.c.wg.Done(); m.read() }()
	go func() { defer m.c.wg.Done(); m.flusher() }()
	if run == nil {
		return
	}
	m.c.wg.Add(1)
	go func() {
		defer m.c.wg.Done()
		cause, graceful := m.call(run)
		if m.runCtx.Err() == nil {
			m.depart(cause, graceful)
		}
	}()
}

// call runs run and returns the member's departure cause, and whether the
// departure is graceful (run returned nil).
func (m *member[T]) call(run processgroup.RunFunc[T]) (cause error, graceful bool) {
	returned := false
	defer func() {
		if v := recover(); v != nil {
			cause, graceful = &fence.PanicError{Value: v, Stack: debug.Stack()}, false
		} else if !returned {
			cause, graceful = fence.ErrGoexit, false
		}
	}()
	err := run(m.runCtx, m)
	returned = true
	if err != nil {
		return fmt.Errorf("%w: %w", fence.ErrExited, err), false
	}
	return fence.ErrExited, true
}

// depart records the member's departure with cause, in Redis and here, once,
// after appending what it sent before. A graceful departure lets the reader
// handle what is queued first; any other consumes the inbox unhandled. A
// graceful departure whose sends were not all confirmed appended first
// (Redis did not answer within a heartbeat interval) is a failure instead:
// what is left queued may be dropped, so its rounds must not count on it.
func (m *member[T]) depart(cause error, graceful bool) {
	if err := m.flushBounded(); err != nil && graceful && m.c.ctx.Err() == nil {
		cause, graceful = fmt.Errorf("%w: its last sends were not confirmed appended: %w", fence.ErrExited, err), false
	}
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err, m.graceful, m.dropping = cause, graceful, !graceful
	m.mu.Unlock()
	kind, msg := kindOf(cause)
	err := m.c.sc.run(context.WithoutCancel(m.c.ctx), m.c.sc.depart, m.sid, kind, msg, flag(graceful), flag(!graceful)).Err()
	if err != nil {
		m.c.cfg.Logger.Warn("redisgroup: recording a departure", "member", m.id, "err", err)
	}
	m.cancelRun(cause)
	var failure error
	if !graceful && cause != fence.ErrClosed {
		failure = cause
	}
	m.c.departed(m, failure)
	m.poke()
}

// stop departs the member gracefully with cause (a close): its inbox is
// consumed unhandled, as for a failure, but it fails no round.
func (m *member[T]) stop(cause error) {
	_ = m.flushBounded() // what a closed member could not append is dropped: it fails no round
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		m.poke()
		return
	}
	m.err, m.graceful, m.dropping = cause, true, true
	m.mu.Unlock()
	kind, msg := kindOf(cause)
	err := m.c.sc.run(context.WithoutCancel(m.c.ctx), m.c.sc.depart, m.sid, kind, msg, "1", "1").Err()
	if err != nil {
		m.c.cfg.Logger.Warn("redisgroup: recording a departure", "member", m.id, "err", err)
	}
	m.cancelRun(cause)
	m.c.departed(m, nil)
	m.poke()
}

// lost departs the member here only: another process departed it, or Redis
// lost it (cause).
func (m *member[T]) lost(cause error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return
	}
	m.err, m.dropping = cause, true
	m.mu.Unlock()
	m.cancelRun(cause)
	m.c.departed(m, cause)
	m.poke()
}

// flushBounded appends what the member sent before it departs, waiting at
// most a heartbeat for Redis. It returns why it stopped waiting, if it did.
func (m *member[T]) flushBounded() error {
	ctx, cancel := context.WithTimeout(m.c.ctx, m.c.cfg.Heartbeat)
	defer cancel()
	return m.flush(ctx)
}

// poke appends a stop entry to the inbox, so that the reader, blocked on
// it, stops once it handled what came before.
func (m *member[T]) poke() {
	ctx := context.WithoutCancel(m.c.ctx)
	m.c.rdb.XAdd(ctx, &redis.XAddArgs{Stream: m.inbox, Values: []any{"x", "1"}})
	m.c.rdb.PExpire(ctx, m.inbox, time.Minute)
}

func (m *member[T]) ID() fence.Identity    { return m.id }
func (m *member[T]) String() string        { return m.id.String() }
func (m *member[T]) Done() <-chan struct{} { return m.done }
func (m *member[T]) isHandlerCtx(ctx context.Context) bool {
	return ctx.Value(handlerKey{}) == m
}

// Err returns the member's departure cause, or nil while it runs.
func (m *member[T]) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Join makes the member a member of the group (the coordinator's only one).
func (m *member[T]) Join(group string) error {
	return m.membership(group, m.c.sc.join)
}

// Leave removes the member from the group gracefully.
func (m *member[T]) Leave(group string) error {
	return m.membership(group, m.c.sc.leave)
}

func (m *member[T]) membership(group string, s *step) error {
	if group != m.c.cfg.Group {
		return fmt.Errorf("%w: %q", fence.ErrUnknownGroup, group)
	}
	if err := m.Err(); err != nil {
		return err
	}
	if err := m.flush(m.runCtx); err != nil {
		return m.errOr(err)
	}
	m.mu.Lock()
	m.tokens++
	token := m.tokens
	m.mu.Unlock()
	reply, err := m.c.sc.run(m.runCtx, s, m.sid, token).Text()
	switch {
	case err != nil:
		return redisErr("membership", err)
	case reply == "gone":
		return m.errOr(ErrStateLost)
	case reply == "notmember":
		return fmt.Errorf("%w: %s in %q", fence.ErrNotMember, m.id, group)
	}
	return nil
}

// callErr is the error of a call to Redis that failed with err: the
// member's departure cause, the context's, or err as an ErrRedis.
func (m *member[T]) callErr(ctx context.Context, op string, err error) error {
	if cerr := fence.ContextError(ctx); cerr != nil {
		return m.errOr(cerr)
	}
	return m.errOr(redisErr(op, err))
}

// retried runs script s until it succeeds, the coordinator closes or
// moot reports true: for a step that must land and that counts once however
// often it runs. what names it in the log.
func (m *member[T]) retried(what string, moot func() bool, s *step, args ...any) {
	for {
		err := m.c.sc.run(context.WithoutCancel(m.c.ctx), s, args...).Err()
		if err == nil || m.c.ctx.Err() != nil || moot() {
			return
		}
		m.c.cfg.Logger.Warn("redisgroup: "+what, "member", m.id, "err", err)
		time.Sleep(m.c.cfg.Heartbeat / 8)
	}
}

// errOr returns the departure cause, or err while the member runs.
func (m *member[T]) errOr(err error) error {
	if cause := m.Err(); cause != nil {
		return cause
	}
	return err
}

// RunAfterCurrentHandler schedules fn to run after the current handler
// returns, before its message counts as handled.
func (m *member[T]) RunAfterCurrentHandler(ctx context.Context, fn func()) error {
	if ctx == nil || !m.isHandlerCtx(ctx) || !m.inHandler.Load() {
		return fmt.Errorf("%w: RunAfterCurrentHandler", fence.ErrNotInHandler)
	}
	m.afterMu.Lock()
	defer m.afterMu.Unlock()
	m.after = append(m.after, fn)
	return nil
}

// Snapshot returns what this process knows of the member, without asking
// Redis: a stream's Delivered is what a script last read, which may lag.
func (m *member[T]) Snapshot() managedprocess.State {
	st := managedprocess.State{ID: m.id, Handling: m.handling.Load(), Handled: m.nHandled.Load(),
		Dropped: m.nDropped.Load(), Err: m.Err()}
	m.sendMu.Lock()
	st.Leading = m.seq
	for _, l := range m.byID {
		st.Streams = append(st.Streams, managedprocess.StreamState{
			Recipient: fence.Identity{Name: l.name, ID: l.id}, Sent: l.sent, Delivered: min(l.done, l.sent)})
	}
	m.sendMu.Unlock()
	return st
}
