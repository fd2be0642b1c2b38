package process

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessGatedChildDoesNotStallOthers: a child whose handler is stuck,
// with its senders' windows full and a sender blocked on it, delays nothing
// between other members: children exchanging messages through the same
// coordinator meet at delivery fences round after round meanwhile. The
// blocked send is pushed back, not refused or dropped.
func TestProcessGatedChildDoesNotStallOthers(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	_, err := c.NewGroup("others")
	require.NoError(t, err)
	const window = 8
	_, err = c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "gated", Role: "gated", Window: window, Env: []string{quickExit}})
	require.NoError(t, err)
	flooder, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "flooder"})
	require.NoError(t, err)
	for range window {
		require.NoError(t, flooder.Send(ctx, "gated", msg{}))
	}
	require.ErrorIs(t, flooder.TrySend("gated", msg{}), fence.ErrWouldBlock, "the gated child's window is full")
	blocked := make(chan error, 1)
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	go func() { blocked <- flooder.Send(sendCtx, "gated", msg{}) }()

	cfg := workerConfig{workers: 3, rounds: 20, perPeer: 30, hops: 1, mode: fence.DeliveryFence}
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p", Groups: []string{"g"}})
	require.NoError(t, err)
	for i := range cfg.workers {
		w := cfg
		w.index = i
		spawn(t, c, workerName(i), "worker", w.env()...)
	}
	meet(t, ctx, p, cfg)
	select {
	case err := <-blocked:
		t.Fatalf("the send into the full window returned %v while the child is stuck", err)
	default:
	}
	stopSend()
	assert.ErrorIs(t, within(t, blocked), context.Canceled)
	require.NoError(t, c.Wait(ctx))
}

// meet has p take part in the workers' rounds (see workerRole).
func meet(t *testing.T, ctx context.Context, p managedprocess.Member[msg], cfg workerConfig) {
	t.Helper()
	_, err := p.Barrier(ctx, "g", "start", fence.Rendezvous)
	require.NoError(t, err)
	for r := 1; r <= cfg.rounds; r++ {
		_, err := p.Barrier(ctx, "g", "b", cfg.mode)
		require.NoError(t, err, "round %d", r)
		_, err = p.Barrier(ctx, "g", "counted", fence.Rendezvous)
		require.NoError(t, err, "round %d", r)
	}
}

// TestProcessOverload: a child sends many messages (10 000, or
// MUSTER_OVERLOAD) through the coordinator
// to another child whose handler is slow and whose window is small: every
// message is handled once and in order, the sender is pushed back and never
// fails, and what it has sent that the consumer has not handled stays
// within the consumer's window.
func TestProcessOverload(t *testing.T) {
	const window = 16
	n := 10_000
	if s := os.Getenv("MUSTER_OVERLOAD"); s != "" { // a longer run by hand: MUSTER_OVERLOAD=10000000
		var err error
		n, err = strconv.Atoi(s)
		require.NoError(t, err, "MUSTER_OVERLOAD")
	}
	c := newCoordinator(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*bound+time.Duration(n)*time.Millisecond)
	defer cancel()
	done := make(chan msg, 1)
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { done <- m.Body }})
	require.NoError(t, err)
	_, err = c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "consumer", Role: "consumer", Window: window,
		Env: []string{fmt.Sprintf("%s=%d", envCount, n), envSlow + "=1", quickExit}, Stderr: testWriter{t}})
	require.NoError(t, err)
	_, err = c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "producer", Role: "producer",
		Env: []string{fmt.Sprintf("%s=%d", envCount, n), quickExit}, Stderr: testWriter{t}})
	require.NoError(t, err)
	peak := 0
	for {
		select {
		case m := <-done:
			assert.EqualValues(t, n, m.Count)
			require.NoError(t, c.Wait(ctx), "the producer was never refused")
			t.Logf("at most %d messages held for the consumer at a time (window %d)", peak, window)
			return
		case <-ctx.Done():
			t.Fatal("the consumer did not handle every message in time")
		default:
		}
		// The producer's link to the consumer: what it sent that the
		// consumer has not handled. The stream's sent count is read before
		// the consumer's progress, so this never overstates it. (The
		// consumer's Queued and Handling are read at different instants:
		// their sum can count a message twice while the producer refills
		// the room the consumer just made.)
		for _, ms := range c.Snapshot().Members {
			if ms.ID.Name != "producer" {
				continue
			}
			for _, st := range ms.State.Streams {
				held := int(st.Sent - st.Delivered)
				peak = max(peak, held)
				require.LessOrEqual(t, held, window, "the producer's messages held for the consumer")
			}
		}
		time.Sleep(time.Millisecond) // sampling the coordinator's state
	}
}

// TestProcessLateWaiterSeesProgressBehindAStuckHandler: a child handled a
// message and is stuck in the handler of the next one, taken in the same
// batch (both came while it was busy with an earlier one), so it has
// reported neither; a delivery fence whose target is the
// first, draining only afterwards, still releases: the coordinator arms the
// child at that message, and the child, finding it handled, reports at once.
func TestProcessLateWaiterSeesProgressBehindAStuckHandler(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	entered := make(chan msg, 1)
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { entered <- m.Body }})
	require.NoError(t, err)
	_, err = c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "r", Role: "stuckOnTwo", Env: []string{quickExit}, Stderr: testWriter{t}})
	require.NoError(t, err)
	pq := newPair(t, c)
	require.NoError(t, pq.p.Send(ctx, "r", msg{Hop: 0})) // keeps r busy while the next two queue up
	assert.Equal(t, 0, within(t, entered).Hop, "r is in the handler of Hop 0")
	require.NoError(t, pq.p.Send(ctx, "r", msg{Hop: 1}))
	a, err := pq.p.Arrive(ctx, "g", "b", fence.DeliveryFence) // its target: the message of Hop 1
	require.NoError(t, err)
	require.NoError(t, pq.p.Send(ctx, "r", msg{Hop: 2})) // after arriving: not the round's to wait for
	assert.Equal(t, 2, within(t, entered).Hop, "r is stuck in the handler of Hop 2")
	_, err = pq.q.Barrier(ctx, "g", "b", fence.DeliveryFence) // the round drains now
	require.NoError(t, err)
	_, err = a.Wait(ctx)
	require.NoError(t, err, "p's message of Hop 1 was handled before r got stuck")
}

// TestProcessDefaultWindow: a child whose ProcessSpec sets no window takes
// DefaultProcessWindow, unless the coordinator's WithWindow sets one: a
// sender fills exactly that many into a child whose handler is stuck.
func TestProcessDefaultWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []processgroup.Option
		want int
	}{
		{"default", nil, processgroup.DefaultProcessWindow},
		{"WithWindow", []processgroup.Option{processgroup.WithWindow(16)}, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			c := processgroup.New[msg](tc.opts...)
			defer c.Close(ctx)
			_, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "gated", Role: "gated", Env: []string{quickExit}})
			require.NoError(t, err)
			sender, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "sender"})
			require.NoError(t, err)
			sent := 0
			for ; sent <= tc.want; sent++ {
				if err := sender.TrySend("gated", msg{}); err != nil {
					require.ErrorIs(t, err, fence.ErrWouldBlock)
					break
				}
			}
			assert.Equal(t, tc.want, sent, "messages the stuck child's window took")
		})
	}
}
