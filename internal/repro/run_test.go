package repro

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunRejectsBadConfig(t *testing.T) {
	rep, err := Run(context.Background(), Config{Workers: 0, Iterations: 1, Burst: 1})
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.False(t, rep.OK)
}

func TestRunFences(t *testing.T) {
	for _, mode := range []fence.Mode{fence.DeliveryFence, fence.ProcessingFence} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cfg := Config{Mode: mode, Workers: 3, Iterations: 8, Burst: 4, HandlerDelay: 100 * time.Microsecond}
			rep, err := Run(ctx, cfg)
			require.NoError(t, err)
			assert.True(t, rep.OK, "%+v", rep)
			assert.Equal(t, mode, rep.Mode)
			assert.Equal(t, 4, rep.Members)
			assert.Equal(t, 96, rep.Messages)
			assert.Equal(t, 96, rep.Handled)
			assert.Zero(t, rep.Missing)
			assert.Zero(t, rep.Lost)
			assert.Empty(t, rep.FirstMissing)
			require.Len(t, rep.PerIteration, 8)
			assert.Positive(t, rep.BarrierP50)
			assert.GreaterOrEqual(t, rep.BarrierP99, rep.BarrierP50)
			assert.GreaterOrEqual(t, rep.BarrierMax, rep.BarrierP99)
		})
	}
}

// A Rendezvous whose consumer is held until its barrier returned misses the
// whole first iteration, and the run still ends with every marker handled.
func TestRunRendezvousMisses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	released := make(chan struct{})
	var once sync.Once
	rep, err := Run(ctx, Config{
		Mode: fence.Rendezvous, Workers: 2, Iterations: 3, Burst: 4,
		Gate: func(Marker) {
			select {
			case <-released:
			case <-ctx.Done():
			}
		},
		OnRelease: func(it, _ int) {
			if it == 0 {
				once.Do(func() { close(released) })
			}
		},
	})
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.Equal(t, 8, rep.PerIteration[0].Missing)
	assert.Equal(t, 8, rep.PerIteration[0].Pending)
	assert.GreaterOrEqual(t, rep.Missing, 8)
	assert.Equal(t, []Marker{{0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 2, 0}, {0, 0, 3, 0}, {1, 0, 0, 0}, {1, 0, 1, 0}, {1, 0, 2, 0}, {1, 0, 3, 0}}, rep.FirstMissing)
	assert.Equal(t, 24, rep.Handled, "late markers are handled by the end")
	assert.Zero(t, rep.Lost)
	assert.Zero(t, rep.Duplicates)
	assert.Zero(t, rep.OutOfOrder)
	assert.False(t, rep.Violations())
}

// Cancelling the caller's context ends the run with the context's error and
// leaves nothing running, even with the consumer blocked in its handler.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timeout := time.AfterFunc(10*time.Second, cancel) // bound the test if the hook never fires
	defer timeout.Stop()
	rep, err := Run(ctx, Config{
		Mode: fence.DeliveryFence, Workers: 2, Iterations: 4, Burst: 2,
		Gate: func(Marker) { <-ctx.Done() },
		OnArrive: func(w, it int) {
			if w == Consumer && it == 0 {
				cancel()
			}
		},
	})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.False(t, rep.OK)
	assert.True(t, timeout.Stop(), "the hook never cancelled")
}
