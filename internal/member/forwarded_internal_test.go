package member

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
)

// forwarding is a member with a far side that records what is forwarded
// to it and the counts it is armed at.
type forwarding struct {
	*Member[int]
	forwarded chan forwardedCall
	mu        sync.Mutex
	armed     []uint64
}

type forwardedCall struct {
	seq   uint64
	count uint32 // 0: a message, not a run
}

func newForwarding(t *testing.T, id uint64) *forwarding {
	f := &forwarding{forwarded: make(chan forwardedCall, 16)}
	f.Member = New(Config[int]{ID: fence.Identity{Name: "far", ID: id}, Window: 100,
		Forward: func(_ fence.Identity, seq uint64, _ int, run *Run) {
			c := forwardedCall{seq: seq}
			if run != nil {
				c.count = run.Count
			}
			f.forwarded <- c
		},
		Arm: func(count uint64) { f.mu.Lock(); f.armed = append(f.armed, count); f.mu.Unlock() },
	})
	f.Start(context.Background())
	t.Cleanup(func() {
		f.Stop(fence.ErrClosed, true)
		f.Abandon(fence.ErrClosed)
		<-f.Done()
	})
	return f
}

// lastArmed returns the count the far side was last armed at (0: none).
func (f *forwarding) lastArmed() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.armed) == 0 {
		return 0
	}
	return f.armed[len(f.armed)-1]
}

// TestForwardedRunsAreAcknowledgedInParts: a run relayed to a member with a
// far side is forwarded whole, under its first sequence, and counts as its
// messages: the far side may acknowledge part of it, and the link's
// progress then stands at the last message acknowledged; the message
// handled next, the ones still unacknowledged and the count the far side is
// armed at for a message inside a run (forwarded or not yet) are those of
// the single messages the run stands for; what is abandoned is dropped,
// each message counted.
func TestForwardedRunsAreAcknowledgedInParts(t *testing.T) {
	s := member(t, 1, true)
	f := newForwarding(t, 2)
	run := func(n uint32) *Run { return &Run{Packed: make([]byte, n), Count: n} } // n empty messages
	require.NoError(t, s.PostRun(f.Member, run(5)))
	require.NoError(t, s.Post(f.Member, 6))
	assert.Equal(t, forwardedCall{seq: 1, count: 5}, <-f.forwarded)
	assert.Equal(t, forwardedCall{seq: 6}, <-f.forwarded)
	l := s.out.links[f.id.ID]
	require.Equal(t, uint64(6), l.sent)
	assert.Equal(t, uint64(6), s.out.leadingSeq())

	l.watch.Arm(4) // the fourth message, inside the run
	assert.Equal(t, uint64(4), f.lastArmed())
	require.NoError(t, f.Acknowledge(2, false))
	assert.Equal(t, uint64(2), l.progress.Delivered())
	st := f.Snapshot()
	require.NotNil(t, st.Handling)
	assert.Equal(t, uint64(3), st.Handling.Seq, "the next message of the run")
	assert.Equal(t, 3, st.Queued, "the rest of the run and the message after it")
	for seq, want := range map[uint64]bool{2: false, 3: true, 5: true, 6: true, 7: false} {
		assert.Equal(t, want, f.Unacknowledged(s.id, seq), "message %d", seq)
	}
	require.NoError(t, f.Acknowledge(4, false))
	assert.Equal(t, uint64(4), l.progress.Delivered())
	require.Error(t, f.Acknowledge(3, false), "backwards, inside a run")

	l.watch.Arm(9) // a message not forwarded yet
	require.NoError(t, s.PostRun(f.Member, run(4)))
	assert.Equal(t, forwardedCall{seq: 7, count: 4}, <-f.forwarded)
	assert.Equal(t, uint64(9), f.lastArmed(), "armed at the run's third message once forwarded")
	require.NoError(t, f.Acknowledge(8, false))
	assert.Equal(t, uint64(8), l.progress.Delivered())

	f.Abandon(fence.ErrCrashed)
	assert.Equal(t, uint64(10), l.progress.Delivered())
	st = f.Snapshot()
	assert.Equal(t, uint64(8), st.Handled)
	assert.Equal(t, uint64(2), st.Dropped)
}
