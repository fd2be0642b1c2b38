package process

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runWorkers runs cfg.workers workers (see workerRole) as children, or with
// inProc those with an odd index as goroutine members, and a collector that
// checks, for a processing fence, that after each round the workers'
// counts add up to every message of every chain so far. The program
// arrives as member "p" at every round, so no start gate is needed.
func runWorkers(t *testing.T, cfg workerConfig, inProc bool) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	reports := make(chan msg, cfg.workers*cfg.rounds)
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { reports <- m.Body }})
	require.NoError(t, err)
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p", Groups: []string{"g"}})
	require.NoError(t, err)
	for i := range cfg.workers {
		w := cfg
		w.index = i
		if inProc && i%2 == 1 {
			role := workerRole(w)
			_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: workerName(i), Groups: []string{"g"}, Window: w.window,
				Handler: role.Handler, Run: role.Run})
			require.NoError(t, err)
			continue
		}
		_, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: workerName(i), Groups: []string{"g"}, Role: "worker",
			Window: w.window, Env: append(w.env(), quickExit), Stderr: testWriter{t}, Stdout: testWriter{t}})
		require.NoError(t, err)
	}
	meet(t, ctx, p, cfg)
	require.NoError(t, c.Wait(ctx))
	if cfg.mode != fence.ProcessingFence {
		return
	}
	sums := make(map[int]uint64)
	for range cfg.workers * cfg.rounds {
		r := within(t, reports)
		sums[r.Round] += r.Count
	}
	for r := 1; r <= cfg.rounds; r++ {
		want := uint64(r * cfg.workers * (cfg.workers - 1) * cfg.perPeer * cfg.hops)
		assert.Equal(t, want, sums[r], "round %d: messages handled by its release", r)
	}
}

// TestProcessDeliveryFence: every message a child sent before a delivery
// fence was handled at its recipient by the release, round after round,
// with children only and mixed with goroutine members.
func TestProcessDeliveryFence(t *testing.T) {
	for _, inProc := range []bool{false, true} {
		t.Run(fmt.Sprintf("mixed=%v", inProc), func(t *testing.T) {
			runWorkers(t, workerConfig{workers: 4, rounds: 30, perPeer: 40, hops: 1, mode: fence.DeliveryFence}, inProc)
		})
	}
}

// TestProcessProcessingFenceChains: chains of handler sends that hop from
// process to process have all ended when a processing fence releases.
func TestProcessProcessingFenceChains(t *testing.T) {
	for _, inProc := range []bool{false, true} {
		t.Run(fmt.Sprintf("mixed=%v", inProc), func(t *testing.T) {
			runWorkers(t, workerConfig{workers: 3, rounds: 10, perPeer: 4, hops: 25, mode: fence.ProcessingFence}, inProc)
		})
	}
}

// TestProcessHandlerReplies: a goroutine member's messages to a child with
// only a handler come back, one reply each, in order.
func TestProcessHandlerReplies(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	spawn(t, c, "h", "handler")
	const n = 200
	replies := make(chan msg, n)
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "asker",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { replies <- m.Body },
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			for i := range n {
				if err := m.Send(ctx, "h", msg{Round: i}); err != nil {
					return err
				}
			}
			for i := range n {
				select {
				case r := <-replies:
					if want := (msg{Round: i, Hop: 1}); r != want {
						return fmt.Errorf("reply %d: %+v, want %+v", i, r, want)
					}
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}})
	require.NoError(t, err)
	require.NoError(t, c.Wait(ctx), "a handler-only child is not waited for")
}

// TestProcessManyRounds: a thousand delivery fence rounds in a row, the
// same barrier names reused every round, with children and goroutine
// members mixed: every one of them holds.
func TestProcessManyRounds(t *testing.T) {
	runWorkers(t, workerConfig{workers: 3, rounds: 1000, perPeer: 3, hops: 1, mode: fence.DeliveryFence}, true)
}

// TestProcessHandlersSendIntoFullWindows: chains of handler sends hop
// between two children into windows of one message, which the bodies'
// sends keep full: handler sends are exempt from the window, so the two
// handlers never wait for each other, and every chain has ended when the
// processing fence releases. (With a child's handler sends held to the
// window, every run of it deadlocks.)
func TestProcessHandlersSendIntoFullWindows(t *testing.T) {
	runWorkers(t, workerConfig{workers: 2, rounds: 5, perPeer: 50, hops: 50, mode: fence.ProcessingFence, window: 1}, false)
}

// TestProcessWideGroup: fences of twelve members, children and goroutines
// mixed, each sending to every other before it arrives, hold round after
// round: every message handled by a delivery fence's release, every chain
// of handler sends ended by a processing fence's.
func TestProcessWideGroup(t *testing.T) {
	t.Run("delivery", func(t *testing.T) {
		runWorkers(t, workerConfig{workers: 12, rounds: 10, perPeer: 5, hops: 1, mode: fence.DeliveryFence}, true)
	})
	t.Run("processing", func(t *testing.T) {
		runWorkers(t, workerConfig{workers: 12, rounds: 5, perPeer: 2, hops: 12, mode: fence.ProcessingFence}, true)
	})
}
