package member

import (
	"context"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depart stops m, waits for its reader and releases its links, as the
// coordinator does when a member departs.
func depart(m *Member[int]) {
	m.Stop(fence.ErrExited, false)
	<-m.Done()
	m.ReleaseLinks()
}

// TestReleaseLinksFreesBothEnds: when a recipient departs, its senders'
// streams drop their links to it at once, keeping the other links in order;
// when a sender departs, its recipients' indexes drop its links, so that a
// departed member's stream is not kept alive by the members it sent to.
func TestReleaseLinksFreesBothEnds(t *testing.T) {
	ctx := context.Background()
	s1, s2 := member(t, 1, true), member(t, 2, true)
	r1, r2, r3 := member(t, 3, true), member(t, 4, true), member(t, 5, true)
	for _, r := range []*Member[int]{r1, r2, r3} {
		require.NoError(t, s1.sendValue(ctx, r, 1))
	}
	require.NoError(t, s2.sendValue(ctx, r2, 1))
	require.NoError(t, r2.WaitForDeliveryFence(ctx))

	depart(r2)
	require.Len(t, s1.out.order, 2)
	assert.Equal(t, []*Member[int]{r1, r3}, []*Member[int]{s1.out.order[0].to, s1.out.order[1].to}, "the others keep their order")
	assert.Nil(t, s1.out.links[r2.id.ID])
	assert.Empty(t, s2.out.order)

	depart(s1)
	for _, r := range []*Member[int]{r1, r3} {
		r.in.mu.Lock()
		n := len(r.in.links)
		r.in.mu.Unlock()
		assert.Zero(t, n, "%v's index after its sender departed", r.id)
	}

	// A send to a departed member creates no index entry; the sweep frees it.
	err := s2.sendValue(ctx, r2, 2)
	require.ErrorIs(t, err, fence.ErrExited)
	assert.Nil(t, r2.in.links)
	depart(s2)
}

// sendValue is sendTo with the message given by value.
func (m *Member[T]) sendValue(ctx context.Context, to *Member[T], msg T) error {
	return m.sendTo(ctx, to, &msg)
}
