package redisgroup_test

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// spawnWaiter spawns a member that only arrives when the test makes it.
func spawnWaiter(t *testing.T, c *redisgroup.Coordinator[int], group, name string) managedprocess.Member[int] {
	t.Helper()
	m, err := c.Spawn(context.Background(), processgroup.Spec[int]{Name: name, Groups: []string{group}})
	require.NoError(t, err)
	return m
}

// requireDeparted checks that err is a round's failure naming who, with a
// cause matching want.
func requireDeparted(t *testing.T, err error, who string, want error) {
	t.Helper()
	var e *fence.Error
	require.ErrorAs(t, err, &e)
	require.ErrorIs(t, err, want)
	require.Len(t, e.Departed, 1, "%v", err)
	require.Equal(t, who, e.Departed[0].Member.Name)
}

// A member process killed with SIGKILL while another waits for it in a
// round: the waiter's round fails naming it, once its heartbeat lapsed, and
// the group goes on with a new round.
func TestKilledMemberFailsTheRound(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	waiter := spawnWaiter(t, c, "g", "waiter")
	p := startMember(t, srv.Addr, "g", "victim", "idle", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := waiter.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	start := time.Now()
	_, err = a.Wait(ctx)
	requireDeparted(t, err, "victim", redisgroup.ErrHeartbeatLapsed)
	require.ErrorIs(t, err, fence.ErrCrashed)
	t.Logf("detected after %v (heartbeat 400ms)", time.Since(start))

	r, err := waiter.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err, "the group is usable for a new round")
	require.EqualValues(t, 2, r.Round)
}

// A member process frozen with SIGSTOP: its heartbeat lapses, it is
// departed and named, and once thawed it finds itself departed.
func TestFrozenMemberIsDeparted(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	waiter := spawnWaiter(t, c, "g", "waiter")
	p := startMember(t, srv.Addr, "g", "frozen", "idle", 0)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGSTOP))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := waiter.Barrier(ctx, "g", "b", fence.Rendezvous)
	requireDeparted(t, err, "frozen", redisgroup.ErrHeartbeatLapsed)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGCONT))
	// Thawed, its member learns it was departed and the process ends.
	require.Error(t, p.cmd.Wait(), "a member departed for a lapsed heartbeat exits with a failure")
}

// A member whose run function returns an error fails the round for the
// members of other coordinators, naming it and the cause.
func TestFailureIsNamedAcrossCoordinators(t *testing.T) {
	srv := redisserver.Start(t)
	a := newGroup(t, srv, "g")
	b := newGroup(t, srv, "g")
	waiter := spawnWaiter(t, a, "g", "waiter")
	spawnWaiter(t, a, "g", "gate") // arrives nowhere: the round stays open
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arr, err := waiter.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	boom := errors.New("boom")
	_, err = b.Spawn(ctx, processgroup.Spec[int]{Name: "failing", Groups: []string{"g"},
		Run: func(context.Context, managedprocess.Member[int]) error { return boom }})
	require.NoError(t, err)
	// The failing member joined while the round was arriving: it is
	// expected, and its failure fails the round.
	_, err = arr.Wait(ctx)
	requireDeparted(t, err, "failing", fence.ErrExited)
	require.Contains(t, err.Error(), "boom")
	require.ErrorIs(t, b.Wait(ctx), boom, "its own coordinator reports the error itself")
}

// With CompleteForSurvivors the round completes for the others and lists
// who failed.
func TestCompleteForSurvivors(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g", func(cfg *redisgroup.Config[int]) { cfg.CompleteForSurvivors = true })
	waiter := spawnWaiter(t, c, "g", "waiter")
	gate := spawnWaiter(t, c, "g", "gate")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arr, err := waiter.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	panics, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "panics", Groups: []string{"g"},
		Run: func(context.Context, managedprocess.Member[int]) error { panic("bad") }})
	require.NoError(t, err)
	<-panics.Done()
	_, err = gate.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	r, err := arr.Wait(ctx)
	require.NoError(t, err)
	require.Len(t, r.Departed(), 1)
	require.Equal(t, "panics", r.Departed()[0].Member.Name)
	require.ErrorIs(t, r.Departed()[0].Cause, fence.ErrCrashed)
	var me *fence.MemberError
	require.ErrorAs(t, c.Wait(ctx), &me)

	// A coordinator that disagrees about the setting is refused.
	other := newGroup(t, srv, "g")
	_, err = other.Spawn(ctx, processgroup.Spec[int]{Name: "x", Groups: []string{"g"}})
	require.ErrorIs(t, err, fence.ErrInvalidArgument)
}

// redis-server killed and restarted (without persistence) while a member
// waits: the round ends with ErrStateLost, never a success and never a hang.
// The coordinator goes on with new members, whose rounds are numbered from
// 1 again: they do not get the outcomes of the rounds before.
func TestRedisRestartMidRound(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	waiter := spawnWaiter(t, c, "g", "waiter")
	absent := spawnWaiter(t, c, "g", "absent")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	bothMeet(ctx, t, waiter, absent, "x") // round 1 of x, released
	arr, err := waiter.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	require.NoError(t, srv.Restart())
	_, err = arr.Wait(ctx)
	require.ErrorIs(t, err, redisgroup.ErrStateLost)
	// The members were lost with it.
	select {
	case <-waiter.Done():
	case <-ctx.Done():
		t.Fatal("a member Redis lost did not depart")
	}
	require.ErrorIs(t, waiter.Err(), redisgroup.ErrStateLost)

	a, b := spawnWaiter(t, c, "g", "a"), spawnWaiter(t, c, "g", "b")
	arr, err = a.Arrive(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	require.EqualValues(t, 1, arr.Round())
	early, cancelEarly := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelEarly()
	_, err = arr.Wait(early)
	require.ErrorIs(t, err, context.DeadlineExceeded, "round 1 of x released with b absent: the outcome of the round before the restart")
	_, err = b.Barrier(ctx, "g", "x", fence.DeliveryFence)
	require.NoError(t, err)
	_, err = arr.Wait(ctx)
	require.NoError(t, err)
}

// bothMeet has m and n meet at a delivery fence of barrier name, and
// returns their results.
func bothMeet(ctx context.Context, t *testing.T, m, n managedprocess.Member[int], name string) (mr, nr fence.Result) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		var err error
		mr, err = m.Barrier(ctx, "g", name, fence.DeliveryFence)
		done <- err
	}()
	nr, err := n.Barrier(ctx, "g", name, fence.DeliveryFence)
	require.NoError(t, err)
	require.NoError(t, <-done)
	return mr, nr
}

// A coordinator whose codec has another name than the group's is refused.
func TestCodecMismatchIsRefused(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	spawnWaiter(t, c, "g", "json")
	raw, err := redisgroup.New(context.Background(), redisgroup.Config[[]byte]{Client: srv.Client(t, 4), Prefix: t.Name(),
		Group: "g", Codec: managedprocess.Bytes()})
	require.NoError(t, err)
	defer raw.Close(context.Background())
	_, err = raw.Spawn(context.Background(), processgroup.Spec[[]byte]{Name: "bytes"})
	require.ErrorIs(t, err, fence.ErrInvalidArgument)
	require.Contains(t, err.Error(), "codec")
}

// A member that had not arrived at a round that failed arrives at the next
// round, never at the failed one (whose hash keeps the fields of the
// members it still expected), and the group goes on with it.
func TestArrivalAfterAFailedRoundTakesTheNext(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	waiter := spawnWaiter(t, c, "g", "waiter")
	late := spawnWaiter(t, c, "g", "late")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lr, r := bothMeet(ctx, t, late, waiter, "b")
	require.EqualValues(t, 1, r.Round)
	require.EqualValues(t, 1, lr.Round)

	arr, err := waiter.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	require.EqualValues(t, 2, arr.Round())
	boom := errors.New("boom")
	_, err = c.Spawn(ctx, processgroup.Spec[int]{Name: "failing", Groups: []string{"g"},
		Run: func(context.Context, managedprocess.Member[int]) error { return boom }})
	require.NoError(t, err)
	_, err = arr.Wait(ctx)
	requireDeparted(t, err, "failing", fence.ErrExited) // round 2 failed; late never arrived at it

	lr, r = bothMeet(ctx, t, late, waiter, "b")
	require.EqualValues(t, 3, r.Round)
	require.EqualValues(t, 3, lr.Round, "late arrived at the round after the failed one")
}

// A member whose run returns while its coordinator is cut off from Redis
// cannot append what it queued before it departs. It must not leave
// gracefully with its last messages dropped: either every message reaches
// its recipient (on another coordinator, which Redis keeps answering), or
// the member's departure is a failure its coordinator reports.
func TestLeaveWithUnappendedSendsIsAFailure(t *testing.T) {
	const heartbeat = 400 * time.Millisecond
	srv := redisserver.Start(t)
	proxy := startLossyProxy(t, srv.Addr, 1) // never armed: it is only cut
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr(), PoolSize: 16})
	t.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := redisgroup.New(ctx, redisgroup.Config[int]{Client: rdb, Prefix: t.Name(), Group: "g", Heartbeat: heartbeat})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	const sends = 10
	var got atomic.Int64
	all := make(chan struct{}) // closed once every message was handled
	_, err = newGroup(t, srv, "g").Spawn(ctx, processgroup.Spec[int]{Name: "r", Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[int]) {
			if got.Add(1) == sends+1 {
				close(all)
			}
		}})
	require.NoError(t, err)
	linked, stalled := make(chan struct{}), make(chan struct{}) // stalled: the partition began
	_, err = c.Spawn(ctx, processgroup.Spec[int]{Name: "s", Groups: []string{"g"},
		Run: func(ctx context.Context, m managedprocess.Member[int]) error {
			if err := m.Send(ctx, "r", 0); err != nil { // the link is known: later sends queue at once
				return err
			}
			close(linked)
			<-stalled
			for i := range sends {
				if err := m.Send(ctx, "r", i+1); err != nil {
					return err
				}
			}
			return nil
		}})
	require.NoError(t, err)
	<-linked
	proxy.cut.Store(true)
	close(stalled)
	// What the test is about: the partition outlasting the departure's wait
	// for Redis, and healing before the member's next attempt to append.
	time.Sleep(heartbeat + 30*time.Millisecond)
	proxy.cut.Store(false)

	werr := c.Wait(ctx)
	var failed error
	for _, e := range joined(werr) {
		var me *fence.MemberError
		if errors.As(e, &me) && me.Member.Name == "s" {
			failed = me
		}
	}
	if failed == nil {
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		require.EqualValues(t, sends+1, got.Load(), "s left gracefully, so every message it sent must be handled (Wait: %v)", werr)
		return
	}
	t.Logf("s failed: %v (%d of %d messages handled)", failed, got.Load(), sends+1)
	require.ErrorIs(t, failed, fence.ErrExited)
	require.ErrorContains(t, failed, "not confirmed appended")
}

// joined returns the errors err joins, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
