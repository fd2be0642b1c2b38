package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/require"
)

// The reference barriers muster's rounds are measured against. Both run the
// same shape as the muster harness: n worker goroutines; per round each sends
// k messages to one consumer goroutine, whose "handler" increments a counter
// (the same atomic add muster's handler does), then meets the others.

// condBarrier is a cyclic barrier on a Mutex and a Cond: the last of n
// arrivals bumps the generation and broadcasts.
type condBarrier struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     int
	count int
	gen   uint64
}

func newCondBarrier(n int) *condBarrier {
	b := &condBarrier{n: n}
	b.cond.L = &b.mu
	return b
}

// Wait blocks until n goroutines called Wait for the current generation.
func (b *condBarrier) Wait() {
	b.mu.Lock()
	gen := b.gen
	b.count++
	if b.count == b.n {
		b.count = 0
		b.gen++
		b.cond.Broadcast()
	} else {
		for gen == b.gen {
			b.cond.Wait()
		}
	}
	b.mu.Unlock()
}

// condRef is the Rendezvous reference: a condBarrier, and for k > 0 every
// worker sends its k messages on one shared channel to a consumer goroutine,
// without a fence — as a Rendezvous round does not wait for delivery either.
// The channel holds n × refBuffer messages: what muster's consumer can hold,
// one window of refBuffer per sender.
type condRef struct {
	s       shape
	bar     *condBarrier
	msgs    chan int
	crew    *crew
	handled atomic.Int64
	wg      sync.WaitGroup

	// verify makes every worker check, after each Wait, that every worker
	// arrived at this round (TestReferencesWork; off in benchmarks).
	verify   bool
	arrivals atomic.Int64
}

func newCondRef(s shape, verify bool) *condRef {
	r := &condRef{s: s, bar: newCondBarrier(s.n), msgs: make(chan int, s.n*refBuffer), crew: newCrew(s.n), verify: verify}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for range r.msgs {
			r.handled.Add(1)
		}
	}()
	for i := range s.n {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.worker(i)
		}()
	}
	return r
}

func (r *condRef) worker(i int) {
	done := 0
	for rounds := range r.crew.cmd[i] {
		var err error
		for range rounds {
			for k := range r.s.k {
				r.msgs <- k
			}
			if r.verify {
				r.arrivals.Add(1)
			}
			r.bar.Wait()
			done++
			if r.verify {
				if got, want := r.arrivals.Load(), int64(done*r.s.n); got < want && err == nil {
					err = fmt.Errorf("cond ref: worker %d left round %d after %d arrivals, want ≥ %d", i, done, got, want)
				}
			}
		}
		r.crew.finished <- err
	}
}

func (r *condRef) run(ctx context.Context, rounds int) error { return r.crew.run(ctx, rounds) }

func (r *condRef) close() error {
	r.crew.stop()
	close(r.msgs)
	r.wg.Wait()
	return nil
}

// fenceRef is the naive fenced barrier (the DeliveryFence reference): each
// worker sends its k messages and then an "arrived" marker on its own
// channel; the consumer reads each channel up to its marker, handling the
// messages, and then releases everyone by closing the round's channel.
type fenceRef struct {
	s       shape
	chans   []chan int
	release atomic.Pointer[chan struct{}] // the current round's release channel
	crew    *crew
	handled atomic.Int64
	wg      sync.WaitGroup
}

const arrivedMarker = -1

// refBuffer is the capacity of every sender's channel of the references,
// and muster's window in the benchmarks.
const refBuffer = 1024

func newFenceRef(s shape) *fenceRef {
	r := &fenceRef{s: s, chans: make([]chan int, s.n), crew: newCrew(s.n)}
	first := make(chan struct{})
	r.release.Store(&first)
	for i := range r.chans {
		r.chans[i] = make(chan int, refBuffer)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.consume()
	}()
	for i := range s.n {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.worker(i)
		}()
	}
	return r
}

// consume runs rounds until the channels are closed.
func (r *fenceRef) consume() {
	for {
		for _, ch := range r.chans {
			for v := range ch {
				if v == arrivedMarker {
					break
				}
				r.handled.Add(1)
			}
		}
		select {
		case <-r.crew.quit:
			return
		default:
		}
		next := make(chan struct{})
		cur := r.release.Swap(&next)
		close(*cur)
	}
}

func (r *fenceRef) worker(i int) {
	done := 0
	want := int64(r.s.n * r.s.k)
	for rounds := range r.crew.cmd[i] {
		var err error
		for range rounds {
			// Load the round's release channel before arriving: the consumer
			// swaps it only after every marker of this round arrived.
			rel := r.release.Load()
			for k := range r.s.k {
				r.chans[i] <- k
			}
			r.chans[i] <- arrivedMarker
			<-*rel
			done++
			if got := r.handled.Load(); got < int64(done)*want && err == nil {
				err = fmt.Errorf("fence ref: worker %d released from round %d with %d handled, want ≥ %d", i, done, got, int64(done)*want)
			}
		}
		r.crew.finished <- err
	}
}

func (r *fenceRef) run(ctx context.Context, rounds int) error { return r.crew.run(ctx, rounds) }

func (r *fenceRef) close() error {
	r.crew.stop() // workers exit; the consumer sees quit after its current round
	for _, ch := range r.chans {
		close(ch)
	}
	r.wg.Wait()
	return nil
}

// newReference returns the reference for s: the naive fence for the fence
// modes, the Mutex+Cond barrier for Rendezvous.
func newReference(s shape) rounder {
	if s.mode == fence.Rendezvous {
		return newCondRef(s, false)
	}
	return newFenceRef(s)
}

// TestReferencesWork checks that the reference barriers are barriers (no
// worker leaves a round before everyone arrived; the fence releases only
// after every message was handled) and that the muster harness the
// benchmarks drive runs its rounds and checks its fences.
func TestReferencesWork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const rounds = 50

	t.Run("cond", func(t *testing.T) {
		s := shape{n: 4, k: 3, mode: fence.Rendezvous}
		r := newCondRef(s, true)
		defer r.close()
		require.NoError(t, r.run(ctx, rounds))
		require.NoError(t, r.run(ctx, rounds))
		require.EqualValues(t, 2*rounds*s.n, r.arrivals.Load())
	})
	t.Run("fence", func(t *testing.T) {
		s := shape{n: 4, k: 10, mode: fence.DeliveryFence}
		r := newFenceRef(s)
		defer r.close()
		require.NoError(t, r.run(ctx, rounds))
		require.NoError(t, r.run(ctx, rounds))
		// The fence released the last round: everything was handled.
		require.EqualValues(t, 2*rounds*s.n*s.k, r.handled.Load())
	})
	for _, s := range []shape{
		{n: 3, k: 5, mode: fence.Rendezvous},
		{n: 3, k: 5, mode: fence.DeliveryFence},
		{n: 3, k: 5, mode: fence.ProcessingFence},
		{n: 4, k: 1, mode: fence.DeliveryFence, ring: true},
	} {
		t.Run("muster/"+s.String(), func(t *testing.T) {
			h, err := newMusterHarness(ctx, s)
			require.NoError(t, err)
			defer func() { require.NoError(t, h.close()) }()
			require.NoError(t, h.run(ctx, rounds))
			require.NoError(t, h.run(ctx, rounds))
			if s.mode.Drains() {
				for i := range s.n {
					require.EqualValues(t, 2*rounds*s.inbound(i), h.handled(i), "member %d", i)
				}
			}
		})
	}
}
