package redisgroup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Coordinator serves members of one Redis-backed group in this process. Every
// process of a deployment has its own, with the same Config.Prefix and
// Config.Group; together they are the group, whose state is in Redis. Its
// methods are safe for concurrent use.
type Coordinator[T any] struct {
	cfg    Config[T]
	rdb    redis.UniversalClient
	sc     *scripts
	cid    string // this coordinator's id: its wake stream
	watch  *watcher
	spawns atomic.Uint64 // numbers the registrations, as their tokens

	ctx    context.Context // cancelled by Close, with fence.ErrClosed
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	members  map[uint64]*member[T]
	failures []error
	closed   bool
}

// New connects to the group cfg describes and returns its coordinator for
// this process. It blocks while it reaches Redis, under ctx. Errors:
// fence.ErrInvalidArgument or fence.ErrInvalidName for a bad Config,
// ErrRedis when the server cannot be reached.
func New[T any](ctx context.Context, cfg Config[T]) (*Coordinator[T], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	base := cfg.base()
	sc := newScripts(cfg.Client, base, cfg.KeyTTL)
	if err := sc.load(ctx); err != nil {
		return nil, redisErr("connect", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	c := &Coordinator[T]{
		cfg: cfg, rdb: cfg.Client, cid: hex.EncodeToString(id[:]), sc: sc,
		members: map[uint64]*member[T]{},
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	c.watch = newWatcher(c.rdb, c.sc, base, c.cid, cfg.Heartbeat/4, cfg.Logger.Warn)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.watch.run(c.ctx) }()
	go func() { defer c.wg.Done(); c.heartbeats() }()
	return c, nil
}

// Spawn starts a member of the group in this process, as
// processgroup.Coordinator.Spawn does: spec.Groups may name only this
// coordinator's group (or be empty, for a member that only exchanges
// messages). The member's name is unique in the group across every
// process. Errors: fence.ErrInvalidName, fence.ErrDuplicateName,
// fence.ErrUnknownGroup, fence.ErrInvalidArgument, fence.ErrClosed, ErrRedis.
func (c *Coordinator[T]) Spawn(ctx context.Context, spec processgroup.Spec[T]) (managedprocess.Member[T], error) {
	if ctx == nil || spec.Window < 0 {
		return nil, fmt.Errorf("%w: redisgroup: Spawn needs a context and a window ≥ 0", fence.ErrInvalidArgument)
	}
	if err := validName("member", spec.Name); err != nil {
		return nil, err
	}
	join := false
	for _, g := range spec.Groups {
		if g != c.cfg.Group {
			return nil, fmt.Errorf("%w: %q (this coordinator serves %q)", fence.ErrUnknownGroup, g, c.cfg.Group)
		}
		join = true
	}
	window := spec.Window
	if window == 0 {
		window = c.cfg.Window
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, fence.ErrClosed
	}
	token := c.cid + ":" + strconv.FormatUint(c.spawns.Add(1), 10)
	reply, err := c.sc.run(ctx, c.sc.register, token, spec.Name, window, c.cid,
		c.cfg.Heartbeat.Milliseconds(), flag(join), flag(c.cfg.CompleteForSurvivors), c.cfg.Codec.Name()).Slice()
	if err != nil {
		return nil, redisErr("register", err)
	}
	switch reply[0] {
	case "dup":
		return nil, fmt.Errorf("%w: %q", fence.ErrDuplicateName, spec.Name)
	case "conf":
		return nil, fmt.Errorf("%w: redisgroup: the group's %v (CompleteForSurvivors or Codec's name) differs from this coordinator's",
			fence.ErrInvalidArgument, reply[1])
	}
	m := newMember(c, fence.Identity{Name: spec.Name, ID: uint64(reply[1].(int64))}, spec)
	if !c.add(m) {
		m.depart(fence.ErrClosed, true)
		return nil, fence.ErrClosed
	}
	m.start(spec.Run)
	return m, nil
}

func (c *Coordinator[T]) add(m *member[T]) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.members[m.id.ID] = m
	return true
}

// departed records m's failure, if it failed.
func (c *Coordinator[T]) departed(m *member[T], failure error) {
	if failure == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, &fence.MemberError{Member: m.id, Err: failure})
}

// forget drops m once its reader stopped: its heartbeat stops with it.
func (c *Coordinator[T]) forget(m *member[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.members, m.id.ID)
}

// Wait blocks until every member this coordinator spawned with a run
// function has returned from it and its reader has exited, like
// errgroup.Group.Wait (members with only a handler run until Close), and
// returns the members' failures joined with errors.Join, each a
// *fence.MemberError. If ctx ends first it returns the context's error
// joined with the failures so far.
func (c *Coordinator[T]) Wait(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil context", fence.ErrInvalidArgument)
	}
	for {
		c.mu.Lock()
		var m *member[T]
		for _, x := range c.members {
			if x.hasRun {
				m = x
				break
			}
		}
		failures := errors.Join(c.failures...)
		c.mu.Unlock()
		if m == nil {
			return failures
		}
		select {
		case <-m.Done():
		case <-ctx.Done():
			return errors.Join(fence.ContextError(ctx), failures)
		}
	}
}

// Close stops every member this coordinator spawned (not failures: their
// departure cause is fence.ErrClosed), waits for their goroutines under ctx,
// and returns the members' failures, joined. It does not close Config.Client.
func (c *Coordinator[T]) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	ms := make([]*member[T], 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, m)
	}
	c.mu.Unlock()
	for _, m := range ms {
		m.stop(fence.ErrClosed)
	}
	for _, m := range ms {
		select {
		case <-m.Done():
		case <-ctx.Done():
		}
	}
	c.watch.stop()
	c.cancel(fence.ErrClosed)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.failures...)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func validName(what, name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("%w: %s name %q", fence.ErrInvalidName, what, name)
	}
	return nil
}
