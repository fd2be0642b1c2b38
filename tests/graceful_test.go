package tests

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lagsOn reports whether group g of c has an open round draining on the
// link from → to.
func lagsOn(c *processgroup.Coordinator[msg], g, from, to string) func() bool {
	return func() bool {
		for _, r := range groupSnap(c, g).Rounds {
			for _, l := range r.Lagging {
				if r.Phase == "draining" && l.Sender.Name == from && l.Recipient.Name == to && l.Delivered < l.Seq {
					return true
				}
			}
		}
		return false
	}
}

// leaver spawns L in "g": by "return nil" its run function sends burst
// messages to r once send is closed and returns nil; by "Leave" it is idle,
// and leave sends them from L and calls Leave. leave returns once L left.
func leaver(t *testing.T, c *processgroup.Coordinator[msg], g *processgroup.Group[msg], how string, r managedprocess.Member[msg], burst int) (leave func()) {
	ctx := testCtx(t)
	if how == "Leave" {
		l := spawnIdle(t, c, "L", nil, "g")
		return func() {
			for k := range burst {
				require.NoError(t, l.SendTo(ctx, r.ID(), msg{Hop: k}))
			}
			require.NoError(t, l.Leave(g.Name()))
		}
	}
	send := make(chan struct{})
	l, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "L", Groups: []string{"g"},
		Run: func(rctx context.Context, m managedprocess.Member[msg]) error {
			if !gate(rctx, send) {
				return nil
			}
			for k := range burst {
				if err := m.SendTo(rctx, r.ID(), msg{Hop: k}); err != nil {
					return err
				}
			}
			return nil
		}})
	require.NoError(t, err)
	return func() {
		close(send)
		within(t, l.Done())
	}
}

// TestGracefulLeaverBeforeArrivingIsNotWaitedForAndItsMessagesStayFenced:
// L, expected in an open round, sends to a gated recipient R and leaves
// gracefully (its run function returns nil, or Leave) without arriving. The
// round does not wait for L and lists it as left, but it releases only
// after R handled every message L sent: a DeliveryFence records L's targets
// as an arrival would, a ProcessingFence keeps watching L's links.
func TestGracefulLeaverBeforeArrivingIsNotWaitedForAndItsMessagesStayFenced(t *testing.T) {
	const burst = 5
	for _, mode := range []fence.Mode{fence.DeliveryFence, fence.ProcessingFence} {
		for _, how := range []string{"return nil", "Leave"} {
			t.Run(fmt.Sprintf("%v/%s", mode, how), func(t *testing.T) {
				ctx := testCtx(t)
				c := newCoordinator(t)
				g := newGroup(t, c, "g")
				open := make(chan struct{})
				var handled atomic.Int32
				r := spawnIdle(t, c, "R", func(hctx context.Context, _ managedprocess.Message[msg]) {
					gate(hctx, open)
					handled.Add(1)
				}, "g")
				a := spawnIdle(t, c, "A", nil, "g")
				leave := leaver(t, c, g, how, r, burst)
				arrA := arrive(t, ctx, g, a, "x", mode) // the round expects R, A and L
				leave()
				rs := groupSnap(c, "g").Rounds
				require.Len(t, rs, 1)
				assert.Equal(t, []string{"R"}, names(rs[0].Missing), "L is not waited for")
				assert.Equal(t, []string{"L"}, names(rs[0].Left))
				assert.Empty(t, rs[0].Departed)

				type release struct {
					outcome
					handled int32
				}
				released := make(chan release, 2)
				for _, wait := range []func() (fence.Result, error){
					func() (fence.Result, error) { return r.Barrier(ctx, g.Name(), "x", mode) },
					func() (fence.Result, error) { return arrA.Wait(ctx) },
				} {
					go func() {
						res, err := wait()
						released <- release{outcome{res, err}, handled.Load()}
					}()
				}
				eventually(t, "the round drains L→R", lagsOn(c, "g", "L", "R"))
				select {
				case rel := <-released:
					t.Fatalf("released with L's messages unhandled: %+v", rel)
				case <-time.After(20 * time.Millisecond):
				}
				close(open)
				for range 2 {
					rel := within(t, released)
					require.NoError(t, rel.err)
					assert.EqualValues(t, burst, rel.handled, "R had handled L's messages at the release")
					assert.Equal(t, []string{"L"}, names(rel.res.Left()))
					assert.Empty(t, rel.res.Departed())
					assert.Contains(t, rel.res.String(), "left=[L#")
				}
				if how == "return nil" {
					require.NoError(t, c.Wait(ctx), "a run returning nil is no failure")
				}
			})
		}
	}
}

// TestGracefulExitAfterArrivingLeavesTheRoundUnchanged: a member whose run
// function returns nil after it arrived stays in the round: the round waits
// for the others as before and lists nobody as left or departed.
func TestGracefulExitAfterArrivingLeavesTheRoundUnchanged(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	b := spawnIdle(t, c, "B", nil, "g")
	arrived, exit := exiting(t, c, g, func() error { return nil })
	within(t, arrived)
	outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.DeliveryFence))
	close(exit)
	eventually(t, "E gone", func() bool { _, ok := memberSnap(c, "E"); return !ok })
	rs := groupSnap(c, "g").Rounds
	require.Len(t, rs, 1, "the round still waits for B")
	assert.Equal(t, []string{"B"}, names(rs[0].Missing))
	assert.Equal(t, []string{"A", "E"}, names(rs[0].Arrived))
	assert.Empty(t, rs[0].Left)
	for _, out := range []<-chan outcome{outA, goBarrier(ctx, g, b, "x", fence.DeliveryFence)} {
		o := within(t, out)
		require.NoError(t, o.err)
		assert.Empty(t, o.res.Left())
		assert.Empty(t, o.res.Departed())
	}
	require.NoError(t, c.Wait(ctx))
}

// TestGracefulLeaveOfTheLastExpectedMemberReleasesTheRound: when the
// leaver is the only member the round still waits for, leaving releases it.
func TestGracefulLeaveOfTheLastExpectedMemberReleasesTheRound(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	l := spawnIdle(t, c, "L", nil, "g")
	outA := goWait(ctx, arrive(t, ctx, g, a, "x", fence.Rendezvous))
	require.NoError(t, l.Leave(g.Name()))
	o := within(t, outA)
	require.NoError(t, o.err)
	assert.Equal(t, []string{"L"}, names(o.res.Left()))
}

// TestGracefulLeaverThatJoinsAgainIsExpectedAgain: a member that left a
// round still arriving and joins the group again is expected in it again,
// no longer listed as left.
func TestGracefulLeaverThatJoinsAgainIsExpectedAgain(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	b := spawnIdle(t, c, "B", nil, "g")
	l := spawnIdle(t, c, "L", nil, "g")
	arrA := arrive(t, ctx, g, a, "x", fence.DeliveryFence)
	require.NoError(t, l.Leave(g.Name()))
	require.Equal(t, []string{"L"}, names(groupSnap(c, "g").Rounds[0].Left))
	require.NoError(t, l.Join(g.Name()))
	rs := groupSnap(c, "g").Rounds
	require.Len(t, rs, 1)
	assert.Empty(t, rs[0].Left)
	assert.Equal(t, []string{"B", "L"}, names(rs[0].Missing))

	outB := goBarrier(ctx, g, b, "x", fence.DeliveryFence)
	select {
	case o := <-outB:
		t.Fatalf("released without L: %+v", o)
	case <-time.After(10 * time.Millisecond):
	}
	arrL := arrive(t, ctx, g, l, "x", fence.DeliveryFence)
	assert.EqualValues(t, 1, arrL.Round())
	for _, out := range []<-chan outcome{goWait(ctx, arrA), outB, goWait(ctx, arrL)} {
		o := within(t, out)
		require.NoError(t, o.err)
		assert.EqualValues(t, 1, o.res.Round)
		assert.Empty(t, o.res.Left())
	}
}
