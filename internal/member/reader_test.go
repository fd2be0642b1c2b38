package member_test

import (
	"context"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostHandlerWorkRunsBeforeTheMessageCountsAsHandled(t *testing.T) {
	w := newWorld[int](t)
	// The sender's pending targets are read by the sender itself (the
	// owner, as arrival does), after its Send returned; the post-handler
	// work waits for them, then reads the delivery counter.
	targets := make(chan member.Target, 1)
	seen := make(chan uint64, 1)
	var r *member.Member[int]
	r = w.add("r", 0, func(ctx context.Context, msg managedprocess.Message[int]) {
		require.NoError(t, r.RunAfterCurrentHandler(ctx, func() {
			seen <- member.CounterOf(<-targets).Delivered()
		}))
	})
	s := w.add("s", 0, nil)
	require.NoError(t, s.Send(context.Background(), "r", 7))
	ts := s.PendingTargets(nil)
	require.Len(t, ts, 1, "nothing is handled before the post-handler work ran")
	targets <- ts[0]
	select {
	case d := <-seen:
		assert.Equal(t, uint64(0), d, "progress published before post-handler work ran")
	case <-time.After(5 * time.Second):
		t.Fatal("post-handler work never ran")
	}
	require.NoError(t, r.WaitForDeliveryFence(context.Background()))
	assert.Empty(t, s.PendingTargets(nil), "handled after post-handler work")
}

func TestRunAfterCurrentHandlerOutsideAHandler(t *testing.T) {
	w := newWorld[int](t)
	m := w.add("m", 0, nil)
	err := m.RunAfterCurrentHandler(context.Background(), func() {})
	assert.ErrorIs(t, err, fence.ErrNotInHandler)
}

func TestWaitForDeliveryFenceWaitsForEverythingQueuedBefore(t *testing.T) {
	w := newWorld[int](t)
	g := make(gate)
	handled := 0
	r := w.add("r", 0, func(context.Context, managedprocess.Message[int]) { <-g; handled++ })
	s := w.add("s", 0, nil)
	for i := range 10 {
		require.NoError(t, s.Send(context.Background(), "r", i))
	}
	fenced := make(chan error, 1)
	go func() { fenced <- r.WaitForDeliveryFence(context.Background()) }()
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, r.WaitForDeliveryFence(short), context.DeadlineExceeded)
	select {
	case err := <-fenced:
		t.Fatalf("fence returned %v while messages were unhandled", err)
	default:
	}
	g.open()
	select {
	case err := <-fenced:
		require.NoError(t, err)
		assert.Equal(t, 10, handled) // the fence synchronizes after every handler
	case <-time.After(5 * time.Second):
		t.Fatal("fence never returned")
	}
}

func TestWaitForDeliveryFenceFromOwnHandlerIsRefused(t *testing.T) {
	w := newWorld[int](t)
	errs := make(chan error, 1)
	var r *member.Member[int]
	r = w.add("r", 0, func(ctx context.Context, _ managedprocess.Message[int]) {
		errs <- r.WaitForDeliveryFence(ctx)
	})
	s := w.add("s", 0, nil)
	require.NoError(t, s.Send(context.Background(), "r", 1))
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, fence.ErrInHandler)
	case <-time.After(5 * time.Second):
		t.Fatal("handler never ran")
	}
}

func TestHandlerPanicCrashesTheMemberAndDropsWhatIsQueued(t *testing.T) {
	w := newWorld[int](t)
	w.expectCrashes = true
	g := make(gate)
	handled := 0
	r := w.add("r", 0, func(_ context.Context, msg managedprocess.Message[int]) {
		<-g
		if msg.Body == 3 {
			panic("boom")
		}
		handled++
	})
	s := w.add("s", 0, nil)
	for i := 1; i <= 6; i++ {
		require.NoError(t, s.Send(context.Background(), "r", i))
	}
	g.open()
	var perr *fence.PanicError
	select {
	case err := <-w.crashes:
		require.ErrorAs(t, err, &perr)
	case <-time.After(5 * time.Second):
		t.Fatal("no crash reported")
	}
	assert.Equal(t, "boom", perr.Value)
	assert.Contains(t, string(perr.Stack), "TestHandlerPanicCrashes")
	assert.ErrorIs(t, perr, fence.ErrCrashed)
	within(t, r.Done())
	st := r.Snapshot()
	assert.Equal(t, 2, handled)
	assert.Equal(t, uint64(2), st.Handled)
	assert.Equal(t, uint64(4), st.Dropped, "the panicking message and the three after it")
	assert.Empty(t, s.PendingTargets(nil), "dropped messages publish their progress")
	assert.ErrorIs(t, s.Send(context.Background(), "r", 7), fence.ErrCrashed)
	assert.ErrorIs(t, r.WaitForDeliveryFence(context.Background()), fence.ErrCrashed)
}

func TestStopHandlesWhatIsQueuedAndDropDoesNot(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(map[bool]string{false: "stop", true: "drop"}[drop], func(t *testing.T) {
			w := newWorld[int](t)
			handled := 0
			r := w.addStopped("r", 0, func(context.Context, managedprocess.Message[int]) { handled++ })
			s := w.add("s", 0, nil)
			for i := range 5 {
				require.NoError(t, s.Send(context.Background(), "r", i))
			}
			r.Stop(fence.ErrExited, drop)
			r.Start(context.Background())
			within(t, r.Done())
			st := r.Snapshot()
			if drop {
				assert.Equal(t, 0, handled)
				assert.Equal(t, uint64(5), st.Dropped)
			} else {
				assert.Equal(t, 5, handled)
			}
			assert.Empty(t, s.PendingTargets(nil))
			assert.ErrorIs(t, st.Err, fence.ErrExited)
		})
	}
}

func TestProgressNotifiesOnlyWhenAnArmedThresholdIsCrossed(t *testing.T) {
	w := newWorld[int](t)
	g := make(gate)
	r := w.add("r", 0, func(context.Context, managedprocess.Message[int]) { <-g })
	s := w.add("s", 0, nil)
	for i := range 1000 {
		require.NoError(t, s.Send(context.Background(), "r", i))
	}
	ts := s.PendingTargets(nil)
	require.Len(t, ts, 1)
	assert.Equal(t, fence.Target{Recipient: r.ID(), Sender: s.ID(), Seq: 1000}, ts[0].Target)
	member.CounterOf(ts[0]).Arm(500)
	g.open()
	require.NoError(t, r.WaitForDeliveryFence(context.Background()))
	assert.Equal(t, int64(1), w.dir.crossings.Load(), "one crossing, one notification")
	lag, unmet := ts[0].Lag()
	assert.False(t, unmet)
	assert.Equal(t, uint64(1000), lag.Delivered)
	assert.Empty(t, s.PendingTargets(nil), "delivered links leave the pending set")
}

func TestSendAllocatesNothingPerMessage(t *testing.T) {
	w := newWorld[[64]byte](t)
	r := w.add("r", 0, func(context.Context, managedprocess.Message[[64]byte]) {})
	s := w.add("s", 0, nil)
	var payload [64]byte
	ctx := context.Background()
	send := func() {
		if err := s.SendTo(ctx, r.ID(), payload); err != nil {
			t.Fatal(err)
		}
	}
	for range 10000 { // warm the inbox buffers
		send()
	}
	require.NoError(t, r.WaitForDeliveryFence(ctx))
	allocs := testing.AllocsPerRun(10000, send)
	assert.Zero(t, allocs)
}
