package tests

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLifecycleSendToAMemberOfAnotherCoordinatorIsRefused: the recipient
// would report its progress to its own coordinator's watcher, so the
// sender's next fence could never release. The send must be refused.
func TestLifecycleSendToAMemberOfAnotherCoordinatorIsRefused(t *testing.T) {
	ctx := testCtx(t)
	c1, c2 := newCoordinator(t), newCoordinator(t)
	g := newGroup(t, c1, "g")
	a := spawnIdle(t, c1, "a", nil, "g")
	b := spawnIdle(t, c1, "b", nil, "g")
	foreign := spawnIdle(t, c2, "f", nil)

	require.ErrorIs(t, a.SendTo(ctx, foreign.ID(), msg{}), fence.ErrUnknownMember)
	require.ErrorIs(t, a.Send(ctx, foreign.ID().Name, msg{}), fence.ErrUnknownMember)
	assert.ErrorIs(t, a.SendTo(ctx, fence.Identity{}, msg{}), fence.ErrUnknownMember)

	fctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	outs := []<-chan outcome{goBarrier(fctx, g, a, "x", fence.DeliveryFence), goBarrier(fctx, g, b, "x", fence.DeliveryFence)}
	for _, out := range outs {
		require.NoError(t, within(t, out).err, "a's fence after the refused send")
	}
}

// TestLifecycleGoexitInAHandlerCrashesTheMember: runtime.Goexit (what
// t.FailNow and require do) in a handler is neither a return nor a panic;
// it must crash the member, not silently kill its reader.
func TestLifecycleGoexitInAHandlerCrashesTheMember(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	open := make(chan struct{})
	p := spawnIdle(t, c, "P", func(hctx context.Context, _ managedprocess.Message[msg]) {
		gate(hctx, open)
		runtime.Goexit()
	}, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	for range 3 {
		require.NoError(t, a.SendTo(ctx, p.ID(), msg{}))
	}
	arr := arrive(t, ctx, g, a, "x", fence.DeliveryFence)
	close(open)
	fe := fenceErr(t, within(t, goWait(ctx, arr)).err, fence.ErrGoexit)
	assert.ErrorIs(t, fe, fence.ErrCrashed)
	assert.Equal(t, []string{"P"}, departedNames(fe.Departed))
	within(t, p.Done())
	st := p.Snapshot()
	assert.EqualValues(t, 3, st.Dropped, "the message being handled and the two behind it")
	settle(a)
	assert.ErrorIs(t, a.SendTo(ctx, p.ID(), msg{}), fence.ErrGoexit, "sends to the crashed member")
	_, running := memberSnap(c, "P")
	assert.False(t, running)
}

// TestLifecycleGoexitInARunFunctionFailsItsOpenRound: a member whose run
// function calls runtime.Goexit while a round waits for it fails the round,
// naming it.
func TestLifecycleGoexitInARunFunctionFailsItsOpenRound(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	exit := make(chan struct{})
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "P", Groups: []string{"g"},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			<-exit
			runtime.Goexit()
			return nil
		}})
	require.NoError(t, err)
	a := spawnIdle(t, c, "A", nil, "g")
	arr := arrive(t, ctx, g, a, "x", fence.DeliveryFence)
	close(exit)
	fe := fenceErr(t, within(t, goWait(ctx, arr)).err, fence.ErrGoexit)
	assert.Equal(t, []string{"P"}, departedNames(fe.Departed))
}

// TestLifecycleADepartedMembersHandlerSeesItsContextEnd: after the run
// function returns, a handler blocked on its context must return, with the
// departure as the context's cause, instead of living until Close.
func TestLifecycleADepartedMembersHandlerSeesItsContextEnd(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	entered := make(chan struct{})
	cause := make(chan error, 1)
	x, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "X",
		Handler: func(hctx context.Context, _ managedprocess.Message[msg]) {
			close(entered)
			<-hctx.Done()
			cause <- context.Cause(hctx)
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			<-entered
			return nil
		}})
	require.NoError(t, err)
	s := spawnIdle(t, c, "S", nil)
	require.NoError(t, s.SendTo(ctx, x.ID(), msg{}))
	assert.ErrorIs(t, within(t, cause), fence.ErrExited)
	within(t, x.Done())
}

// TestLifecycleADepartedMemberCannotCallAnything: after its run function
// returned, every call on the member returns its departure cause; nothing
// it would send is queued unfenced.
func TestLifecycleADepartedMemberCannotCallAnything(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	r := spawnIdle(t, c, "R", nil, "g")
	x, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "X", Groups: []string{"g"},
		Run: func(context.Context, managedprocess.Member[msg]) error { return nil }})
	require.NoError(t, err)
	within(t, x.Done())
	eventually(t, "X departed", func() bool { _, running := memberSnap(c, "X"); return !running })

	calls := map[string]error{
		"Send":                 x.Send(ctx, "R", msg{}),
		"SendTo":               x.SendTo(ctx, r.ID(), msg{}),
		"TrySend":              x.TrySend("R", msg{}),
		"Publish":              x.Publish(ctx, "g", msg{}),
		"WaitForDeliveryFence": x.WaitForDeliveryFence(ctx),
	}
	_, calls["Barrier"] = x.Barrier(ctx, g.Name(), "b", fence.DeliveryFence)
	_, calls["Arrive"] = x.Arrive(ctx, g.Name(), "b", fence.DeliveryFence)
	for name, err := range calls {
		assert.ErrorIs(t, err, fence.ErrExited, name)
	}
	assert.Zero(t, x.Snapshot().Leading, "X sent nothing")
	assert.Zero(t, r.Snapshot().Handled+r.Snapshot().Dropped, "R received nothing")
}

// TestLifecycleADepartedMemberCannotSendWhereItSentBefore: a member that
// sent to R before its run function returned cannot send to R afterwards
// (behind a wire, its credit on the link does not outlive it), and R got
// only what it sent before.
func TestLifecycleADepartedMemberCannotSendWhereItSentBefore(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	r := spawnIdle(t, c, "R", nil)
	x, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "X",
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error { return m.Send(ctx, "R", msg{Hop: 1}) }})
	require.NoError(t, err)
	within(t, x.Done())
	assert.ErrorIs(t, x.Send(ctx, "R", msg{Hop: 2}), fence.ErrExited)
	assert.ErrorIs(t, x.SendTo(ctx, r.ID(), msg{Hop: 3}), fence.ErrExited)
	require.NoError(t, r.WaitForDeliveryFence(ctx))
	assert.EqualValues(t, 1, r.Snapshot().Handled, "R got the message sent before X departed, and no other")
}

// TestLifecycleABarrierRetriedAfterItsContextEndedAttachesToItsArrival:
// the arrival of a Barrier whose context ended stands; the member's next
// call must return that round's outcome, whether the round is still open or
// already finished, and never land in the next round.
func TestLifecycleABarrierRetriedAfterItsContextEndedAttachesToItsArrival(t *testing.T) {
	for _, finishedFirst := range []bool{false, true} {
		name := map[bool]string{false: "round still open", true: "round finished before the retry"}[finishedFirst]
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g")
			a := spawnIdle(t, c, "A", nil, "g")
			b := spawnIdle(t, c, "B", nil, "g")
			short, cancel := context.WithTimeout(ctx, time.Millisecond)
			_, err := a.Barrier(short, g.Name(), "x", fence.DeliveryFence)
			cancel()
			fe := fenceErr(t, err, context.DeadlineExceeded)
			require.EqualValues(t, 1, fe.Round)

			var outB <-chan outcome
			if finishedFirst {
				res, err := b.Barrier(ctx, g.Name(), "x", fence.DeliveryFence)
				require.NoError(t, err, "A's arrival stands, so B's round completes")
				require.EqualValues(t, 1, res.Round)
			}
			retry := goBarrier(ctx, g, a, "x", fence.DeliveryFence)
			if !finishedFirst {
				outB = goBarrier(ctx, g, b, "x", fence.DeliveryFence)
			}
			o := within(t, retry)
			require.NoError(t, o.err)
			assert.EqualValues(t, 1, o.res.Round, "the retry returns the outcome of the round it arrived at")
			if outB != nil {
				require.NoError(t, within(t, outB).err)
			}
			// The next calls are a new round for both.
			next := []<-chan outcome{goBarrier(ctx, g, a, "x", fence.DeliveryFence), goBarrier(ctx, g, b, "x", fence.DeliveryFence)}
			for _, out := range next {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 2, o.res.Round)
			}
		})
	}
}

// TestLifecyclePublishWaitsForEveryWindow: a Publish waits until the
// publisher's window at every recipient has room and then queues to all of
// them at once; meanwhile it queues to none. Another sender's backlog at a
// recipient does not count against the publisher's window there.
func TestLifecyclePublishWaitsForEveryWindow(t *testing.T) {
	const window = 4
	ctx := testCtx(t)
	c := newCoordinator(t, processgroup.WithWindow(window))
	newGroup(t, c, "g")
	gates := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	entered := make(chan int, 2)
	var rs [2]managedprocess.Member[msg]
	for i := range rs {
		rs[i] = spawnIdle(t, c, []string{"R1", "R2"}[i], func(hctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop == 0 {
				entered <- i
				gate(hctx, gates[i])
			}
		}, "g")
	}
	p := spawnIdle(t, c, "P", nil, "g")
	s := spawnIdle(t, c, "S", nil)

	// Each reader takes one message of P's and blocks in its handler.
	for _, r := range rs {
		require.NoError(t, p.SendTo(ctx, r.ID(), msg{Hop: 0}))
	}
	within(t, entered)
	within(t, entered)
	for range window { // S's window at R1: full; P's has three slots left
		require.NoError(t, s.SendTo(ctx, rs[0].ID(), msg{Hop: 1}))
	}
	settle(s)
	for range window - 1 { // P's window at R2: full
		require.NoError(t, p.SendTo(ctx, rs[1].ID(), msg{Hop: 1}))
	}
	published := make(chan error, 1)
	go func() { published <- p.Publish(ctx, "g", msg{Hop: 2}) }()
	eventually(t, "the publish waits for R2", func() bool { return len(p.Snapshot().Waiting) == 1 })
	assert.Equal(t, rs[1].ID(), p.Snapshot().Waiting[0].To)
	assert.Equal(t, []managedprocess.StreamState{
		{Recipient: rs[0].ID(), Sent: 1}, {Recipient: rs[1].ID(), Sent: window},
	}, p.Snapshot().Streams, "nothing published while one window is full")
	close(gates[1]) // R2 handles P's backlog
	require.NoError(t, within(t, published), "room at R2: S's backlog at R1 is S's, not P's")
	st := p.Snapshot()
	require.Len(t, st.Streams, 2)
	assert.EqualValues(t, 2, st.Streams[0].Sent, "R1: the first message and the publish")
	assert.EqualValues(t, window+1, st.Streams[1].Sent, "R2: the window and the publish")
	assert.EqualValues(t, 2+(window-1)+1, st.Leading, "the publish is one message of P's stream")
	assert.Equal(t, window+1, rs[0].Snapshot().Queued, "R1: S's window and the publish, behind the handled message")
	close(gates[0])
}

// TestLifecycleWindowsArePerSender: every sender has its own window at a
// recipient, whatever its ID: two senders that share an inbox lane (IDs
// equal modulo 4) can each queue a whole window, and only their own backlog
// refuses them.
func TestLifecycleWindowsArePerSender(t *testing.T) {
	const window = 3
	ctx := testCtx(t)
	c := newCoordinator(t)
	open, entered := make(chan struct{}), make(chan struct{}, 2*window)
	r, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "R", Window: window,
		Handler: func(hctx context.Context, _ managedprocess.Message[msg]) { entered <- struct{}{}; gate(hctx, open) }})
	require.NoError(t, err)
	senders := make([]managedprocess.Member[msg], 5) // IDs 2 … 6: the first and the last share a lane
	for i := range senders {
		senders[i] = spawnIdle(t, c, fmt.Sprintf("s%d", i), nil)
	}
	first, last := senders[0], senders[4]
	require.NoError(t, first.TrySend("R", msg{})) // taken alone: R's handler holds it
	within(t, entered)
	for s, n := range map[managedprocess.Member[msg]]int{first: window - 1, last: window} {
		for k := range n {
			require.NoError(t, s.TrySend("R", msg{Hop: k}), "%v's message %d of %d", s, k+1, n)
		}
		assert.ErrorIs(t, s.TrySend("R", msg{}), fence.ErrWouldBlock, "%v's window is full", s)
	}
	settle(first)
	settle(last)
	assert.Equal(t, 2*window-1, r.Snapshot().Queued, "both windows queued, behind the message being handled")
	close(open)
	require.NoError(t, r.WaitForDeliveryFence(ctx))
	assert.EqualValues(t, 2*window, r.Snapshot().Handled)
}

// TestLifecycleSnapshotShowsAStuckHandler: with messages outstanding at a
// recipient whose handler is blocked, the Snapshot counts every one of them
// (also those in the batch the reader took) and shows the running handler,
// on which message, since when.
func TestLifecycleSnapshotShowsAStuckHandler(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	gates := map[int]chan struct{}{0: make(chan struct{}), 1: make(chan struct{})}
	entered := make(chan int, 2)
	r := spawnIdle(t, c, "R", func(hctx context.Context, m managedprocess.Message[msg]) {
		if g := gates[m.Body.Hop]; g != nil {
			entered <- m.Body.Hop
			gate(hctx, g)
		}
	})
	s := spawnIdle(t, c, "S", nil)
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 0}))
	require.Equal(t, 0, within(t, entered))
	for i := 1; i <= 20; i++ {
		require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: i}))
	}
	settle(s)
	before := time.Now()
	close(gates[0]) // the reader takes all 20 at once and blocks on the first
	require.Equal(t, 1, within(t, entered))
	st := r.Snapshot()
	assert.Equal(t, 19, st.Queued, "the 19 messages behind the stuck one:\n%s", st)
	require.NotNil(t, st.Handling, "a handler is running")
	assert.Equal(t, s.ID(), st.Handling.From)
	assert.EqualValues(t, 2, st.Handling.Seq, "S's second message")
	assert.False(t, st.Handling.Since.Before(before.Add(-time.Second)))
	assert.False(t, st.Handling.Since.After(time.Now()))
	assert.Contains(t, st.String(), "handling=[S#")
	again := r.Snapshot()
	assert.Equal(t, st.Handling.Since, again.Handling.Since, "the same stuck handler keeps its start")
	close(gates[1])
	eventually(t, "R handled all", func() bool { return r.Snapshot().Handled == 21 })
	assert.Nil(t, r.Snapshot().Handling)
}

// TestLifecycleBadArgumentsGetTypedErrors: nil contexts, negative
// capacities and huge names are refused with typed errors of bounded size,
// and change nothing.
func TestLifecycleBadArgumentsGetTypedErrors(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	m := spawnIdle(t, c, "m", nil, "g")
	huge := strings.Repeat("n", 1<<20)

	var err error
	assert.NotPanics(t, func() { _, err = c.Spawn(nil, processgroup.Spec[msg]{Name: "a"}) })
	assert.ErrorIs(t, err, fence.ErrInvalidArgument, "Spawn(nil, …)")
	_, err = c.Spawn(ctx, processgroup.Spec[msg]{Name: "b", Window: -1})
	assert.ErrorIs(t, err, fence.ErrInvalidArgument, "negative Spec.Window")
	neg := newCoordinator(t, processgroup.WithWindow(-5))
	_, err = neg.Spawn(ctx, processgroup.Spec[msg]{Name: "c"})
	assert.ErrorIs(t, err, fence.ErrInvalidArgument, "negative WithWindow")
	assert.NotPanics(t, func() { _, err = m.Barrier(nil, g.Name(), "x", fence.DeliveryFence) })
	assert.ErrorIs(t, err, fence.ErrInvalidArgument, "Barrier(nil, …)")
	assert.NotPanics(t, func() { err = m.Send(nil, "m", msg{}) })
	assert.ErrorIs(t, err, fence.ErrInvalidArgument, "Send(nil, …)")

	for what, err := range map[string]error{
		"spawn":   second(c.Spawn(ctx, processgroup.Spec[msg]{Name: huge})),
		"group":   second(c.Group(huge)),
		"send":    m.Send(ctx, huge, msg{}),
		"barrier": second(m.Barrier(ctx, g.Name(), huge, fence.DeliveryFence)),
	} {
		require.Error(t, err, what)
		assert.Less(t, len(err.Error()), 1024, "%s: a 1 MiB name must not make a 1 MiB error", what)
	}
	assert.Len(t, c.Snapshot().Members, 1, "nothing was spawned")
}

// second returns the error of a two-value call.
func second[V any](_ V, err error) error { return err }

// TestLifecycleAMemberThatCrashesMidChainIsNotWaitedFor is a regression
// guard for the departed member's handlers: a crash while its own handlers
// are forwarding drops the rest and the survivors' processing fence still
// releases.
func TestLifecycleAMemberThatCrashesMidChainIsNotWaitedFor(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g", processgroup.CompleteForSurvivors())
	var forwarded atomic.Int64
	var self [2]managedprocess.Member[msg]
	for i := range self {
		self[i] = spawnIdle(t, c, []string{"A", "B"}[i], func(hctx context.Context, m managedprocess.Message[msg]) {
			if i == 1 && m.Body.Hop >= 50 {
				panic("mid-chain")
			}
			forwarded.Add(1)
			_ = self[i].SendTo(hctx, self[1-i].ID(), msg{Hop: m.Body.Hop + 1})
		}, "g")
	}
	// A arrives before the chain starts, so B crashes while the round is
	// open (a chain of posts through a wire can outrun a barrier call).
	arr := arrive(t, ctx, g, self[0], "x", fence.ProcessingFence)
	require.NoError(t, self[0].SendTo(ctx, self[1].ID(), msg{Hop: 1}))
	res, err := arr.Wait(ctx)
	require.NoError(t, err, "B never arrives: the round completes once it crashed")
	assert.Equal(t, []string{"B"}, departedNames(res.Departed()))
	assert.ErrorIs(t, res.Departed()[0].Cause, fence.ErrCrashed)
}

// TestLifecycleHandlersBlockedOnEachOthersFullInboxesAreVisible: a handler
// that sends with a context not derived from its handler context is not
// exempt from the bound, so two such handlers sending into each other's
// full windows wait for each other. That must not be silent: each member's
// Snapshot shows its send waiting for room at the other, and the sends'
// errors say the inbox was full.
func TestLifecycleHandlersBlockedOnEachOthersFullInboxesAreVisible(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t, processgroup.WithWindow(1))
	own, cancel := context.WithCancel(context.Background()) // not the handlers' contexts
	defer cancel()
	errs := make(chan error, 2)
	var both sync.WaitGroup // both readers are busy with S's message before either sends
	both.Add(2)
	var ms [2]managedprocess.Member[msg]
	for i := range ms {
		ms[i] = spawnIdle(t, c, []string{"A", "B"}[i], func(_ context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop != 0 {
				return
			}
			both.Done()
			both.Wait()
			for range 3 {
				if err := ms[i].SendTo(own, ms[1-i].ID(), msg{Hop: 1}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		})
	}
	s := spawnIdle(t, c, "S", nil)
	for _, m := range ms {
		require.NoError(t, s.SendTo(ctx, m.ID(), msg{Hop: 0}))
	}
	eventually(t, "both sends waiting for room", func() bool {
		a, b := ms[0].Snapshot(), ms[1].Snapshot()
		return len(a.Waiting) == 1 && a.Waiting[0].To == ms[1].ID() &&
			len(b.Waiting) == 1 && b.Waiting[0].To == ms[0].ID()
	})
	st := ms[0].Snapshot()
	assert.Contains(t, st.String(), "waiting-for-room=[B#2 for")
	require.NotNil(t, st.Handling, "A's handler is the one waiting")
	cancel()
	// The first send to see the cancellation fails and its handler returns,
	// which makes room for the other: that one may still go through (the
	// cancellation reaches it after the room does), never both.
	cancelled := 0
	for range 2 {
		if err := within(t, errs); err != nil {
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorContains(t, err, "window of 1 unhandled messages full for")
			cancelled++
		}
	}
	assert.NotZero(t, cancelled, "both sends went through: nothing was waiting")
	assert.Empty(t, ms[0].Snapshot().Waiting)
}

// TestLifecycleAnExitWithAnotherMembersCrashStillHandlesItsQueue: a member
// whose run function returns the barrier error that another member's crash
// caused exits, it does not crash: the messages queued for it are handled,
// not dropped.
func TestLifecycleAnExitWithAnotherMembersCrashStillHandlesItsQueue(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	open := make(chan struct{})
	var handled atomic.Int64
	barrierErr := make(chan error, 1)
	// B joins first, so that A's round expects it.
	crash := make(chan struct{})
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "B", Groups: []string{"g"},
		Run: func(context.Context, managedprocess.Member[msg]) error {
			<-crash
			panic("B fails")
		}})
	require.NoError(t, err)
	a, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "A", Groups: []string{"g"},
		Handler: func(hctx context.Context, _ managedprocess.Message[msg]) {
			<-open // not hctx: A's context ends when it exits, the handler must still run
			handled.Add(1)
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			_, err := m.Barrier(ctx, g.Name(), "x", fence.DeliveryFence)
			barrierErr <- err
			return err
		}})
	require.NoError(t, err)
	s := spawnIdle(t, c, "S", nil)
	for range 3 {
		require.NoError(t, s.SendTo(ctx, a.ID(), msg{}))
	}
	settle(s)
	eventually(t, "A arrived", func() bool {
		rs := groupSnap(c, "g").Rounds
		return len(rs) == 1 && len(rs[0].Arrived) == 1 && rs[0].Arrived[0] == a.ID()
	})
	close(crash)
	require.ErrorIs(t, within(t, barrierErr), fence.ErrCrashed, "B's crash fails A's round")
	close(open)
	within(t, a.Done())
	st := a.Snapshot()
	assert.EqualValues(t, 3, handled.Load())
	assert.Zero(t, st.Dropped, "A exited; it did not crash:\n%s", st)
	assert.ErrorIs(t, st.Err, fence.ErrExited)
}
