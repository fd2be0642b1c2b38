package tests

// The repro suite: workers send bursts of markers to a slow
// consumer and meet it at a barrier; when the consumer's barrier returns every
// marker of the iteration must have been handled. The runner is
// internal/repro; these tests control the interleaving through its hooks.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/repro"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reproBound bounds one repro run.
const reproBound = 15 * time.Second

func reproCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(withWire(context.Background()), reproBound)
	t.Cleanup(cancel)
	return ctx
}

// arrivalGate holds the consumer's handler on every marker of an iteration
// until all members (the workers and the consumer) have arrived at that
// iteration's barrier: at that instant the consumer has handled none of the
// iteration's markers, so the round can only release by draining them.
type arrivalGate struct {
	ctx     context.Context
	members int

	mu    sync.Mutex
	count []int
	open  []chan struct{}
}

func newArrivalGate(ctx context.Context, workers, iterations int) *arrivalGate {
	g := &arrivalGate{ctx: ctx, members: workers + 1, count: make([]int, iterations), open: make([]chan struct{}, iterations)}
	for i := range g.open {
		g.open[i] = make(chan struct{})
	}
	return g
}

// arrived is the OnArrive hook.
func (g *arrivalGate) arrived(_, it int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.count[it]++
	if g.count[it] == g.members {
		close(g.open[it])
	}
}

// hold is the Gate hook; it gives up when the test's context ends so that a
// broken run fails instead of hanging.
func (g *arrivalGate) hold(mk repro.Marker) {
	select {
	case <-g.open[mk.Iteration]:
	case <-g.ctx.Done():
	}
}

// gated returns cfg with the arrival gate installed.
func gated(ctx context.Context, cfg repro.Config) repro.Config {
	g := newArrivalGate(ctx, cfg.Workers, cfg.Iterations)
	cfg.Gate, cfg.OnArrive = g.hold, g.arrived
	cfg.InProcess = true // the workers' arrivals call the hook: they are goroutines
	return cfg
}

func requireFenced(t *testing.T, rep repro.Report, messages int) {
	t.Helper()
	assert.True(t, rep.OK, "first missing %v", rep.FirstMissing)
	assert.Zero(t, rep.Missing, "markers unhandled at release, first: %v", rep.FirstMissing)
	assert.Zero(t, rep.MissingIterations)
	assert.Zero(t, rep.Duplicates)
	assert.Zero(t, rep.OutOfOrder)
	assert.Zero(t, rep.Lost)
	assert.Equal(t, messages, rep.Messages)
	assert.Equal(t, messages, rep.Handled)
	require.Len(t, rep.PerIteration, rep.Iterations)
	for _, it := range rep.PerIteration {
		require.Zero(t, it.Missing, "iteration %d", it.Index)
	}
}

// 64 iterations × 2 workers × bursts of 8 = 1024 markers, with the consumer
// held behind every barrier (gated) or merely slow (handler delay): a fence
// releases no iteration early.
func TestReproSuite(t *testing.T) {
	for _, mode := range []fence.Mode{fence.DeliveryFence, fence.ProcessingFence} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Run("gated", func(t *testing.T) {
				ctx := reproCtx(t)
				cfg := gated(ctx, repro.Config{Mode: mode, Workers: 2, Iterations: 64, Burst: 8})
				rep, err := repro.Run(ctx, cfg)
				require.NoError(t, err)
				requireFenced(t, rep, 1024)
				for _, it := range rep.PerIteration {
					// The gate works: the consumer was 16 markers behind
					// every time it arrived, and the fence caught up.
					require.Equal(t, 16, it.Pending, "iteration %d", it.Index)
				}
			})
			for _, inproc := range []bool{false, true} {
				t.Run(fmt.Sprintf("slow handler/inproc=%v", inproc), func(t *testing.T) {
					ctx := reproCtx(t)
					rep, err := repro.Run(ctx, repro.Config{Mode: mode, Workers: 2, Iterations: 64, Burst: 8,
						HandlerDelay: 20 * time.Microsecond, InProcess: inproc})
					require.NoError(t, err)
					requireFenced(t, rep, 1024)
				})
			}
		})
	}
}

// Handler chains that start in child processes: three child workers send
// through three relays in the program; at every release of a
// ProcessingFence the consumer has every marker of the iteration.
func TestReproChainsFromChildren(t *testing.T) {
	rep, err := repro.Run(reproCtx(t), repro.Config{Mode: fence.ProcessingFence, Workers: 3, Iterations: 64, Burst: 8, Hops: 3})
	require.NoError(t, err)
	requireFenced(t, rep, 1536)
}

// The negative control: the same check under a Rendezvous, with the consumer
// held until its own barrier for iteration 0 has returned, finds the whole
// iteration missing. This proves the check can fail; the run still ends
// cleanly with every marker handled late rather than lost.
func TestReproRendezvousNegativeControl(t *testing.T) {
	ctx := reproCtx(t)
	released := make(chan struct{})
	var (
		once        sync.Once
		seenMissing = -1
	)
	rep, err := repro.Run(ctx, repro.Config{
		Mode: fence.Rendezvous, Workers: 2, Iterations: 64, Burst: 8,
		Gate: func(mk repro.Marker) {
			if mk.Iteration != 0 {
				return
			}
			select {
			case <-released:
			case <-ctx.Done():
			}
		},
		OnRelease: func(it, missing int) {
			if it == 0 {
				seenMissing = missing // read after Run returned
				once.Do(func() { close(released) })
			}
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 16, seenMissing, "the consumer's check at the release of iteration 0")
	require.Len(t, rep.PerIteration, 64)
	assert.Equal(t, 16, rep.PerIteration[0].Missing)
	assert.GreaterOrEqual(t, rep.Missing, 16)
	assert.Positive(t, rep.MissingIterations)
	assert.Len(t, rep.FirstMissing, repro.MaxFirstMissing)
	assert.Equal(t, repro.Marker{Worker: 0, Iteration: 0, Seq: 0}, rep.FirstMissing[0])
	assert.False(t, rep.OK)
	assert.Equal(t, 1024, rep.Handled, "late markers are handled by the end")
	assert.Zero(t, rep.Lost)
	assert.Zero(t, rep.Duplicates)
	assert.Zero(t, rep.OutOfOrder)
}

// One marker per worker per iteration, 128 iterations: at every release of a
// DeliveryFence the consumer has both, though it had neither when everyone
// arrived.
func TestReproOneMarkerPerWorker(t *testing.T) {
	ctx := reproCtx(t)
	cfg := gated(ctx, repro.Config{Mode: fence.DeliveryFence, Workers: 2, Iterations: 128, Burst: 1})
	rep, err := repro.Run(ctx, cfg)
	require.NoError(t, err)
	requireFenced(t, rep, 256)
	for _, it := range rep.PerIteration {
		require.Equal(t, 2, it.Pending, "iteration %d", it.Index)
	}
}
