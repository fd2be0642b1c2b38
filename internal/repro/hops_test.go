package repro

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hopsCtx bounds one run of a hops test.
func hopsCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// releaseGate holds each marker of an iteration at the consumer until the
// consumer's own barrier for that iteration returned: at every release it
// has recorded none of the iteration's markers. Only a fence that does not
// wait for the consumer to handle them can release; a ProcessingFence would
// wait for ever.
func releaseGate(ctx context.Context, cfg Config) Config {
	released := make([]chan struct{}, cfg.Iterations)
	for i := range released {
		released[i] = make(chan struct{})
	}
	cfg.Gate = func(mk Marker) {
		select {
		case <-released[mk.Iteration]:
		case <-ctx.Done():
		}
	}
	cfg.OnRelease = func(it, _ int) { close(released[it]) }
	return cfg
}

// arrivalGate holds each marker of an iteration at the consumer until the
// workers and the consumer arrived at that iteration's barrier: the consumer
// arrives having handled none of them, so the round can only release by
// draining them through every hop.
func arrivalGate(ctx context.Context, cfg Config) Config {
	var mu sync.Mutex
	count := make([]int, cfg.Iterations)
	open := make([]chan struct{}, cfg.Iterations)
	for i := range open {
		open[i] = make(chan struct{})
	}
	cfg.OnArrive = func(_, it int) {
		mu.Lock()
		defer mu.Unlock()
		if count[it]++; count[it] == cfg.Workers+1 {
			close(open[it])
		}
	}
	cfg.Gate = func(mk Marker) {
		select {
		case <-open[mk.Iteration]:
		case <-ctx.Done():
		}
	}
	return cfg
}

// Relays are members: every mode completes with one worker and with several,
// and every marker reaches the consumer once, in order.
func TestRunHopsCompletes(t *testing.T) {
	for _, mode := range []fence.Mode{fence.Rendezvous, fence.DeliveryFence, fence.ProcessingFence} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/%d workers", mode, workers), func(t *testing.T) {
				cfg := Config{Mode: mode, Workers: workers, Iterations: 8, Burst: 4, Hops: 2, HandlerDelay: 20 * time.Microsecond}
				rep, err := Run(hopsCtx(t), cfg)
				require.NoError(t, err)
				assert.Equal(t, 2, rep.Hops)
				assert.Equal(t, workers+3, rep.Members)
				assert.Equal(t, workers*32, rep.Handled, "every marker reaches the consumer by the end")
				assert.False(t, rep.Violations(), "%+v", rep)
				require.Len(t, rep.PerIteration, 8)
			})
		}
	}
}

// A DeliveryFence covers the first hop only: with the consumer held until
// its release, every iteration releases with all its markers handled by
// relay-0 and none by the consumer. Deterministic: the relays arrive before
// the markers are sent, so the round never waits for the consumer's handling
// of the iteration's markers, and the gate keeps it from handling any.
func TestRunDeliveryHopsMisses(t *testing.T) {
	ctx := hopsCtx(t)
	cfg := releaseGate(ctx, Config{Mode: fence.DeliveryFence, Workers: 2, Iterations: 16, Burst: 4, Hops: 3})
	rep, err := Run(ctx, cfg)
	require.NoError(t, err)
	require.Len(t, rep.PerIteration, 16)
	for _, it := range rep.PerIteration {
		require.Equal(t, 8, it.Missing, "iteration %d", it.Index)
		require.Zero(t, it.FirstHopMissing, "iteration %d: the fence covers the first hop", it.Index)
	}
	assert.Equal(t, 128, rep.Missing)
	assert.Equal(t, 16, rep.MissingIterations)
	assert.Zero(t, rep.FirstHopMissing)
	assert.Equal(t, []Marker{{Worker: 0, Iteration: 0, Seq: 0}, {Worker: 0, Iteration: 0, Seq: 1}}, rep.FirstMissing[:2])
	assert.Equal(t, 128, rep.Handled, "late markers are handled by the end")
	assert.False(t, rep.Violations())
	assert.Zero(t, rep.FenceMissed())
	assert.True(t, rep.MissingExpected())
	assert.False(t, rep.OK)
}

// The same without any hook, as the command runs it: a strong statistical
// expectation rather than a certainty. The consumer needs at least 16 × 1ms
// per iteration while the round waits only for relay-0 (and for what the
// relays had forwarded before arriving), so nothing missing in all 8
// iterations would need the consumer's check to be held off for the whole
// iteration's work, 8 times.
func TestRunDeliveryHopsMissesUnhooked(t *testing.T) {
	rep, err := Run(hopsCtx(t), Config{Mode: fence.DeliveryFence, Workers: 2, Iterations: 8, Burst: 8, Hops: 3, HandlerDelay: time.Millisecond})
	require.NoError(t, err)
	assert.Positive(t, rep.Missing)
	assert.Zero(t, rep.FirstHopMissing)
	assert.True(t, rep.MissingExpected(), "%+v", rep)
}

// requireNoneMissing asserts a run in which every marker was handled at every
// release.
func requireNoneMissing(t *testing.T, rep Report) {
	t.Helper()
	assert.True(t, rep.OK, "missing %d in %d iterations, first %v", rep.Missing, rep.MissingIterations, rep.FirstMissing)
	assert.Zero(t, rep.Missing)
	assert.Zero(t, rep.FirstHopMissing)
	assert.False(t, rep.Violations(), "%+v", rep)
	assert.Equal(t, rep.Messages, rep.Handled)
}

// A ProcessingFence waits until the group is quiescent: every marker went
// through every hop and was recorded by the consumer at each release, with
// the consumer merely slow, or held until everyone arrived so that each
// round can only release by draining all three hops.
func TestRunProcessingHops(t *testing.T) {
	base := Config{Mode: fence.ProcessingFence, Workers: 2, Iterations: 64, Burst: 8, Hops: 3}
	t.Run("slow handler", func(t *testing.T) {
		cfg := base
		cfg.HandlerDelay = 50 * time.Microsecond
		rep, err := Run(hopsCtx(t), cfg)
		require.NoError(t, err)
		requireNoneMissing(t, rep)
	})
	t.Run("gated", func(t *testing.T) {
		ctx := hopsCtx(t)
		cfg := base
		cfg.InProcess = true // the gate holds the workers' arrivals (OnArrive)
		rep, err := Run(ctx, arrivalGate(ctx, cfg))
		require.NoError(t, err)
		requireNoneMissing(t, rep)
		for _, it := range rep.PerIteration {
			require.Equal(t, 16, it.Pending, "iteration %d: the gate holds the consumer", it.Index)
		}
	})
}

// The longest chains, one marker per iteration and no delay: many rounds
// whose release races a marker moving between relays. A ProcessingFence
// round must not release while the marker is anywhere in the chain.
func TestRunProcessingLongChain(t *testing.T) {
	rep, err := Run(hopsCtx(t), Config{Mode: fence.ProcessingFence, Workers: 1, Iterations: 1000, Burst: 1, Hops: MaxHops})
	require.NoError(t, err)
	requireNoneMissing(t, rep)
}
