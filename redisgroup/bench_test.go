package redisgroup_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// The benchmarks' group: each sub-benchmark run has a Redis server of its
// own.
const (
	benchPrefix = "bench"
	benchGroup  = "g"
)

// How many iterations the benchmarks run untimed before they measure,
// after the startup round.
const (
	roundWarmup    = 10
	messagesWarmup = 2 // and one XADD reference each
)

// benchSizes are the participants of the sub-benchmarks.
var benchSizes = []int{2, 4, 8}

// BenchmarkRedisRound: a redisgroup DeliveryFence round of n participants
// sending nothing (K = 0) against two plain Redis barriers with a kept
// subscription (plainBarrier), which fence nothing: the two-command one (an
// INCR, then the last arrival's PUBLISH) and a stricter one (one script
// call that counts the arrival and publishes the release). They are
// measured alternately in the same b.N loop by the same participants: this
// process and n-1 member processes on one Redis server on loopback. Every
// iteration is a round of the script barrier, one of the two-command
// barrier and one of muster, each after an untimed round of the script
// barrier (benchParticipant.iteration); each is timed here, from this
// participant's release from the untimed round to its release from the
// timed one. ns/op and µs/round are the muster round, plain-µs/round and
// cmds-µs/round the references' (the script's and the two commands'),
// x_plain and x_cmds muster's time over theirs.
func BenchmarkRedisRound(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := startBench(b, n, 0, b.N, roundWarmup)
			var plain, cmds, muster time.Duration
			for range b.N {
				g.iterate(b, &plain, &cmds, &muster)
			}
			g.finish(b)
			b.ReportMetric(float64(muster.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(perRound(muster, b.N), "µs/round")
			b.ReportMetric(perRound(plain, b.N), "plain-µs/round")
			b.ReportMetric(perRound(cmds, b.N), "cmds-µs/round")
			b.ReportMetric(float64(muster)/float64(plain), "x_plain")
			b.ReportMetric(float64(muster)/float64(cmds), "x_cmds")
		})
	}
}

// BenchmarkRedisMessages: a redisgroup DeliveryFence round of n
// participants, each sending K = 100 messages to the next participant by
// name and then arriving, against the floor of those n·K messages: as many
// XADDs of the same bodies (7 bytes; muster's entries carry its header
// fields besides) to one stream through one go-redis pipeline, from this
// process, in the same loop. b.N counts messages: it runs b.N/(n·K)
// rounds, at least one (so -benchtime 200x measures one round; 8000x
// gives steadier figures). Every round is the XADD reference (the member
// processes wait at the plain barrier meanwhile) and an iteration of
// BenchmarkRedisRound's loop (benchParticipant.iteration), of which only
// the muster round is timed, from this participant's release from the
// untimed round before it to its release from the fence. µs/round is the muster round, msgs/s its
// n·K messages over that time (ns/op its inverse), xadd-msgs/s the
// reference's rate, and x_xadd the muster round's time over the
// reference's (xadd-msgs/s over msgs/s).
func BenchmarkRedisMessages(b *testing.B) {
	const k = 100
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			rounds := max(1, b.N/(n*k))
			g := startBench(b, n, k, rounds, messagesWarmup)
			var xadd, muster time.Duration
			for range rounds {
				xadd += g.xadd(b)
				g.iterate(b, nil, nil, &muster)
			}
			g.finish(b)
			msgs := float64(n * k * rounds)
			b.ReportMetric(float64(muster.Nanoseconds())/msgs, "ns/op")
			b.ReportMetric(perRound(muster, rounds), "µs/round")
			b.ReportMetric(msgs/muster.Seconds(), "msgs/s")
			b.ReportMetric(msgs/xadd.Seconds(), "xadd-msgs/s")
			b.ReportMetric(float64(muster)/float64(xadd), "x_xadd")
		})
	}
}

// perRound is d over rounds, in µs.
func perRound(d time.Duration, rounds int) float64 {
	return float64(d) / float64(time.Microsecond) / float64(rounds)
}

// bench is a running benchmark: its Redis server, this process's
// participant p0 and the member processes p1 … p(n-1).
type bench struct {
	n, k  int
	addr  string
	ctx   context.Context // ends when a member process fails
	abort context.CancelCauseFunc
	p     *benchParticipant
	rdb   *redis.Client // the references' client
	procs []*benchProcess
}

// startBench starts a Redis server, this process's participant and n-1
// member processes, each running warmup+rounds iterations (a round of each
// reference barrier, then k messages and a fence round); it runs the
// startup round and the warm-up iterations, and resets the timer.
// Everything stops when b ends.
func startBench(b *testing.B, n, k, rounds, warmup int) *bench {
	b.Helper()
	srv := redisserver.Start(b)
	g := &bench{n: n, k: k, addr: srv.Addr}
	g.ctx, g.abort = context.WithCancelCause(context.Background())
	b.Cleanup(func() { g.abort(nil) })
	c, err := redisgroup.New(g.ctx, redisgroup.Config[int]{Client: srv.Client(b, 8), Prefix: benchPrefix,
		Group: benchGroup, Heartbeat: 400 * time.Millisecond}) // the member processes' heartbeat
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	m, err := c.Spawn(g.ctx, processgroup.Spec[int]{Name: participantName(0), Groups: []string{benchGroup}})
	if err != nil {
		b.Fatal(err)
	}
	g.rdb = srv.Client(b, 1)
	if g.p, err = newParticipant(g.ctx, g.rdb, m, benchPrefix, benchGroup, 0, n, k); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.p.close)
	for i := 1; i < n; i++ {
		g.procs = append(g.procs, g.startMember(b, i, warmup+rounds))
	}
	g.timed(b, g.p.plain.round) // every member is registered
	for range warmup {
		if k > 0 {
			g.xadd(b)
		}
		g.iterate(b, nil, nil, nil)
	}
	b.ResetTimer()
	return g
}

// iterate runs one iteration of the participants' loop, adding the time of
// its timed rounds to those of plain, cmds and muster that are not nil.
func (g *bench) iterate(b *testing.B, plain, cmds, muster *time.Duration) {
	for _, s := range g.p.iteration(plain, cmds, muster) {
		d := g.timed(b, s.run)
		if s.timed != nil {
			*s.timed += d
		}
	}
}

// timed runs step and returns how long it took; its failure fails b.
func (g *bench) timed(b *testing.B, step func(context.Context) error) time.Duration {
	start := time.Now()
	if err := step(g.ctx); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// xadd is the XADD reference of one round: the n·k bodies the
// participants send in a round, appended to one stream through one
// pipeline. It returns the pipeline's time; deleting the stream afterwards
// is untimed.
func (g *bench) xadd(b *testing.B) time.Duration {
	const stream = benchPrefix + ":xadd"
	start := time.Now()
	pipe := g.rdb.Pipeline()
	for range g.n {
		for j := range g.k {
			pipe.XAdd(g.ctx, &redis.XAddArgs{Stream: stream, Values: []any{"b", strconv.Itoa(benchBody(j))}})
		}
	}
	if _, err := pipe.Exec(g.ctx); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if err := g.rdb.Del(g.ctx, stream).Err(); err != nil {
		b.Fatal(err)
	}
	return d
}

// finish stops the timer and waits for the member processes to exit after
// their last iteration, which must succeed.
func (g *bench) finish(b *testing.B) {
	b.StopTimer()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for _, p := range g.procs {
		select {
		case <-p.done:
			if p.err != nil {
				b.Fatalf("member process %s: %v", p.name, p.err)
			}
		case <-timeout.C:
			b.Fatalf("member process %s did not exit after its last round", p.name)
		}
	}
}

// benchProcess is a member process a benchmark started.
type benchProcess struct {
	name  string
	stdin io.WriteCloser // held open while the process should live
	done  chan struct{}  // closed once it exited, with err
	err   error
}

// startMember starts member process p<i> in role participant for
// iterations iterations. It is killed when b ends unless it exited; a
// failure aborts the benchmark's context.
func (g *bench) startMember(b *testing.B, i, iterations int) *benchProcess {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	p := &benchProcess{name: participantName(i), done: make(chan struct{})}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=participant", addrEnv+"="+g.addr, prefixEnv+"="+benchPrefix,
		groupEnv+"="+benchGroup, nameEnv+"="+p.name, argEnv+"="+strconv.Itoa(iterations),
		benchNEnv+"="+strconv.Itoa(g.n), benchKEnv+"="+strconv.Itoa(g.k))
	cmd.Stderr = os.Stderr
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		if p.err != nil {
			g.abort(fmt.Errorf("member process %s: %w", p.name, p.err))
		}
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}
