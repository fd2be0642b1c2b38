package redisgroup_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// A fast sender and a slow recipient with a small window, on two
// coordinators: every message is handled once, in order; the sender is
// pushed back (never more than a window ahead of what was handled, never an
// error), and the inbox stream stays within the window.
func TestWindowPushesBack(t *testing.T) {
	srv := redisserver.Start(t)
	const window, n = 8, 2000
	a, b := newGroup(t, srv, "g"), newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var handled atomic.Int64
	var disorder atomic.Int64
	slow, err := b.Spawn(ctx, processgroup.Spec[int]{Name: "slow", Window: window,
		Handler: func(_ context.Context, m managedprocess.Message[int]) {
			if int64(m.Body) != handled.Load()+1 {
				disorder.Add(1)
			}
			if m.Body%100 == 0 {
				time.Sleep(time.Millisecond)
			}
			handled.Add(1)
		}})
	require.NoError(t, err)
	var ahead atomic.Int64 // the most the sender was ahead of the handler
	_, err = a.Spawn(ctx, processgroup.Spec[int]{Name: "fast",
		Run: func(ctx context.Context, m managedprocess.Member[int]) error {
			for i := 1; i <= n; i++ {
				if err := m.Send(ctx, "slow", i); err != nil {
					return err
				}
				if d := int64(i) - handled.Load(); d > ahead.Load() {
					ahead.Store(d)
				}
			}
			return m.WaitForOutboundFence(ctx)
		}})
	require.NoError(t, err)
	require.NoError(t, a.Wait(ctx))
	require.EqualValues(t, n, handled.Load(), "the outbound fence returned before every message was handled")
	require.Zero(t, disorder.Load())
	require.LessOrEqual(t, ahead.Load(), int64(window), "the sender went beyond its window")
	require.Greater(t, ahead.Load(), int64(window/2), "the sender was never pushed back: the test shows nothing")
	l, err := srv.Client(t, 1).XLen(ctx, fmt.Sprintf("%s:{g}:in:%d", t.Name(), slow.ID().ID)).Result()
	require.NoError(t, err)
	require.LessOrEqual(t, l, int64(window+1), "the inbox is trimmed as it is handled")
}

// TrySend never waits: with the window full it fails with ErrWouldBlock and
// sends nothing.
func TestTrySendWouldBlock(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release := make(chan struct{})
	var handled atomic.Int64
	_, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "stuck", Window: 2,
		Handler: func(context.Context, managedprocess.Message[int]) { <-release; handled.Add(1) }})
	require.NoError(t, err)
	s := spawnWaiter(t, c, "g", "s")
	require.NoError(t, s.TrySend("stuck", 1))
	require.NoError(t, s.TrySend("stuck", 2))
	require.ErrorIs(t, s.TrySend("stuck", 3), fence.ErrWouldBlock)
	close(release)
	require.NoError(t, s.WaitForOutboundFence(ctx))
	require.EqualValues(t, 2, handled.Load())
}

// A member that leaves mid-round, before arriving: the round goes on without
// it, lists it in Left, and what it sent before leaving is fenced.
func TestLeaveMidRound(t *testing.T) {
	srv := redisserver.Start(t)
	c, d := newGroup(t, srv, "g"), newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var handled atomic.Int64
	recipient, err := d.Spawn(ctx, processgroup.Spec[int]{Name: "recipient", Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[int]) {
			time.Sleep(200 * time.Microsecond)
			handled.Add(1)
		}})
	require.NoError(t, err)
	leaver := spawnWaiter(t, c, "g", "leaver")
	arr, err := recipient.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, leaver.Send(ctx, "recipient", i))
	}
	require.NoError(t, leaver.Leave("g"))
	r, err := arr.Wait(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 200, handled.Load(), "what the leaver sent was not fenced")
	require.Len(t, r.Left(), 1)
	require.Equal(t, "leaver", r.Left()[0].Name)
	require.ErrorIs(t, leaver.Leave("g"), fence.ErrNotMember)
}

// The producer's side of a fence: WaitForOutboundFence returns once slow
// recipients on another coordinator handled everything the member sent
// before the call; recipients call nothing.
func TestOutboundFence(t *testing.T) {
	srv := redisserver.Start(t)
	c, d := newGroup(t, srv, "g"), newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var handled [3]atomic.Int64
	for i := range handled {
		_, err := d.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("w", i),
			Handler: func(context.Context, managedprocess.Message[int]) {
				time.Sleep(time.Millisecond)
				handled[i].Add(1)
			}})
		require.NoError(t, err)
	}
	p := spawnWaiter(t, c, "g", "producer")
	for round := 1; round <= 3; round++ {
		for j := range 30 {
			require.NoError(t, p.Send(ctx, fmt.Sprint("w", j%3), j))
		}
		require.NoError(t, p.WaitForOutboundFence(ctx))
		for i := range handled {
			require.EqualValues(t, 10*round, handled[i].Load(), "w%d", i)
		}
	}
	// Nothing sent since: it returns at once.
	require.NoError(t, p.WaitForOutboundFence(ctx))
	// Bounded by ctx, it names the lagging streams.
	stuck := make(chan struct{})
	_, err := d.Spawn(ctx, processgroup.Spec[int]{Name: "stuck",
		Handler: func(context.Context, managedprocess.Message[int]) { <-stuck }})
	require.NoError(t, err)
	defer close(stuck)
	require.NoError(t, p.Send(ctx, "stuck", 1))
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	err = p.WaitForOutboundFence(short)
	var e *fence.Error
	require.ErrorAs(t, err, &e)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, e.Lagging, 1, "%v", err)
	require.EqualValues(t, 1, e.Lagging[0].Seq)
	require.Zero(t, e.Lagging[0].Delivered)
}
