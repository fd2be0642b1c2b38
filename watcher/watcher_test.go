package watcher

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/muster-go/muster/internal/progress"
)

const timeout = 10 * time.Second

// recorder is an onDrained that records its calls and signals each one on a
// buffered channel without blocking.
type recorder struct {
	t     *testing.T
	calls chan string
	more  func(r string, call int) []Target // nil: every round completes

	mu sync.Mutex
	n  map[string]int
}

func newRecorder(t *testing.T, more func(string, int) []Target) *recorder {
	return &recorder{t: t, calls: make(chan string, 1024), more: more, n: make(map[string]int)}
}

func (rec *recorder) onDrained(r string) []Target {
	rec.mu.Lock()
	rec.n[r]++
	n := rec.n[r]
	rec.mu.Unlock()
	select {
	case rec.calls <- r:
	default:
		rec.t.Errorf("recorder: too many calls (round %q)", r)
	}
	if rec.more == nil {
		return nil
	}
	return rec.more(r, n)
}

func (rec *recorder) count(r string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.n[r]
}

// await receives from ch or fails the test after the timeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// sync submits a round with no targets and waits for its onDrained: every
// input handed to the watcher before it has been handled.
func syncWith(t *testing.T, w *Watcher[string], rec *recorder, name string) {
	t.Helper()
	w.Submit(name, nil)
	require.Equal(t, name, await(t, rec.calls, name))
}

// publish is a reader: it publishes seqs 1..upTo on ctr and notifies on a
// crossing.
func publish(w *Watcher[string], ctr *progress.Counter, upTo uint64) {
	for seq := uint64(1); seq <= upTo; seq++ {
		if ctr.Publish(seq) {
			w.Notify(ctr)
		}
	}
}

func TestWatcherDrainsWhenAReaderNotifies(t *testing.T) {
	rec := newRecorder(t, nil)
	w := Start(rec.onDrained)
	defer w.Stop()
	ctr := progress.NewCounter()

	w.Submit("A", []Target{{Counter: ctr, Seq: 5}})
	syncWith(t, w, rec, "sync")
	require.Equal(t, uint64(5), ctr.Threshold(), "A registered and armed")

	done := make(chan struct{})
	go func() {
		defer close(done)
		publish(w, ctr, 5)
	}()
	require.Equal(t, "A", await(t, rec.calls, "A drained"))
	await(t, done, "reader")
	require.Equal(t, uint64(progress.None), ctr.Threshold())
}

func TestWatcherRepeatsTheDrainWhileOnDrainedReturnsTargets(t *testing.T) {
	first, second := progress.NewCounter(), progress.NewCounter()
	rec := newRecorder(t, func(r string, call int) []Target {
		if call == 1 {
			return []Target{{Counter: second, Seq: 3}} // sent by handlers meanwhile
		}
		return nil
	})
	w := Start(rec.onDrained)
	w.Submit("A", []Target{{Counter: first, Seq: 2}})
	go publish(w, first, 2)
	require.Equal(t, "A", await(t, rec.calls, "first drain"))
	go publish(w, second, 3)
	require.Equal(t, "A", await(t, rec.calls, "second drain"))
	w.Stop()
	require.Equal(t, 2, rec.count("A"))
}

func TestWatcherDropPreventsOnDrained(t *testing.T) {
	rec := newRecorder(t, nil)
	w := Start(rec.onDrained)
	defer w.Stop()
	ctr := progress.NewCounter()

	w.Submit("A", []Target{{Counter: ctr, Seq: 5}})
	syncWith(t, w, rec, "sync1")
	require.Equal(t, uint64(5), ctr.Threshold())
	w.Drop("A")
	syncWith(t, w, rec, "sync2")
	require.Equal(t, uint64(progress.None), ctr.Threshold(), "disarmed by Drop")

	require.False(t, ctr.Publish(5), "nothing armed: no notification")
	w.Notify(ctr) // a stray one is harmless
	syncWith(t, w, rec, "sync3")
	require.Zero(t, rec.count("A"))
}

func TestWatcherStopIsIdempotentAndForgetsPendingRounds(t *testing.T) {
	rec := newRecorder(t, nil)
	w := Start(rec.onDrained)
	ctr := progress.NewCounter()
	w.Submit("A", []Target{{Counter: ctr, Seq: 5}})
	syncWith(t, w, rec, "sync")
	require.Equal(t, uint64(5), ctr.Threshold())

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(w.Stop)
	}
	wg.Wait()
	w.Stop()
	goleak.VerifyNone(t)

	require.Equal(t, uint64(progress.None), ctr.Threshold(), "Stop disarms")
	w.Submit("B", nil)
	w.Notify(ctr)
	w.Drop("A")
	require.False(t, ctr.Publish(5))
	require.Zero(t, rec.count("A"))
	require.Zero(t, rec.count("B"))
}

// A round whose handlers never stop sending keeps returning targets that are
// already met. The round submitted while it spins still completes: on the next
// iteration, before the spinning round is handled again.
func TestWatcherRoundThatNeverDrainsDoesNotStarveOthers(t *testing.T) {
	met, other := progress.NewCounter(), progress.NewCounter()
	met.Publish(1)
	var w *Watcher[string]
	var otherDone atomic.Bool
	rec := newRecorder(t, func(r string, call int) []Target {
		switch {
		case r == "other":
			otherDone.Store(true)
		case otherDone.Load() || call >= 1000:
			return nil
		case call == 1:
			w.Submit("other", []Target{{Counter: other, Seq: 1}})
			publish(w, other, 1)
			fallthrough
		default:
			return []Target{{Counter: met, Seq: 1}}
		}
		return nil
	})
	w = Start(rec.onDrained)
	defer w.Stop()
	w.Submit("spin", []Target{{Counter: met, Seq: 1}})

	require.Equal(t, "spin", await(t, rec.calls, "spin #1"))
	require.Equal(t, "other", await(t, rec.calls, "other, before spin's next call"))
	require.Equal(t, "spin", await(t, rec.calls, "spin #2, which ends it"))
	w.Stop()
	require.Equal(t, 2, rec.count("spin"))
}

// The same with the other round coming from another goroutine while the
// spinning round runs as fast as it can.
func TestWatcherSpinningRoundYieldsToConcurrentInput(t *testing.T) {
	const limit = 1_000_000
	met, other := progress.NewCounter(), progress.NewCounter()
	met.Publish(1)
	spinning, otherDrained := make(chan struct{}), make(chan struct{})
	spins := 0 // owned by the watcher goroutine until Stop returns
	w := Start(func(r string) []Target {
		if r == "other" {
			close(otherDrained)
			return nil
		}
		if spins++; spins == 1 {
			close(spinning)
		}
		select {
		case <-otherDrained:
			return nil
		default:
		}
		if spins >= limit {
			return nil
		}
		return []Target{{Counter: met, Seq: 1}}
	})
	w.Submit("spin", []Target{{Counter: met, Seq: 1}})

	await(t, spinning, "spinning")
	w.Submit("other", []Target{{Counter: other, Seq: 1}})
	go publish(w, other, 1)
	await(t, otherDrained, "other")
	w.Stop()
	require.Less(t, spins, limit, "other completed while spin was still spinning")
}

// Readers publish concurrently with submissions; every round drains exactly
// once.
func TestWatcherManyRoundsManyReaders(t *testing.T) {
	const counters, rounds, upTo = 8, 200, 300
	ctrs := make([]*progress.Counter, counters)
	for i := range ctrs {
		ctrs[i] = progress.NewCounter()
	}
	rec := newRecorder(t, nil)
	w := Start(rec.onDrained)
	defer w.Stop()

	var wg sync.WaitGroup
	for _, c := range ctrs {
		wg.Go(func() { publish(w, c, upTo) })
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range rounds {
		targets := make([]Target, 3)
		for j := range targets {
			targets[j] = Target{Counter: ctrs[rng.IntN(counters)], Seq: rng.Uint64N(upTo + 1)}
		}
		w.Submit(fmt.Sprint(i), targets)
	}
	seen := make(map[string]bool)
	for range rounds {
		r := await(t, rec.calls, "a round")
		require.False(t, seen[r], "round %s drained twice", r)
		seen[r] = true
	}
	wg.Wait()
	syncWith(t, w, rec, "sync")
	for _, c := range ctrs {
		require.Equal(t, uint64(progress.None), c.Threshold())
	}
}
