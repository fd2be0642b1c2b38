package tests

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A waiter parks on a channel its member reuses from call to call. A
// Barrier call that gave up leaves its channel registered in its round, so
// that round's release leaves a wake-up token behind; the member's next
// Barrier call must take it for what it is (a reason to look again), and
// wait for its own round.
func TestParkALeftoverWakeupDoesNotReleaseALaterRound(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "a", nil, "g")
	b := spawnIdle(t, c, "b", nil, "g")

	for round := 1; round <= 20; round++ {
		x, y := fmt.Sprintf("x%d", round), fmt.Sprintf("y%d", round) // a's arrival at x stands: a later call of x would attach to it
		gaveUp, cancel := context.WithCancel(ctx)
		first := goBarrier(gaveUp, g, a, x, fence.Rendezvous)
		eventually(t, "a arrived at "+x, func() bool { return arrivedAt(c, "g", x, "a") })
		cancel()
		require.ErrorIs(t, within(t, first).err, context.Canceled)

		_, err := b.Barrier(ctx, g.Name(), x, fence.Rendezvous) // releases x: a token for a's channel
		require.NoError(t, err)

		second := goBarrier(ctx, g, a, y, fence.Rendezvous)
		eventually(t, "a arrived at "+y, func() bool { return arrivedAt(c, "g", y, "a") })
		select {
		case o := <-second:
			t.Fatalf("round %d: a's Barrier at %s returned before b arrived: %v, %v", round, y, o.res, o.err)
		default:
		}
		res, err := b.Barrier(ctx, g.Name(), y, fence.Rendezvous)
		require.NoError(t, err)
		o := within(t, second)
		require.NoError(t, o.err, "round %d", round)
		assert.Equal(t, res.Round, o.res.Round)
	}
}

// Two Barrier calls of one member wait at once: they must not share the
// channel they park on, or one release could wake the wrong call and leave
// the other parked forever.
func TestParkConcurrentBarriersOfOneMember(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "a", nil, "g")
	b := spawnIdle(t, c, "b", nil, "g")

	const names = 4
	for round := 1; round <= 20; round++ {
		var waits []<-chan outcome
		for i := range names {
			name := barrierName(i)
			waits = append(waits, goBarrier(ctx, g, a, name, fence.Rendezvous))
			eventually(t, "a arrived at "+name, func() bool { return arrivedAt(c, "g", name, "a") })
		}
		for i := names - 1; i >= 0; i-- { // release in the reverse order
			_, err := b.Barrier(ctx, g.Name(), barrierName(i), fence.Rendezvous)
			require.NoError(t, err)
			o := within(t, waits[i])
			require.NoError(t, o.err, "round %d, barrier %s", round, barrierName(i))
			assert.EqualValues(t, round, o.res.Round)
		}
	}
}

func barrierName(i int) string { return string(rune('p' + i)) }

// arrivedAt reports whether member is among the arrived of an open round
// of barrier in group.
func arrivedAt(c *processgroup.Coordinator[msg], group, barrier, member string) bool {
	for _, r := range groupSnap(c, group).Rounds {
		if r.Barrier == barrier && slices.Contains(names(r.Arrived), member) {
			return true
		}
	}
	return false
}

// A Barrier call made with its member's run context parks on the member's
// channel alone: the run context's end leaves a token there. Each of many
// parked waiters (a large round parks at once) whose run context ends
// because its handler crashed must return, with the crash as the context's
// cause, while the round stays open for the survivors.
func TestParkWaitersOnTheirRunContextsWakeWhenTheyEnd(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g", processgroup.CompleteForSurvivors())
	a := spawnIdle(t, c, "A", nil, "g")
	const waiters = 20
	out := make(chan error, waiters)
	ws := make([]managedprocess.Member[msg], waiters)
	for i := range ws {
		ws[i] = spawnCrashingWaiter(t, ctx, c, fmt.Sprintf("w%d", i), out)
	}
	eventually(t, "every waiter arrived", func() bool {
		rs := groupSnap(c, "g").Rounds
		return len(rs) == 1 && slices.Equal(names(rs[0].Missing), []string{"A"})
	})
	for _, w := range ws {
		require.NoError(t, a.SendTo(ctx, w.ID(), msg{}))
		fe := fenceErr(t, within(t, out), context.Canceled)
		assert.ErrorIs(t, fe, fence.ErrCrashed, "the context's cause")
		assert.Equal(t, []string{"A"}, names(fe.Missing))
	}
	res, err := a.Barrier(ctx, g.Name(), "x", fence.Rendezvous)
	require.NoError(t, err)
	assert.Len(t, res.Departed(), waiters)
}
