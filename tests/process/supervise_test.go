package process

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// member spawns a goroutine member of group "g" with neither handler nor
// body, for the test to act as.
func member(t *testing.T, c *processgroup.Coordinator[msg], name string) managedprocess.Member[msg] {
	t.Helper()
	m, err := c.Spawn(testCtx(t), processgroup.Spec[msg]{Name: name, Groups: []string{"g"}})
	require.NoError(t, err)
	return m
}

// barrierIn starts m's Barrier call at "b" in a goroutine and returns its
// outcome.
func barrierIn(t *testing.T, m managedprocess.Member[msg]) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	go func() {
		_, err := m.Barrier(testCtx(t), "g", "b", fence.Rendezvous)
		out <- err
	}()
	return out
}

// pair is two goroutine members of "g", p and q, that open rounds for
// children to join (see open).
type pair struct{ p, q managedprocess.Member[msg] }

func newPair(t *testing.T, c *processgroup.Coordinator[msg]) pair {
	return pair{member(t, c, "p"), member(t, c, "q")}
}

// open has p arrive at "b" while q, which has not arrived, keeps the round
// arriving, so that children spawned next join it; it returns p's outcome,
// and starts q's Barrier when told to.
func (pq pair) open(t *testing.T, c *processgroup.Coordinator[msg]) (p <-chan error, q func() <-chan error) {
	t.Helper()
	p = barrierIn(t, pq.p)
	arrived(t, c, "p")
	return p, func() <-chan error { return barrierIn(t, pq.q) }
}

// arrived waits until member name arrived at a round of "g".
func arrived(t *testing.T, c *processgroup.Coordinator[msg], name string) {
	t.Helper()
	eventually(t, name+" arrived", func() bool {
		for _, g := range c.Snapshot().Groups {
			for _, r := range g.Rounds {
				for _, a := range r.Arrived {
					if a.Name == name {
						return true
					}
				}
			}
		}
		return false
	})
}

// TestProcessKilledMidRound: a child killed with SIGKILL while others wait
// in a round fails it for them at once, with an error naming the child and
// its signal; the group goes on with new rounds.
func TestProcessKilledMidRound(t *testing.T) {
	c := newCoordinator(t)
	victim := spawn(t, c, "victim", "sleeper")
	spawn(t, c, "arriver", "arriver")
	p := member(t, c, "p")
	waiting := barrierIn(t, p)
	arrived(t, c, "p")
	arrived(t, c, "arriver")
	require.NoError(t, syscall.Kill(victim.Pid(), syscall.SIGKILL))
	killed := time.Now()
	err := within(t, waiting)
	latency := time.Since(killed)
	t.Logf("the waiter's error came %v after the kill", latency)
	pe := processError(t, err)
	assert.Equal(t, "victim", pe.Member.Name)
	assert.Equal(t, syscall.SIGKILL, pe.Signal)
	assert.ErrorIs(t, err, fence.ErrCrashed)
	assert.Contains(t, err.Error(), "victim")
	assert.Less(t, latency, 100*time.Millisecond, "the failure reaches the waiter at once, not by a timeout")

	werr := c.Wait(testCtx(t))
	pe = processError(t, werr) // the arriver's run failed with the same round
	assert.Equal(t, syscall.SIGKILL, pe.Signal)
	<-victim.Done()
	assert.Equal(t, pe.Pid, victim.Pid())

	// The group is usable for new rounds.
	spawn(t, c, "arriver2", "arriver")
	require.NoError(t, within(t, barrierIn(t, p)))
}

// TestProcessExitStatus: a child that exits with a non-zero status fails
// the round it was expected in, naming its status and its last lines of
// standard error; one whose body returns leaves gracefully, and its
// process exits with status 0.
func TestProcessExitStatus(t *testing.T) {
	t.Run("status 3", func(t *testing.T) {
		c := newCoordinator(t)
		waiting, _ := newPair(t, c).open(t, c)
		child := spawn(t, c, "x", "exit3")
		pe := processError(t, within(t, waiting))
		assert.Equal(t, 3, pe.ExitCode)
		assert.Zero(t, pe.Signal)
		assert.Contains(t, pe.Stderr, "about to exit with status 3")
		<-child.Done()
		assert.Equal(t, 3, processError(t, child.Err()).ExitCode)
	})
	t.Run("returns", func(t *testing.T) {
		c := newCoordinator(t)
		waiting, q := newPair(t, c).open(t, c)
		child := spawn(t, c, "x", "returns")
		q()
		require.NoError(t, within(t, waiting))
		require.NoError(t, c.Wait(testCtx(t)))
		within(t, child.Done())
		require.NoError(t, child.Err())
	})
}

// TestProcessCloseKillsStubbornChild: a child that ignores its context and
// SIGTERM is killed when its grace period after Close ends; Close returns
// once it was reaped.
func TestProcessCloseKillsStubbornChild(t *testing.T) {
	c := processgroup.New[msg]()
	_, err := c.NewGroup("g")
	require.NoError(t, err)
	const grace = 300 * time.Millisecond
	child, err := c.SpawnProcess(testCtx(t), processgroup.ProcessSpec{Name: "s", Groups: []string{"g"}, Role: "stubborn", Grace: grace})
	require.NoError(t, err)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	require.NoError(t, c.Close(ctx))
	assert.GreaterOrEqual(t, time.Since(start), grace)
	select {
	case <-child.Done():
	default:
		t.Fatal("Close returned before the child was reaped")
	}
	assert.Equal(t, syscall.SIGKILL, processError(t, child.Err()).Signal)
	assert.ErrorIs(t, syscall.Kill(child.Pid(), 0), syscall.ESRCH)
}

// TestProcessRunErrorCrosses: errors keep their identity across the
// boundary: a child's send to an unknown member fails with
// fence.ErrUnknownMember, and the error its run returns with it reaches
// Wait matching fence.ErrExited and fence.ErrUnknownMember.
func TestProcessRunErrorCrosses(t *testing.T) {
	c := newCoordinator(t)
	spawn(t, c, "u", "sendsUnknown")
	err := c.Wait(testCtx(t))
	require.Error(t, err)
	assert.ErrorIs(t, err, fence.ErrExited)
	assert.ErrorIs(t, err, fence.ErrUnknownMember)
	var me *fence.MemberError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "u", me.Member.Name)
}

// TestProcessGracefulLeaveMidRound: a child that leaves its group while a
// round expecting it is arriving counts as in: the round completes for the
// others, lists it under Left, and what it sent before leaving was handled
// by the release (a delivery fence). The child runs on.
func TestProcessGracefulLeaveMidRound(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	got := make(chan msg, 1)
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p", Groups: []string{"g"},
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { got <- m.Body }})
	require.NoError(t, err)
	q := member(t, c, "q")
	a, err := p.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	child := spawn(t, c, "leaver", "leaver") // joins the arriving round, then leaves it
	// Membership shows only in snapshots.
	eventually(t, "the child left", func() bool { return leftGroup(c, "leaver") })
	_, err = q.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	res, err := a.Wait(ctx)
	require.NoError(t, err)
	require.Len(t, res.Left(), 1)
	assert.Equal(t, "leaver", res.Left()[0].Name)
	select {
	case m := <-got:
		assert.Equal(t, 7, m.Hop)
	default:
		t.Fatal("the release came before the leaver's message was handled")
	}
	select {
	case <-child.Done():
		t.Fatal("the child exited: leaving a group is not leaving the coordinator")
	default:
	}
}

// leftGroup reports whether member name runs and belongs to no group.
func leftGroup(c *processgroup.Coordinator[msg], name string) bool {
	for _, ms := range c.Snapshot().Members {
		if ms.ID.Name == name {
			return len(ms.Groups) == 0
		}
	}
	return false
}

// TestProcessSpecRefused: a ProcessSpec that cannot be served is refused
// with fence.ErrInvalidArgument, naming what is wrong, and starts nothing.
func TestProcessSpecRefused(t *testing.T) {
	c := newCoordinator(t)
	for what, spec := range map[string]processgroup.ProcessSpec{
		"no role":                {Name: "norole"},
		"negative grace":         {Name: "nograce", Role: "sleeper", Grace: -time.Second},
		"negative lifeline":      {Name: "nolifeline", Role: "sleeper", Lifeline: processgroup.Lifeline{Grace: -time.Second}},
		"negative frame limit":   {Name: "nolimit", Role: "sleeper", FrameLimit: -1},
		"frame limit over 4 GiB": {Name: "hugelimit", Role: "sleeper", FrameLimit: 1 << 32},
	} {
		_, err := c.SpawnProcess(testCtx(t), spec)
		assert.ErrorIs(t, err, fence.ErrInvalidArgument, what)
		assert.Contains(t, fmt.Sprint(err), `"`+spec.Name+`"`, what)
	}
	assert.Empty(t, c.Snapshot().Members)
}
