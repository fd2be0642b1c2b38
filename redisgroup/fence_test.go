package redisgroup_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// A producer's three timings: the workers finish before the producer waits,
// after it, and never (the producer's wait is bounded by its context, and
// its error names who did not arrive).
func TestProducerTimings(t *testing.T) {
	srv := redisserver.Start(t)
	for _, timing := range []string{"before", "after", "never"} {
		t.Run(timing, func(t *testing.T) {
			c := newGroup(t, srv, timing)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var handled atomic.Int64
			producer, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "producer", Groups: []string{timing},
				Handler: func(context.Context, managedprocess.Message[int]) { handled.Add(1) }})
			require.NoError(t, err)
			finished := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Add(1)
				_, err := c.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("worker", w), Groups: []string{timing},
					Run: func(ctx context.Context, m managedprocess.Member[int]) error {
						if timing == "never" {
							wg.Done()
							<-ctx.Done()
							return nil
						}
						if timing == "after" {
							<-finished
						}
						for i := range 10 {
							if err := m.Send(ctx, "producer", i); err != nil {
								return err
							}
						}
						a, err := m.Arrive(ctx, timing, "done", fence.DeliveryFence)
						wg.Done() // arrived: the worker's part is finished
						if err != nil {
							return err
						}
						_, err = a.Wait(ctx)
						return err
					}})
				require.NoError(t, err)
			}
			if timing == "before" {
				wg.Wait()
			}
			wctx, wcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer wcancel()
			a, err := producer.Arrive(wctx, timing, "done", fence.DeliveryFence)
			require.NoError(t, err)
			close(finished)
			_, err = a.Wait(wctx)
			if timing == "never" {
				var e *fence.Error
				require.ErrorAs(t, err, &e)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Len(t, e.Missing, 3, "%v", err)
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, 30, handled.Load())
		})
	}
}

// A member whose wait timed out retries: the retry attaches to its standing
// arrival, which counts once, and the round completes once for everyone.
func TestRetriedArrivalCountsOnce(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	a := spawnWaiter(t, c, "g", "a")
	b := spawnWaiter(t, c, "g", "b")
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.Barrier(short, "g", "x", fence.DeliveryFence)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	done := make(chan fence.Result, 1)
	go func() {
		r, err := a.Barrier(ctx, "g", "x", fence.DeliveryFence) // attaches
		if err == nil {
			done <- r
		}
		close(done)
	}()
	rb, err := b.Barrier(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	ra, ok := <-done
	require.True(t, ok, "a's retry failed")
	require.EqualValues(t, 1, ra.Round)
	require.EqualValues(t, 1, rb.Round)
	// The next round needs both again: a's two calls did not count twice.
	arr, err := b.Arrive(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	require.EqualValues(t, 2, arr.Round())
	short2, cancel3 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel3()
	_, err = arr.Wait(short2)
	require.ErrorIs(t, err, context.DeadlineExceeded, "round 2 released without a")
	_, err = a.Barrier(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	_, err = arr.Wait(ctx)
	require.NoError(t, err)
}

// Two groups with one prefix, and one group name under two prefixes, with
// the same member names: each is a group of its own.
func TestGroupsDoNotCollide(t *testing.T) {
	srv := redisserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mk := func(prefix, group string) *redisgroup.Coordinator[int] {
		c, err := redisgroup.New(ctx, redisgroup.Config[int]{Client: srv.Client(t, 8), Prefix: prefix, Group: group,
			Heartbeat: 400 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	cs := []*redisgroup.Coordinator[int]{mk("p", "g1"), mk("p", "g2"), mk("q", "g1")}
	var ms []managedprocess.Member[int]
	for i, c := range cs {
		m := spawnWaiter(t, c, []string{"g1", "g2", "g1"}[i], "same-name")
		spawnWaiter(t, c, []string{"g1", "g2", "g1"}[i], "other")
		ms = append(ms, m)
	}
	// In each, "same-name" waits for "other": none releases another's.
	var arrivals []managedprocess.Arrival
	for i, m := range ms {
		a, err := m.Arrive(ctx, []string{"g1", "g2", "g1"}[i], "b", fence.Rendezvous)
		require.NoError(t, err)
		require.EqualValues(t, 1, a.Round())
		arrivals = append(arrivals, a)
	}
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	for _, a := range arrivals {
		_, err := a.Wait(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
}

// The release happens between an arrival and its wait (the last member
// arrives before the first one's Wait registers): the wait still returns it.
func TestReleaseBeforeWait(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	a := spawnWaiter(t, c, "g", "a")
	b := spawnWaiter(t, c, "g", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for round := 1; round <= 200; round++ {
		arr, err := a.Arrive(ctx, "g", "x", fence.Rendezvous)
		require.NoError(t, err)
		_, err = b.Barrier(ctx, "g", "x", fence.Rendezvous)
		require.NoError(t, err)
		r, err := arr.Wait(ctx)
		require.NoError(t, err)
		require.EqualValues(t, round, r.Round)
	}
}

// A chain of handler sends through every member, started just before the
// barrier: a processing fence releases only once the whole chain was
// handled; a rendezvous does not wait for it (which shows what the test can
// catch).
func TestProcessingFenceWaitsForChains(t *testing.T) {
	srv := redisserver.Start(t)
	for _, mode := range []fence.Mode{fence.ProcessingFence, fence.Rendezvous} {
		t.Run(mode.String(), func(t *testing.T) {
			const members, hops = 4, 400
			cs := []*redisgroup.Coordinator[int]{newGroup(t, srv, mode.String()), newGroup(t, srv, mode.String())}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var handled atomic.Int64
			var ms []managedprocess.Member[int]
			for i := range members {
				m, err := cs[i%2].Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("m", i), Groups: []string{mode.String()},
					Handler: func(ctx context.Context, msg managedprocess.Message[int]) {
						handled.Add(1)
						if msg.Body < hops {
							_ = msg.Recipient().Send(ctx, fmt.Sprint("m", (i+1)%members), msg.Body+1)
						}
					}})
				require.NoError(t, err)
				ms = append(ms, m)
			}
			require.NoError(t, ms[0].Send(ctx, "m1", 1))
			var wg sync.WaitGroup
			for _, m := range ms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := m.Barrier(ctx, mode.String(), "quiet", mode)
					require.NoError(t, err)
				}()
			}
			wg.Wait()
			got := handled.Load()
			if mode == fence.ProcessingFence {
				require.EqualValues(t, hops, got, "released before the chain ended")
			} else {
				require.Less(t, got, int64(hops), "the chain ended before a rendezvous released: this test shows nothing")
			}
		})
	}
}

// Many rounds of the repro scenario with members spread over three
// coordinators: every marker a member sent before a delivery fence has been
// handled when any member returns from it.
func TestDeliveryFenceMarkers(t *testing.T) {
	srv := redisserver.Start(t)
	const members, rounds, k = 6, 30, 20
	cs := []*redisgroup.Coordinator[int]{newGroup(t, srv, "g"), newGroup(t, srv, "g"), newGroup(t, srv, "g")}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var seen [members][rounds + 1]atomic.Int64 // recipient, round → markers handled
	gate, err := cs[0].Spawn(ctx, processgroup.Spec[int]{Name: "gate", Groups: []string{"g"}})
	require.NoError(t, err)
	var missing atomic.Int64
	spawned := make(chan struct{}) // a member sends only to members that exist
	for i := range members {
		_, err := cs[i%3].Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("m", i), Groups: []string{"g"},
			Handler: func(_ context.Context, msg managedprocess.Message[int]) {
				if i%2 == 0 {
					time.Sleep(20 * time.Microsecond) // slow recipients lag
				}
				seen[i][msg.Body].Add(1)
			},
			Run: func(ctx context.Context, m managedprocess.Member[int]) error {
				<-spawned
				for r := 1; r <= rounds; r++ {
					for j := range k {
						if err := m.Send(ctx, fmt.Sprint("m", (i+1+j)%members), r); err != nil {
							return err
						}
					}
					if _, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence); err != nil {
						return err
					}
					// Every member sent k markers of round r, each to a
					// recipient it chose: all members*k have been handled.
					var total int64
					for rc := range members {
						total += seen[rc][r].Load()
					}
					missing.Add(members*k - total)
				}
				return nil
			}})
		require.NoError(t, err)
	}
	close(spawned)
	require.NoError(t, gate.Leave("g")) // the gate held round 1 open until all were spawned
	for _, c := range cs {
		require.NoError(t, c.Wait(ctx))
	}
	require.Zero(t, missing.Load(), "markers not handled at release")
}

// An arrival whose Wait comes long after the round was released gets the
// round's outcome: after more releases than a coordinator remembers, and
// after Redis dropped the finished round (its outcome lives a minute, or
// KeyTTL if shorter: here 1.5 s).
func TestLateWaitGetsItsOutcome(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g", func(cfg *redisgroup.Config[int]) { cfg.KeyTTL = 1500 * time.Millisecond })
	a, b := spawnWaiter(t, c, "g", "a"), spawnWaiter(t, c, "g", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arr, err := a.Arrive(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	_, err = b.Barrier(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	released := time.Now()
	const rounds = 4200 // more than the watcher's recent outcomes
	var wg sync.WaitGroup
	for _, m := range []managedprocess.Member[int]{a, b} {
		wg.Go(func() {
			for range rounds {
				if _, err := m.Barrier(ctx, "g", "y", fence.Rendezvous); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Until(released.Add(2 * time.Second))) // the finished round expired
	require.Zero(t, srv.Client(t, 1).Exists(ctx, t.Name()+":{g}:r:1:x").Val(), "the finished round is still in Redis")
	r, err := arr.Wait(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Round)
}

// A member that sent nothing since an arrival that found everything it had
// sent handled skips looking for delivery targets; one message sent after
// such an arrival is fenced all the same. The sender alternates rounds in
// which it sends nothing with rounds in which it sends one message to a
// slow recipient, which must have handled it at the release.
func TestDeliveryFenceAfterACleanArrival(t *testing.T) {
	srv := redisserver.Start(t)
	const rounds = 40
	cs := []*redisgroup.Coordinator[int]{newGroup(t, srv, "g"), newGroup(t, srv, "g")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var handled atomic.Int64
	recv, err := cs[0].Spawn(ctx, processgroup.Spec[int]{Name: "recv", Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[int]) {
			time.Sleep(2 * time.Millisecond) // the fence must wait for it
			handled.Add(1)
		}})
	require.NoError(t, err)
	send, err := cs[1].Spawn(ctx, processgroup.Spec[int]{Name: "send", Groups: []string{"g"}})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		for range rounds {
			if _, err := recv.Barrier(ctx, "g", "b", fence.DeliveryFence); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	sent := 0
	for r := range rounds {
		if r%2 == 1 {
			require.NoError(t, send.Send(ctx, "recv", r))
			sent++
		}
		_, err := send.Barrier(ctx, "g", "b", fence.DeliveryFence)
		require.NoError(t, err)
		require.EqualValues(t, sent, handled.Load(), "round %d: handled at the release", r+1)
	}
	require.NoError(t, <-done)
}

// A round may stay open far longer than a finished round keeps its outcome:
// the heartbeats renew it while it is open. Here it waits three times the
// TTL (KeyTTL 1 s) for its last member and is released as usual.
func TestLongOpenRoundIsKept(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g", func(cfg *redisgroup.Config[int]) { cfg.KeyTTL = time.Second })
	a, b := spawnWaiter(t, c, "g", "a"), spawnWaiter(t, c, "g", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arr, err := a.Arrive(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // what the test is about: time passing
	require.EqualValues(t, 1, srv.Client(t, 1).Exists(ctx, t.Name()+":{g}:r:1:x").Val(), "the open round expired")
	_, err = b.Barrier(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	r, err := arr.Wait(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Round)
}
