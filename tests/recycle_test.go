package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenarioCancelledWaitersAndReusedRounds: rounds are reused once every
// caller returned. Members here often give up waiting (a deadline of a few
// microseconds) and retry while their arrival is still open (ErrBusy) while
// messages flow. Each member must arrive at rounds 1, 2, 3, … in order (its
// arrival stands when it gives up), and every result it gets must name the
// round it arrived at.
func TestScenarioCancelledWaitersAndReusedRounds(t *testing.T) {
	const members, rounds = 4, 300
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	ms := make([]managedprocess.Member[msg], members)
	for i := range members {
		ms[i] = spawnIdle(t, c, fmt.Sprintf("m%d", i), func(context.Context, managedprocess.Message[msg]) {}, "g")
	}
	errs := make(chan error, members)
	for i := range members {
		go func() { errs <- cancellingMember(ctx, g, ms, i, rounds) }()
	}
	for range members {
		require.NoError(t, within(t, errs))
	}
}

// cancellingMember runs member i up to its arrival at round rounds: each
// time, it sends to the next member and arrives, giving up each wait after a
// few microseconds and calling again, which attaches to the arrival that
// stands, until it collects the round's outcome.
func cancellingMember(ctx context.Context, g *processgroup.Group[msg], ms []managedprocess.Member[msg], i, rounds int) error {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	to := ms[(i+1)%len(ms)]
	for want := uint64(1); want <= uint64(rounds); want++ {
		if err := ms[i].SendTo(ctx, to.ID(), msg{From: i}); err != nil {
			return err
		}
		got, err := arriveOnce(ctx, g, ms[i], func() time.Duration { return time.Duration(rng.IntN(20)) * time.Microsecond })
		if err != nil {
			return fmt.Errorf("member %d, round %d: %w", i, want, err)
		}
		if got != want {
			return fmt.Errorf("member %d released from round %d, want %d", i, got, want)
		}
	}
	return nil
}

// arriveOnce makes one arrival and returns its round once released: each
// call waits at most patience(); a call whose patience ran out is repeated,
// and the repeat must attach to the same round.
func arriveOnce(ctx context.Context, g *processgroup.Group[msg], m managedprocess.Member[msg], patience func() time.Duration) (uint64, error) {
	var first uint64
	for {
		wctx, cancel := context.WithTimeout(ctx, patience())
		res, err := m.Barrier(wctx, g.Name(), "b", fence.DeliveryFence)
		cancel()
		var ferr *fence.Error
		switch {
		case err == nil && first != 0 && res.Round != first:
			return 0, fmt.Errorf("retry of round %d was released from round %d", first, res.Round)
		case err == nil:
			return res.Round, nil
		case ctx.Err() != nil || !errors.As(err, &ferr) || !errors.Is(err, context.DeadlineExceeded):
			return 0, err
		case first != 0 && ferr.Round != first:
			return 0, fmt.Errorf("retry of round %d attached to round %d", first, ferr.Round)
		}
		first = ferr.Round // gave up waiting; the arrival stands
	}
}

// TestScenarioCancelledWaitersKeepEveryMessageFenced: a member that gave up
// waiting still fences the messages it sent before arriving.
func TestScenarioCancelledWaitersKeepEveryMessageFenced(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	gate := make(chan struct{})
	var handled int
	var mu sync.Mutex
	r := spawnIdle(t, c, "r", func(context.Context, managedprocess.Message[msg]) {
		<-gate
		mu.Lock()
		handled++
		mu.Unlock()
	}, "g")
	s := spawnIdle(t, c, "s", nil, "g")
	for range 5 {
		require.NoError(t, s.SendTo(ctx, r.ID(), msg{}))
	}
	// s gives up waiting; its arrival (with 5 messages pending) stands.
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	_, err := s.Barrier(short, g.Name(), "b", fence.DeliveryFence)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var ferr *fence.Error
	require.ErrorAs(t, err, &ferr)
	assert.Equal(t, []fence.Identity{r.ID()}, ferr.Missing)

	released := make(chan fence.Result, 1)
	go func() {
		res, err := r.Barrier(ctx, g.Name(), "b", fence.DeliveryFence)
		assert.NoError(t, err)
		mu.Lock()
		assert.Equal(t, 5, handled, "released before s's messages were handled")
		mu.Unlock()
		released <- res
	}()
	eventually(t, "round 1 draining, s→r lagging", func() bool {
		for _, rs := range groupSnap(c, "g").Rounds {
			if rs.Round == 1 && rs.Phase == "draining" && len(rs.Lagging) == 1 && rs.Lagging[0].Sender == s.ID() {
				return true
			}
		}
		return false
	})
	select {
	case res := <-released:
		t.Fatalf("released with s's messages unhandled: %v", res)
	default:
	}
	close(gate)
	res := within(t, released)
	assert.EqualValues(t, 1, res.Round)
}
