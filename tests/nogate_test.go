package tests

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// quickStart is the README quick start's shape, with no start gate: a
// consumer whose handler stores results and whose Barrier the test goroutine
// calls after spawning, and workers that send their results to it, meet it
// at a DeliveryFence and return.
type quickStart struct {
	workers, results int
	consumerAt       int // the consumer's place in the spawn order, 0 … workers
}

// quickStartRuns is how many times TestQuickStartNeedsNoStartGate runs the
// quick start (about 1 s, 5 s under the race detector).
const quickStartRuns = 10_000

// quickStartBound bounds one run: a run that needs longer hangs.
const quickStartBound = 5 * time.Second

// TestQuickStartNeedsNoStartGate: a member that joins while a round is
// arriving is expected in it, so the quick start is right without a start
// channel, whatever the spawn order: the consumer spawned first (the workers
// may arrive before the later ones are spawned), last or in the middle. Each
// run must store every result by the time the consumer's Barrier returns,
// and every Barrier must return nil.
func TestQuickStartNeedsNoStartGate(t *testing.T) {
	qs := quickStart{workers: 3, results: 4}
	runs := quickStartRuns
	if behindWire() {
		runs /= 10 // a coordinator and its wires per run
	}
	start := time.Now()
	for i := range runs {
		qs.consumerAt = i % (qs.workers + 1)
		if err := qs.run(); err != nil {
			t.Fatalf("run %d of %d (consumer spawned at %d of %d): %v", i+1, runs, qs.consumerAt, qs.workers+1, err)
		}
	}
	t.Logf("%d runs of %d workers × %d results in %v (%v a run)", runs, qs.workers, qs.results,
		time.Since(start), time.Since(start)/time.Duration(runs))
}

// run runs the quick start once and returns what went wrong: a Barrier
// error, a result not stored at the consumer's release, a run that hung, or
// a Close that failed.
func (qs quickStart) run() (err error) {
	ctx, cancel := context.WithTimeout(withWire(context.Background()), quickStartBound)
	defer cancel()
	c := processgroup.New[msg]()
	defer func() {
		if cerr := c.Close(context.WithoutCancel(ctx)); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close: %w", cerr))
		}
	}()
	g, err := c.NewGroup("phase")
	if err != nil {
		return err
	}
	stored := make([]int, qs.workers) // the consumer's handler's state; read after its release
	errs := make(chan error, qs.workers)
	consumer, err := qs.spawnAll(ctx, c, g, stored, errs)
	if err != nil {
		return err
	}
	if _, err := consumer.Barrier(ctx, g.Name(), "done", fence.DeliveryFence); err != nil {
		return fmt.Errorf("consumer's Barrier: %w\n%s", err, c.Snapshot())
	}
	for w, n := range stored {
		if n != qs.results {
			return fmt.Errorf("consumer released with %d of w%d's %d results stored", n, w, qs.results)
		}
	}
	for range qs.workers {
		select {
		case werr := <-errs:
			if werr != nil {
				return werr
			}
		case <-ctx.Done():
			return fmt.Errorf("a worker's Barrier did not return within %v:\n%s", quickStartBound, c.Snapshot())
		}
	}
	return nil
}

// spawnAll spawns the consumer at its place among the workers.
func (qs quickStart) spawnAll(ctx context.Context, c *processgroup.Coordinator[msg], g *processgroup.Group[msg],
	stored []int, errs chan<- error) (consumer managedprocess.Member[msg], err error) {
	for pos, w := 0, 0; pos <= qs.workers; pos++ {
		if pos == qs.consumerAt {
			consumer, err = c.Spawn(ctx, processgroup.Spec[msg]{
				Name:    "consumer",
				Groups:  []string{"phase"},
				Handler: func(_ context.Context, m managedprocess.Message[msg]) { stored[m.Body.From]++ },
			})
		} else {
			_, err = c.Spawn(ctx, processgroup.Spec[msg]{Name: fmt.Sprintf("w%d", w), Groups: []string{"phase"}, Run: qs.worker(g, w, errs)})
			w++
		}
		if err != nil {
			return nil, err
		}
	}
	return consumer, nil
}

// worker returns worker w's run function: send the results, meet at the
// fence, report and return.
func (qs quickStart) worker(g *processgroup.Group[msg], w int, errs chan<- error) processgroup.RunFunc[msg] {
	return func(ctx context.Context, m managedprocess.Member[msg]) error {
		for k := range qs.results {
			if err := sendOnceKnown(ctx, m, "consumer", msg{From: w, Hop: k}); err != nil {
				errs <- fmt.Errorf("w%d: send: %w", w, err)
				return err
			}
		}
		_, err := m.Barrier(ctx, g.Name(), "done", fence.DeliveryFence)
		if err != nil {
			err = fmt.Errorf("w%d's Barrier: %w", w, err)
		}
		errs <- err
		return err
	}
}

// sendOnceKnown sends to the member called to, retrying while no member of
// that name runs yet: a worker spawned before the consumer cannot address
// it sooner. That holds no one else back: it is not a start gate.
func sendOnceKnown(ctx context.Context, m managedprocess.Member[msg], to string, body msg) error {
	for {
		err := m.Send(ctx, to, body)
		if !errors.Is(err, fence.ErrUnknownMember) || ctx.Err() != nil {
			return err
		}
		runtime.Gosched()
	}
}
