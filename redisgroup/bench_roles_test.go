package redisgroup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// The environment a benchmark's member process reads besides the tests'
// (roleEnv, addrEnv, …): see (*bench).startMember in bench_test.go.
const (
	benchNEnv = "REDISGROUP_BENCH_N" // participants, the benchmark process's included
	benchKEnv = "REDISGROUP_BENCH_K" // messages each participant sends per round
)

// benchBarrier is the redisgroup barrier the benchmarks' rounds meet at.
const benchBarrier = "round"

// benchRoles are the roles of the benchmarks' member processes.
var benchRoles = map[string]func(ctx context.Context, m managedprocess.Member[int], group string, arg int) error{
	// participant is one participant of BenchmarkRedisRound or
	// BenchmarkRedisMessages (a benchParticipant): after the startup round
	// of the plain barrier it runs arg iterations (iteration), and returns
	// nil. It returns an error early when ctx
	// ends or its stdin closes: the benchmark process holds it open, so that
	// this process ends with it even when it is killed.
	"participant": runParticipant,
}

func runParticipant(ctx context.Context, m managedprocess.Member[int], group string, iterations int) error {
	fmt.Println("ready")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel(errors.New("the benchmark process closed stdin"))
	}()
	n, errN := strconv.Atoi(os.Getenv(benchNEnv))
	k, errK := strconv.Atoi(os.Getenv(benchKEnv))
	i, errI := strconv.Atoi(strings.TrimPrefix(m.ID().Name, "p"))
	if err := errors.Join(errN, errK, errI); err != nil {
		return fmt.Errorf("benchmark participant %s: %w", m.ID().Name, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(addrEnv)})
	defer rdb.Close()
	p, err := newParticipant(ctx, rdb, m, os.Getenv(prefixEnv), group, i, n, k)
	if err != nil {
		return err
	}
	defer p.close()
	if err := p.plain.round(ctx); err != nil { // the startup round
		return err
	}
	for range iterations {
		for _, step := range p.iteration(nil, nil, nil) {
			if err := step.run(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchParticipant is one participant of a benchmark, in a member process
// or in the benchmark process: its member of the redisgroup group and its
// subscriptions to the two reference barriers. Participants are named p0 …
// p(n-1); each sends to the next one in that ring.
type benchParticipant struct {
	m     managedprocess.Member[int]
	group string
	next  string
	k     int
	plain *plainBarrier // one script per arrival
	cmds  *plainBarrier // two commands: INCR, then the last one's PUBLISH
}

// newParticipant returns participant i of n, whose member is m, once it
// has subscribed to the plain barrier's releases under prefix with rdb.
// Its plain rounds fail once ctx ends.
func newParticipant(ctx context.Context, rdb *redis.Client, m managedprocess.Member[int], prefix, group string, i, n, k int) (*benchParticipant, error) {
	plain, err := newPlainBarrier(ctx, rdb, prefix+":plain:"+group, n, false)
	if err != nil {
		return nil, err
	}
	cmds, err := newPlainBarrier(ctx, rdb, prefix+":cmds:"+group, n, true)
	if err != nil {
		plain.close()
		return nil, err
	}
	return &benchParticipant{m: m, group: group, next: participantName((i + 1) % n), k: k, plain: plain, cmds: cmds}, nil
}

func (p *benchParticipant) close() {
	p.plain.close()
	p.cmds.close()
}

// A step is one round of an iteration of the benchmarks.
type step struct {
	run   func(context.Context) error
	timed *time.Duration // where the benchmark process adds its time; nil: untimed
}

// iteration is one iteration of the benchmarks' loop, the same in every
// participant: a round of the one-script barrier, one of the two-command
// barrier and one of muster (a DeliveryFence round before which the
// participant sends k messages), each timed into plain, cmds and muster
// (any may be nil) and each after an untimed round of the one-script
// barrier. So every timed round starts with the participants released
// together, in the same way: a round's time does not depend on how the one
// before it released them.
func (p *benchParticipant) iteration(plain, cmds, muster *time.Duration) []step {
	sync := step{run: p.plain.round}
	return []step{sync, {p.plain.round, plain}, sync, {p.cmds.round, cmds}, sync, {p.fenceRound, muster}}
}

// fenceRound sends k messages to the next participant and then meets every
// participant at a DeliveryFence round of the group: when it returns,
// everything any participant sent before arriving has been handled.
func (p *benchParticipant) fenceRound(ctx context.Context) error {
	for j := range p.k {
		if err := p.m.Send(ctx, p.next, benchBody(j)); err != nil {
			return err
		}
	}
	_, err := p.m.Barrier(ctx, p.group, benchBarrier, fence.DeliveryFence)
	return err
}

func participantName(i int) string { return "p" + strconv.Itoa(i) }

// benchBody is the j-th message a participant sends in a round: seven
// digits, so seven bytes in JSON.
func benchBody(j int) int { return 1_000_000 + j }

// plainBarrier is a reference barrier of the benchmarks, of n participants
// on plain Redis commands: it fences nothing and carries no messages. Each
// participant subscribes to the release channel once; per round it counts
// itself on the round's key and, as the n-th arrival, publishes the round's
// number on the channel; then it waits for that message. It counts either
// with one script call (plainArrive), or with two commands: an INCR, and
// then the n-th arrival's PUBLISH (commands set): a second round trip, and
// no cleanup.
type plainBarrier struct {
	rdb      *redis.Client
	ps       *redis.PubSub
	stop     func() bool // stops closing ps when the context ends
	n        int
	commands bool   // INCR and PUBLISH instead of plainArrive
	prefix   string // of the rounds' counter keys
	ch       string // the release channel
	r        int    // the last round arrived at
}

// plainArrive(counter, channel; n, round) counts an arrival on the
// round's counter and, at the n-th, deletes it and publishes the release.
var plainArrive = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
end
return n
`)

// newPlainBarrier subscribes to the release channel of the plain barrier
// of n participants under prefix and waits for the subscription's
// confirmation, so that no release of a round it arrives at can pass it.
// Once ctx ends the subscription closes and every round fails.
func newPlainBarrier(ctx context.Context, rdb *redis.Client, prefix string, n int, commands bool) (*plainBarrier, error) {
	ch := prefix + ":rel"
	ps := rdb.Subscribe(ctx, ch)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("plain barrier: subscribing: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	return &plainBarrier{rdb: rdb, ps: ps, stop: stop, n: n, commands: commands, prefix: prefix + ":r:", ch: ch}, nil
}

// round arrives at the next round and waits for its release.
func (p *plainBarrier) round(ctx context.Context) error {
	p.r++
	r := strconv.Itoa(p.r)
	if err := p.arrive(ctx, r); err != nil {
		return p.fail(ctx, "arriving", err)
	}
	// Releases come in order, and round r's is the first this participant
	// has not read: it cannot be released before this arrival.
	msg, err := p.ps.ReceiveMessage(ctx)
	if err != nil {
		return p.fail(ctx, "waiting", err)
	}
	if msg.Payload != r {
		return fmt.Errorf("plain barrier: waiting for round %s's release, read round %s's", r, msg.Payload)
	}
	return nil
}

// arrive counts this participant at round r, publishing the release if it
// is the last.
func (p *plainBarrier) arrive(ctx context.Context, r string) error {
	if !p.commands {
		return plainArrive.Run(ctx, p.rdb, []string{p.prefix + r, p.ch}, p.n, r).Err()
	}
	n, err := p.rdb.Incr(ctx, p.prefix+r).Result()
	if err != nil || n != int64(p.n) {
		return err
	}
	return p.rdb.Publish(ctx, p.ch, r).Err()
}

func (p *plainBarrier) fail(ctx context.Context, op string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	return fmt.Errorf("plain barrier: %s at round %d: %w", op, p.r, err)
}

func (p *plainBarrier) close() {
	p.stop()
	_ = p.ps.Close()
}
