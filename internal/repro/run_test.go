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
	assert.ErrorIs(t, err, ErrNotFinished)
	assert.False(t, rep.OK)
	assert.True(t, timeout.Stop(), "the hook never cancelled")
}

// A run that cannot finish in time reports what it was stuck on: the
// coordinator's snapshot at the timeout, and the diagnosis of the round its
// members were waiting in. The consumer's work per marker outlasts the
// timeout, so the first iteration's delivery fence is still draining.
func TestRunTimeoutDiagnosis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	// In process: the workers' reports (what they sent, where they wait)
	// are part of the diagnosis.
	rep, err := Run(ctx, Config{Mode: fence.DeliveryFence, Workers: 2, Iterations: 4, Burst: 3, HandlerDelay: time.Hour, InProcess: true})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrNotFinished)
	assert.Equal(t, "run did not finish: context deadline exceeded", err.Error())
	assert.Less(t, time.Since(start), 10*time.Second, "the consumer's work ends when the coordinator closes")
	assert.False(t, rep.OK)
	assert.Empty(t, rep.PerIteration, "no iteration released")
	assert.Equal(t, 6, rep.Sent, "the first iteration's markers")
	assert.Equal(t, 24, rep.Messages)
	assert.Zero(t, rep.Handled)
	assert.Zero(t, rep.Lost, "a run that did not finish loses nothing: it stopped")

	require.NotNil(t, rep.Stuck)
	require.Len(t, rep.Stuck.Barriers, 1, "everyone waits in the first iteration's round")
	b := rep.Stuck.Barriers[0]
	assert.Equal(t, GroupName, b.Group)
	assert.Equal(t, IterationBarrier, b.Barrier)
	assert.EqualValues(t, 1, b.Round)
	assert.Equal(t, fence.DeliveryFence, b.Mode)
	assert.Empty(t, b.Missing, "everyone arrived")
	assert.NotEmpty(t, b.Lagging, "the workers' streams to the consumer")
	for _, l := range b.Lagging {
		assert.Equal(t, ConsumerName, l.Recipient.Name, "%v", l)
	}
	assert.ErrorIs(t, b, context.DeadlineExceeded)

	snap := rep.Stuck.Snapshot
	assert.False(t, snap.Closed, "taken before the coordinator closed")
	require.Len(t, snap.Groups, 1)
	require.Len(t, snap.Groups[0].Rounds, 1)
	r := snap.Groups[0].Rounds[0]
	assert.Equal(t, IterationBarrier, r.Barrier)
	assert.Equal(t, "draining", r.Phase)
	assert.Len(t, r.Arrived, 3)
	assert.NotEmpty(t, r.Lagging)
	assert.Contains(t, snap.String(), "handling=[", "the consumer's handler is running")
}

// A member that has not arrived shows in the diagnosis. The consumer never
// finishes its first marker, and a Rendezvous does not wait for it, so the
// workers run ahead until one blocks sending to the consumer with its window full:
// the round it has not arrived at waits for it.
func TestRunTimeoutNotArrived(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rep, err := Run(ctx, Config{Mode: fence.Rendezvous, Workers: 2, Iterations: 1000, Burst: 8, HandlerDelay: time.Hour, InProcess: true})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotNil(t, rep.Stuck)
	var missing []fence.Identity
	for _, b := range rep.Stuck.Barriers {
		missing = append(missing, b.Missing...)
	}
	require.NotEmpty(t, missing, "%v", rep.Stuck.Barriers)
	for _, id := range missing {
		assert.Contains(t, id.Name, "worker-", "only a worker blocked in Send has not arrived")
	}
	assert.Regexp(t, `member consumer#1 .*queued=[1-9]`, rep.Stuck.Snapshot.String())
	assert.Regexp(t, `missing=\[worker-`, rep.Stuck.Snapshot.String())
	assert.Positive(t, rep.Sent)
	assert.Less(t, rep.Sent, rep.Messages)
}
