package bsp

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain serves the workers when the test binary runs as one.
func TestMain(m *testing.M) {
	if child, err := processgroup.ServeChild(context.Background(), Roles()); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	goleak.VerifyTestMain(m)
}

func small() Config {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Supersteps, cfg.Workers = 3000, 12, 3
	return cfg
}

// TestFencedSuperstepsMatchOneProcess: with a fence the ranks computed by
// child processes (and by goroutines) match the single-process computation.
func TestFencedSuperstepsMatchOneProcess(t *testing.T) {
	for _, mode := range []fence.Mode{fence.DeliveryFence, fence.ProcessingFence} {
		for _, inProc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/inprocess=%v", mode, inProc), func(t *testing.T) {
				cfg := small()
				cfg.Mode, cfg.InProcess = mode, inProc
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				steps := 0
				res, err := Run(ctx, cfg, func(step int, _ time.Duration) { steps++; assert.Equal(t, steps, step) })
				require.NoError(t, err)
				assert.Equal(t, cfg.Supersteps, steps)
				assert.True(t, res.OK(), "max difference %g", res.MaxDiff)
				assert.Len(t, res.PerStep, cfg.Supersteps)
			})
		}
	}
}

// TestRendezvousSuperstepsGoWrong: without a fence a superstep starts before
// every contribution of the last one was added (the handlers are slow), and
// the ranks differ: the fence is what makes the job right.
func TestRendezvousSuperstepsGoWrong(t *testing.T) {
	cfg := small()
	cfg.Mode, cfg.HandlerDelay, cfg.Supersteps = fence.Rendezvous, 5*time.Millisecond, 4
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, nil)
	require.NoError(t, err)
	assert.False(t, res.OK(), "max difference %g: a rendezvous fenced nothing, yet the ranks agree", res.MaxDiff)
}

func TestReferenceSumsToOne(t *testing.T) {
	cfg := small()
	sum := 0.0
	for _, r := range Reference(NewGraph(cfg.Nodes, cfg.Degree, cfg.Seed), cfg.Supersteps, cfg.Damping) {
		sum += r
	}
	assert.InDelta(t, 1, sum, 1e-9)
}

func TestInvalidConfig(t *testing.T) {
	cfg := small()
	cfg.Workers = 0
	_, err := Run(context.Background(), cfg, nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}
