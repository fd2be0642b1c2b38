package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
)

// keyTTLMargin is added to -timeout for the time to live of the run's keys:
// Redis forgets them that long after a run whose cleanup did not happen.
const keyTTLMargin = time.Minute

// stopGrace bounds how long a process whose run failed or ended waits for
// its stopped members' reports: a member waiting at a barrier reports at
// once.
const stopGrace = 2 * time.Second

// closeGrace bounds how long a process waits for its coordinator to close.
const closeGrace = 10 * time.Second

// groupConf is the group every process of a run serves members of.
type groupConf struct {
	Addr      string        `json:"addr"`
	Prefix    string        `json:"prefix"`
	Group     string        `json:"group"`
	Heartbeat time.Duration `json:"heartbeat"`
	KeyTTL    time.Duration `json:"key_ttl"`
}

// newGroupConf is the group of a new run, on a random key prefix of its
// own.
func newGroupConf(d deployFlags, group string) groupConf {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return groupConf{Addr: d.addr, Prefix: "muster-" + hex.EncodeToString(b[:]), Group: group,
		Heartbeat: d.heartbeat, KeyTTL: d.timeout + keyTTLMargin}
}

// key returns a key of the run outside the group's own, for what the
// program itself keeps in Redis.
func (gc groupConf) key(name string) string { return gc.Prefix + ":cmd:" + name }

// connect returns a client of the run's Redis server with room for members
// blocking readers, and this process's coordinator of the group. Close the
// coordinator, then the client.
func connect[T any](ctx context.Context, gc groupConf, members int, logger *slog.Logger) (*redis.Client, *redisgroup.Coordinator[T], error) {
	rdb := redis.NewClient(&redis.Options{Addr: gc.Addr, PoolSize: 2*members + 8})
	c, err := redisgroup.New(ctx, redisgroup.Config[T]{Client: rdb, Prefix: gc.Prefix, Group: gc.Group,
		Heartbeat: gc.Heartbeat, KeyTTL: gc.KeyTTL, Logger: logger})
	if err != nil {
		_ = rdb.Close()
		return nil, nil, fmt.Errorf("connecting to the group %q at %s: %w", gc.Group, gc.Addr, err)
	}
	return rdb, c, nil
}

// forgetRun deletes every key of the run: its prefix is its own.
func forgetRun(ctx context.Context, rdb *redis.Client, gc groupConf) error {
	iter := rdb.Scan(ctx, 0, gc.Prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		if err := rdb.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// proc is what a process's spawn gets: its coordinator, its Redis client
// and its cast.
type proc[T any] struct {
	c   *redisgroup.Coordinator[T]
	rdb *redis.Client
	k   *cast
}

// spawn spawns the member spec describes, its run function (if any)
// wrapped by g's cast.
func (g proc[T]) spawn(ctx context.Context, spec processgroup.Spec[T]) error {
	if spec.Run != nil {
		g.k.n++
		spec.Run = wrap(g.k, spec.Run)
	}
	if _, err := g.c.Spawn(ctx, spec); err != nil {
		return fmt.Errorf("spawning %s: %w", spec.Name, err)
	}
	return nil
}

// cast is the members of one process that have a body: each waits for the
// start, runs its body, reports the outcome on results and stays a member
// until its coordinator closes (a member whose run returns departs, and a
// relay's handler could no longer forward). Spawn them all, then begin.
type cast struct {
	start   chan struct{}
	results chan error
	n       int // members with a body

	// stopped ends the bodies (stop cancels it, with the cause) once the
	// run failed or its context ended.
	stopped context.Context
	stop    context.CancelCauseFunc
}

// newCast returns the cast of at most max members.
func newCast(max int) *cast {
	k := &cast{start: make(chan struct{}), results: make(chan error, max)}
	k.stopped, k.stop = context.WithCancelCause(context.Background())
	return k
}

// wrap is body as a member of the cast. A body that fails while the cast
// runs fails its member, and so the rounds that expect it; a body stopped
// by the cast stays a member, whatever it returned, so that the rounds the
// others are reporting on fail with their own causes.
func wrap[T any](k *cast, body processgroup.RunFunc[T]) processgroup.RunFunc[T] {
	return func(ctx context.Context, m managedprocess.Member[T]) error {
		select {
		case <-k.start:
		case <-ctx.Done():
			return nil
		}
		bctx, cancel := context.WithCancelCause(ctx)
		detach := context.AfterFunc(k.stopped, func() { cancel(context.Cause(k.stopped)) })
		err := body(bctx, m)
		detach()
		cancel(nil)
		k.results <- err
		if err != nil && k.stopped.Err() == nil {
			return err
		}
		<-ctx.Done()
		return nil
	}
}

// begin starts the bodies.
func (k *cast) begin() { close(k.start) }

// halt stops the bodies still running with cause and returns the reports of
// the pending ones that come within stopGrace: where they were waiting.
func (k *cast) halt(cause error, pending int) []error {
	k.stop(cause)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	var reports []error
	for range pending {
		select {
		case err := <-k.results:
			if err != nil {
				reports = append(reports, err)
			}
		case <-timer.C:
			return reports
		}
	}
	return reports
}
