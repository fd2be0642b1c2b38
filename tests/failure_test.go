package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailureLeaveMidRound: a Leave is graceful, with either policy: the
// round neither fails nor waits for the leaver. A leaver that had not
// arrived is listed in Result.Left; one that had arrived is still in the
// round, its arrival standing (its waiter gets the round's Result).
func TestFailureLeaveMidRound(t *testing.T) {
	for _, survivors := range []bool{false, true} {
		for _, leaverArrived := range []bool{false, true} {
			t.Run(fmt.Sprintf("survivors=%v/arrived=%v", survivors, leaverArrived), func(t *testing.T) {
				ctx := testCtx(t)
				c := newCoordinator(t)
				var opts []processgroup.GroupOption
				if survivors {
					opts = append(opts, processgroup.CompleteForSurvivors())
				}
				g := newGroup(t, c, "g", opts...)
				a := spawnIdle(t, c, "A", nil, "g")
				b := spawnIdle(t, c, "B", nil, "g")
				cm := spawnIdle(t, c, "C", nil, "g")

				outs := []<-chan outcome{goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))}
				if leaverArrived {
					outs = append(outs, goWait(ctx, arrive(t, ctx, g, cm, "x", fence.DeliveryFence)))
				}
				require.NoError(t, cm.Leave(g.Name()))
				rs := groupSnap(c, "g").Rounds
				require.Len(t, rs, 1, "the round waits for B")
				assert.Equal(t, []string{"B"}, names(rs[0].Missing))
				assert.Empty(t, rs[0].Departed)
				wantLeft := []string{"C"}
				if leaverArrived {
					wantLeft = []string{}
				}
				assert.Equal(t, wantLeft, names(rs[0].Left))
				assert.Equal(t, []string{"A", "B"}, names(groupSnap(c, "g").Members))
				assert.ErrorIs(t, cm.Leave(g.Name()), fence.ErrNotMember, "leaving twice")

				outs = append(outs, goBarrier(ctx, g, b, "x", fence.DeliveryFence))
				for _, out := range outs {
					o := within(t, out)
					require.NoError(t, o.err)
					assert.EqualValues(t, 1, o.res.Round)
					assert.Empty(t, o.res.Departed())
					assert.Equal(t, wantLeft, names(o.res.Left()))
				}
			})
		}
	}
}

// failingAs spawns a member called name in g whose Run waits for exit,
// arriving at "x" first if arrived is non-nil (closing it once it did), and
// then returns body().
func failingAs(t *testing.T, c *processgroup.Coordinator[msg], g *processgroup.Group[msg], name string, arrived chan<- struct{}, body func() error) (exit chan<- struct{}) {
	ex := make(chan struct{})
	_, err := c.Spawn(withWire(context.Background()), processgroup.Spec[msg]{Name: name, Groups: []string{g.Name()},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if arrived != nil {
				if _, err := m.Arrive(ctx, g.Name(), "x", fence.DeliveryFence); err != nil {
					t.Errorf("%s arrive: %v", name, err)
					return nil
				}
				close(arrived)
			}
			if !gate(ctx, ex) {
				return nil
			}
			return body()
		}})
	require.NoError(t, err)
	return ex
}

// TestFailureDepartureCompleteForSurvivors: with CompleteForSurvivors a
// member that fails (its run returns an error) does not fail the round: it
// completes for the others, listing the failed member in Result.Departed,
// whether it had arrived or not.
func TestFailureDepartureCompleteForSurvivors(t *testing.T) {
	for _, failerArrived := range []bool{false, true} {
		t.Run(fmt.Sprintf("arrived=%v", failerArrived), func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g", processgroup.CompleteForSurvivors())
			a := spawnIdle(t, c, "A", nil, "g")
			b := spawnIdle(t, c, "B", nil, "g")
			var arrived chan struct{}
			if failerArrived {
				arrived = make(chan struct{})
			}
			exit := failingAs(t, c, g, "F", arrived, func() error { return errBoom })
			if arrived != nil {
				within(t, arrived)
			}

			outs := []<-chan outcome{goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))}
			close(exit)
			eventually(t, "F departed", func() bool {
				rs := groupSnap(c, "g").Rounds
				return len(rs) == 1 && len(rs[0].Departed) == 1
			})
			rs := groupSnap(c, "g").Rounds
			assert.Equal(t, []string{"B"}, names(rs[0].Missing), "the round waits for B")
			assert.Equal(t, []string{"F"}, departedNames(rs[0].Departed))
			outs = append(outs, goBarrier(ctx, g, b, "x", fence.DeliveryFence))
			for _, out := range outs {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 1, o.res.Round)
				require.Equal(t, []string{"F"}, departedNames(o.res.Departed()))
				assert.ErrorIs(t, o.res.Departed()[0].Cause, fence.ErrExited)
				assertCausedBy(t, o.res.Departed()[0].Cause, errBoom)
				assert.Empty(t, o.res.Left())
			}
		})
	}
}

// exiting spawns E in g whose Run arrives at "x", then waits for exit and
// runs body.
func exiting(t *testing.T, c *processgroup.Coordinator[msg], g *processgroup.Group[msg], body func() error) (arrived <-chan struct{}, exit chan<- struct{}) {
	arr := make(chan struct{})
	return arr, failingAs(t, c, g, "E", arr, body)
}

// TestFailureRunExits: a run function returning an error while its member
// is in an open round fails the round with ErrExited and the returned error,
// naming it, for every waiter. (Returning nil is graceful: see
// TestGracefulExitAfterArrivingLeavesTheRoundUnchanged.)
func TestFailureRunExits(t *testing.T) {
	for _, ret := range []error{fmt.Errorf("worker: %w", errBoom), errBoom} {
		t.Run(fmt.Sprintf("err=%v", ret), func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g")
			a := spawnIdle(t, c, "A", nil, "g")
			spawnIdle(t, c, "B", nil, "g")
			arrived, exit := exiting(t, c, g, func() error { return ret })
			within(t, arrived)
			outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))
			close(exit)
			fe := fenceErr(t, within(t, outA).err, fence.ErrExited)
			assertCausedBy(t, fe, errBoom)
			assert.Equal(t, "A", fe.Member.Name)
			assert.Equal(t, []string{"E"}, departedNames(fe.Departed))
			assert.ErrorIs(t, fe.Departed[0].Cause, fence.ErrExited)
			assert.Equal(t, []string{"B"}, names(fe.Missing))
			eventually(t, "E gone", func() bool { _, ok := memberSnap(c, "E"); return !ok })
			assert.Equal(t, []string{"A", "B"}, names(groupSnap(c, "g").Members))
			err := c.Wait(ctx)
			assertCausedBy(t, err, errBoom, "Wait reports the failure")
			assert.ErrorIs(t, err, fence.ErrExited)
		})
	}
}

// TestFailureRunPanics: a panic in a run function is a crash.
func TestFailureRunPanics(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	spawnIdle(t, c, "B", nil, "g")
	arrived, exit := exiting(t, c, g, func() error { panic(42) })
	within(t, arrived)
	outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))
	close(exit)
	fe := fenceErr(t, within(t, outA).err, fence.ErrCrashed)
	var pe *fence.PanicError
	require.ErrorAs(t, fe, &pe)
	assertPanicValue(t, 42, pe.Value)
	assert.NotEmpty(t, pe.Stack)
	assert.NotErrorIs(t, fe, fence.ErrExited)
	assert.Equal(t, []string{"E"}, departedNames(fe.Departed))
	assert.Equal(t, []string{"B"}, names(fe.Missing))
}

// TestFailureHandlerPanics: a handler panic crashes its member: its open
// rounds fail with ErrCrashed carrying the panic, its queued messages are
// dropped unhandled, and it disappears from the snapshot.
func TestFailureHandlerPanics(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	entered, open := make(chan struct{}), make(chan struct{})
	var handled []int // only P's reader touches it before P.Done()
	p := spawnIdle(t, c, "P", func(hctx context.Context, m managedprocess.Message[msg]) {
		if m.Body.Hop == 1 {
			close(entered)
			gate(hctx, open)
			panic("kaboom")
		}
		handled = append(handled, m.Body.Hop)
	}, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	for hop := 1; hop <= 3; hop++ {
		require.NoError(t, a.SendTo(ctx, p.ID(), msg{Hop: hop}))
	}
	within(t, entered)
	outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))
	close(open)

	fe := fenceErr(t, within(t, outA).err, fence.ErrCrashed)
	var pe *fence.PanicError
	require.ErrorAs(t, fe, &pe)
	assert.Equal(t, "kaboom", pe.Value)
	assert.NotEmpty(t, pe.Stack)
	assert.Equal(t, []string{"P"}, departedNames(fe.Departed))
	assert.Empty(t, fe.Missing, "P departed: it is listed under Departed, not also under Missing")

	within(t, p.Done())
	assert.Empty(t, handled, "queued messages of a crashed member must not be handled")
	st := p.Snapshot()
	assert.EqualValues(t, 0, st.Handled)
	assert.EqualValues(t, 3, st.Dropped)
	assert.ErrorIs(t, st.Err, fence.ErrCrashed)
	_, running := memberSnap(c, "P")
	assert.False(t, running, "crashed member still in the snapshot")
	assert.Equal(t, []string{"A"}, names(groupSnap(c, "g").Members))
	settle(a)
	assert.ErrorIs(t, a.SendTo(ctx, p.ID(), msg{}), fence.ErrCrashed)
	assert.ErrorIs(t, a.Send(ctx, "P", msg{}), fence.ErrUnknownMember)
	// A's stream to P is fully consumed: a new round does not wait on it.
	b := spawnIdle(t, c, "B", nil, "g")
	outA2 := goBarrier(ctx, g, a, "y", fence.DeliveryFence)
	res, err := b.Barrier(ctx, g.Name(), "y", fence.DeliveryFence)
	require.NoError(t, err)
	assert.Empty(t, res.Departed())
	require.NoError(t, within(t, outA2).err)
}

// TestFailureCrashEndsItsOwnRunsWait: a member whose handler crashes while
// its run function waits at a barrier with its own context, in a round the
// survivors go on with, is released from the wait at once with the crash
// as its context's cause: it does not wait for the others' round, which
// completes later without it.
func TestFailureCrashEndsItsOwnRunsWait(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g", processgroup.CompleteForSurvivors())
	a := spawnIdle(t, c, "A", nil, "g")
	out := make(chan error, 1)
	p := spawnCrashingWaiter(t, ctx, c, "P", out)
	eventually(t, "P waits in round 1", func() bool {
		rs := groupSnap(c, "g").Rounds
		return len(rs) == 1 && slices.Equal(names(rs[0].Missing), []string{"A"})
	})
	require.NoError(t, a.SendTo(ctx, p.ID(), msg{}))
	err := within(t, out)
	fe := fenceErr(t, err, context.Canceled)
	assert.ErrorIs(t, fe, fence.ErrCrashed, "the context's cause")
	assert.Equal(t, []string{"A"}, names(fe.Missing))
	res, err := a.Barrier(ctx, g.Name(), "x", fence.Rendezvous)
	require.NoError(t, err)
	assert.Equal(t, []string{"P"}, departedNames(res.Departed()))
}

// TestFailureContextEnds: a waiter whose context ends gets the context's
// error with who had not arrived and which streams lag; its arrival still
// counts, so the others' round completes afterwards.
func TestFailureContextEnds(t *testing.T) {
	for _, how := range []string{"cancel", "deadline"} {
		t.Run(how, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g")
			entered, open := make(chan struct{}, 3), make(chan struct{})
			cons := spawnIdle(t, c, "C", func(hctx context.Context, m managedprocess.Message[msg]) {
				entered <- struct{}{}
				gate(hctx, open)
			}, "g")
			p := spawnIdle(t, c, "P", nil, "g")
			x := spawnIdle(t, c, "X", nil, "g")
			for hop := 1; hop <= 3; hop++ {
				require.NoError(t, p.SendTo(ctx, cons.ID(), msg{Hop: hop}))
			}
			within(t, entered) // C's handler holds message 1: delivered P→C stays 0

			outC := goWait(ctx, arrive(t, ctx, g, cons, "x", fence.DeliveryFence))
			var err error
			var arr managedprocess.Arrival
			if how == "cancel" {
				arr = arrive(t, ctx, g, p, "x", fence.DeliveryFence)
				pctx, cancel := context.WithCancel(ctx)
				outP := goWait(pctx, arr)
				cancel()
				err = within(t, outP).err
			} else {
				pctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				_, err = p.Barrier(pctx, g.Name(), "x", fence.DeliveryFence)
				cancel()
			}
			var fe *fence.Error
			if how == "cancel" {
				fe = fenceErr(t, err, context.Canceled)
			} else {
				fe = fenceErr(t, err, context.DeadlineExceeded)
				assert.True(t, fe.Timeout())
			}
			assert.EqualValues(t, 1, fe.Round)
			assert.Equal(t, "P", fe.Member.Name)
			assert.Equal(t, []string{"X"}, names(fe.Missing))
			require.Len(t, fe.Lagging, 1, "lagging: %v", fe.Lagging)
			lag := fe.Lagging[0]
			assert.Equal(t, "P", lag.Sender.Name)
			assert.Equal(t, "C", lag.Recipient.Name)
			assert.EqualValues(t, 3, lag.Seq)
			assert.EqualValues(t, 0, lag.Delivered)

			// P's arrival counts: X's arrival and the open gate complete round 1.
			select {
			case o := <-outC:
				t.Fatalf("released before X arrived: %+v", o)
			default:
			}
			rs := groupSnap(c, "g").Rounds
			require.Len(t, rs, 1)
			assert.Equal(t, []string{"X"}, names(rs[0].Missing))
			outX := goBarrier(ctx, g, x, "x", fence.DeliveryFence)
			close(open)
			for _, out := range []<-chan outcome{outC, outX} {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 1, o.res.Round)
			}
			st := p.Snapshot()
			require.Len(t, st.Streams, 1)
			assert.EqualValues(t, 3, st.Streams[0].Delivered, "released before P→C was delivered")
			if arr != nil { // the finished round's outcome is there for P too
				res, err := arr.Wait(ctx)
				require.NoError(t, err)
				assert.EqualValues(t, 1, res.Round)
			}
		})
	}
}

// TestFailureClose: Close releases every waiter (arriving or draining) with
// ErrClosed, is idempotent, and every later call returns ErrClosed.
func TestFailureClose(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	h := newGroup(t, c, "h")
	a := spawnIdle(t, c, "A", nil, "g")
	b := spawnIdle(t, c, "B", nil, "g")
	spawnIdle(t, c, "C", nil, "g")
	entered := make(chan struct{}, 1)
	q := spawnIdle(t, c, "Q", func(hctx context.Context, m managedprocess.Message[msg]) {
		entered <- struct{}{}
		<-hctx.Done() // held until Close cancels the handler's context
	}, "h")
	p := spawnIdle(t, c, "P", nil, "h")
	require.NoError(t, p.SendTo(ctx, q.ID(), msg{}))
	within(t, entered)

	outs := []<-chan outcome{
		goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence)),
		goWait(ctx, arrive(t, ctx, g, b, "x", fence.DeliveryFence)),
		goBarrier(ctx, h, p, "y", fence.DeliveryFence),
		goBarrier(ctx, h, q, "y", fence.DeliveryFence),
	}
	eventually(t, "h/y draining", func() bool {
		rs := groupSnap(c, "h").Rounds
		return len(rs) == 1 && rs[0].Phase == "draining"
	})

	require.NoError(t, c.Close(ctx))
	for i, out := range outs {
		fe := fenceErr(t, within(t, out).err, fence.ErrClosed)
		if i < 2 {
			assert.Equal(t, []string{"C"}, names(fe.Missing))
		} else {
			assert.Empty(t, fe.Missing)
		}
	}
	require.ErrorIs(t, c.Close(ctx), fence.ErrClosed, "a later Close waits, then reports ErrClosed")
	snap := c.Snapshot()
	assert.True(t, snap.Closed)
	assert.Empty(t, snap.Members)

	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "late"})
	assert.ErrorIs(t, err, fence.ErrClosed, "Spawn")
	_, err = c.NewGroup("late")
	assert.ErrorIs(t, err, fence.ErrClosed, "NewGroup")
	_, err = a.Barrier(ctx, g.Name(), "x", fence.DeliveryFence)
	assert.ErrorIs(t, err, fence.ErrClosed, "Barrier")
	_, err = a.Arrive(ctx, g.Name(), "z", fence.Rendezvous)
	assert.ErrorIs(t, err, fence.ErrClosed, "Arrive")
	assert.ErrorIs(t, a.Join(g.Name()), fence.ErrClosed, "Join")
	assert.ErrorIs(t, a.SendTo(ctx, b.ID(), msg{}), fence.ErrClosed, "SendTo a stopped member")
}

// TestFailureSendByNameAfterClose: fence.ErrClosed says "every later call
// returns it": a Send or TrySend by name after Close reports ErrClosed, not
// ErrUnknownMember (Close made every member depart from the directory).
func TestFailureSendByNameAfterClose(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	a := spawnIdle(t, c, "A", nil)
	spawnIdle(t, c, "B", nil)
	require.NoError(t, c.Close(ctx))
	assert.ErrorIs(t, a.Send(ctx, "B", msg{}), fence.ErrClosed, "Send by name after Close")
	assert.ErrorIs(t, a.TrySend("B", msg{}), fence.ErrClosed, "TrySend by name after Close")
}

// TestFailureSurvivorsDepartedRecipient: a member that fails while a round
// is open has its targets cleared, and the round completes for the
// survivors (with CompleteForSurvivors). Here the failed member D is the
// recipient of A's pre-barrier message and its handler is stuck; the
// survivors' round must still complete instead of waiting on a member that
// is no longer part of it. (A graceful leaver's pre-barrier messages stay
// fenced instead: see graceful_test.go.)
func TestFailureSurvivorsDepartedRecipient(t *testing.T) {
	for _, how := range []string{"panic", "exit with an error"} {
		t.Run(how, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g", processgroup.CompleteForSurvivors())
			entered, exit := make(chan struct{}), make(chan struct{})
			d, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "D", Groups: []string{"g"},
				Handler: func(hctx context.Context, _ managedprocess.Message[msg]) {
					close(entered)
					<-hctx.Done() // stuck until the coordinator closes
				},
				Run: func(rctx context.Context, _ managedprocess.Member[msg]) error {
					if !gate(rctx, exit) {
						return nil
					}
					if how == "panic" {
						panic("D fails") // the member departs with ErrCrashed
					}
					return errBoom // the member departs with ErrExited
				}})
			require.NoError(t, err)
			a := spawnIdle(t, c, "A", nil, "g")
			b := spawnIdle(t, c, "B", nil, "g")
			require.NoError(t, a.SendTo(ctx, d.ID(), msg{}))
			within(t, entered)
			outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))
			outB := goWait(ctx, arrive(t, ctx, g, b, "x", fence.DeliveryFence))
			close(exit)
			for _, out := range []<-chan outcome{outA, outB} {
				select {
				case o := <-out:
					require.NoError(t, o.err)
					assert.Equal(t, []string{"D"}, departedNames(o.res.Departed()))
				case <-time.After(time.Second):
					t.Fatalf("survivors' round still open 1s after D departed:\n%s", c.Snapshot())
				}
			}
		})
	}
}

// TestFailureCloseDropsQueuedBatch: Close's contract (processgroup/close.go)
// is that "readers consume what is queued without handling it". Messages 2–5
// are queued behind a handler that is busy with message 1 when Close is
// called; once that handler returns they must be dropped, not handled.
func TestFailureCloseDropsQueuedBatch(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	gates := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	entered := make(chan int, 6)
	var mu sync.Mutex
	var handled []int
	r := spawnIdle(t, c, "R", func(_ context.Context, m managedprocess.Message[msg]) {
		entered <- m.Body.Hop
		if m.Body.Hop < 2 {
			select { // deliberately not the handler's ctx: hold it across Close
			case <-gates[m.Body.Hop]:
			case <-time.After(bound):
			}
		}
		mu.Lock()
		handled = append(handled, m.Body.Hop)
		mu.Unlock()
	})
	s := spawnIdle(t, c, "S", nil)
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 0}))
	require.Equal(t, 0, within(t, entered))
	for hop := 1; hop <= 5; hop++ { // queued while the reader is busy with 0
		require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: hop}))
	}
	settle(s)
	close(gates[0])
	require.Equal(t, 1, within(t, entered)) // the reader took 1–5 in one go
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ctx) }()
	eventually(t, "R's inbox closed", func() bool { return errors.Is(r.Err(), fence.ErrClosed) })
	close(gates[1])
	require.NoError(t, within(t, closed))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{0, 1}, handled, "messages queued at Close were handled")
	st := r.Snapshot()
	assert.EqualValues(t, 2, st.Handled)
	assert.EqualValues(t, 4, st.Dropped)
}

// TestFailureCloseDropsWhatWaitsBehindAHandlerOnItsContext: a handler that
// returns when its context ends, as handlers do, returns at Close; what is
// queued behind it must then be dropped, not handled with a dead context.
func TestFailureCloseDropsWhatWaitsBehindAHandlerOnItsContext(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	entered := make(chan int, 6)
	var mu sync.Mutex
	var handled []int
	r := spawnIdle(t, c, "R", func(hctx context.Context, m managedprocess.Message[msg]) {
		entered <- m.Body.Hop
		if m.Body.Hop == 0 {
			<-hctx.Done()
		}
		mu.Lock()
		handled = append(handled, m.Body.Hop)
		mu.Unlock()
	})
	s := spawnIdle(t, c, "S", nil)
	for hop := 0; hop <= 5; hop++ {
		require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: hop}))
	}
	settle(s)
	require.Equal(t, 0, within(t, entered))
	require.NoError(t, c.Close(ctx))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{0}, handled, "messages queued at Close were handled")
}
