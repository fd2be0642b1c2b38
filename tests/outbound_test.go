package tests

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutboundFenceReturnsOnlyOnceEveryTaskWasHandled: a producer hands
// tasks to workers and waits with its outbound fence; the workers call
// nothing. At the instant the fence returns, every task sent before it must
// have been handled — checked over many rounds, with workers that yield in
// their handlers so that the fence races the last handlers.
func TestOutboundFenceReturnsOnlyOnceEveryTaskWasHandled(t *testing.T) {
	const workers, rounds, tasks = 4, 300, 16
	ctx := testCtx(t)
	c := newCoordinator(t)
	var handled atomic.Int64
	ws := make([]managedprocess.Member[msg], workers)
	for i := range ws {
		ws[i] = spawnIdle(t, c, []string{"w0", "w1", "w2", "w3"}[i], func(context.Context, managedprocess.Message[msg]) {
			runtime.Gosched()
			handled.Add(1)
		})
	}
	p := spawnIdle(t, c, "producer", nil)
	sent := int64(0)
	early := 0
	for r := range rounds {
		for k := range tasks {
			require.NoError(t, p.SendTo(ctx, ws[(r+k)%workers].ID(), msg{Round: r, Hop: k}))
			sent++
		}
		require.NoError(t, p.WaitForOutboundFence(ctx))
		if h := handled.Load(); h != sent {
			early++
			t.Errorf("round %d: fence returned with %d of %d tasks handled", r, h, sent)
		}
	}
	assert.Zero(t, early)
}

// TestOutboundFenceWaitsForAGatedWorkerAndNamesTheLaggingStream: while a
// worker's handler is held, the fence does not return; a fence whose context
// ends reports which stream lags behind which target; once the worker goes
// on, the fence returns.
func TestOutboundFenceWaitsForAGatedWorkerAndNamesTheLaggingStream(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	open := make(chan struct{})
	var handled atomic.Int64
	w := spawnIdle(t, c, "w", func(hctx context.Context, _ managedprocess.Message[msg]) {
		gate(hctx, open)
		handled.Add(1)
	})
	p := spawnIdle(t, c, "p", nil)
	for range 3 {
		require.NoError(t, p.SendTo(ctx, w.ID(), msg{}))
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	err := p.WaitForOutboundFence(short)
	cancel()
	fe := fenceErr(t, err, context.DeadlineExceeded)
	assert.True(t, fe.Timeout())
	require.Len(t, fe.Lagging, 1)
	assert.Equal(t, w.ID(), fe.Lagging[0].Recipient)
	assert.Equal(t, p.ID(), fe.Lagging[0].Sender)
	assert.EqualValues(t, 3, fe.Lagging[0].Seq)
	assert.Zero(t, fe.Lagging[0].Delivered)
	assert.Contains(t, err.Error(), "muster: outbound fence by p#2: context deadline exceeded; lagging: [p#2→w#1 0/3]")

	done := make(chan error, 1)
	go func() { done <- p.WaitForOutboundFence(ctx) }()
	close(open)
	require.NoError(t, within(t, done))
	assert.EqualValues(t, 3, handled.Load(), "the fence returned before the worker handled everything")
}

// TestOutboundFenceRefusals: nothing pending returns at once; a handler
// may not wait; a departed member gets its departure cause; a close releases
// a waiting fence with ErrClosed.
func TestOutboundFenceRefusals(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	inHandler := make(chan error, 1)
	release := make(chan struct{}) // w's message stays unhandled until after the close
	var p managedprocess.Member[msg]
	w := spawnIdle(t, c, "w", func(hctx context.Context, _ managedprocess.Message[msg]) {
		inHandler <- p.WaitForOutboundFence(hctx)
		<-hctx.Done()
		<-release
	})
	p = spawnIdle(t, c, "p", nil)
	require.NoError(t, p.WaitForOutboundFence(ctx), "nothing sent: nothing to wait for")
	require.NoError(t, p.SendTo(ctx, w.ID(), msg{}))
	assert.ErrorIs(t, within(t, inHandler), fence.ErrInHandler)

	waiting := make(chan error, 1)
	go func() { waiting <- p.WaitForOutboundFence(ctx) }()
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ctx) }() // returns once w's handler does
	assert.ErrorIs(t, within(t, waiting), fence.ErrClosed)
	close(release)
	require.NoError(t, within(t, closed))
	assert.ErrorIs(t, p.WaitForOutboundFence(ctx), fence.ErrClosed, "after Close: p's departure cause")
}

// TestAHandlerRepliesThroughItsMessage: a handler replies with msg.Reply,
// with no closure over its member, and reaches its member with
// msg.Recipient(); a reply from a handler's context is exempt from the bound,
// so two members ping-ponging through full windows never block their
// readers.
func TestAHandlerRepliesThroughItsMessage(t *testing.T) {
	const rounds = 200
	ctx := testCtx(t)
	c := newCoordinator(t, processgroup.WithWindow(1))
	got := make(chan int, 1)
	spawnIdle(t, c, "echo", func(hctx context.Context, m managedprocess.Message[msg]) {
		if m.Recipient() == nil || m.Recipient().ID().Name != "echo" {
			panic("no recipient")
		}
		if err := m.Reply(hctx, msg{Hop: m.Body.Hop + 1}); err != nil {
			panic(err)
		}
	})
	asker := spawnIdle(t, c, "asker", func(hctx context.Context, m managedprocess.Message[msg]) {
		if m.Body.Hop >= rounds {
			got <- m.Body.Hop
			return
		}
		if err := m.Reply(hctx, msg{Hop: m.Body.Hop + 1}); err != nil {
			panic(err)
		}
	})
	require.NoError(t, asker.Send(ctx, "echo", msg{Hop: 1}))
	assert.Equal(t, rounds, within(t, got))
	assert.ErrorIs(t, managedprocess.Message[msg]{}.Reply(ctx, msg{}), fence.ErrUnknownMember)
}
