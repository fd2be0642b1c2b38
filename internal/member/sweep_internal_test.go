package member

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// member returns a member numbered id, started if start is set, whose
// reader has exited at cleanup.
func member(t *testing.T, id uint64, start bool) *Member[int] {
	t.Helper()
	m := New(Config[int]{ID: fence.Identity{Name: fmt.Sprintf("m%d", id), ID: id}})
	if start {
		m.Start(context.Background())
	}
	t.Cleanup(func() {
		m.Stop(fence.ErrClosed, true)
		m.Start(context.Background()) // a never-started member still needs its reader to finish
		<-m.Done()
	})
	return m
}

// TestSweepFreesOnlySettledLinksAndKeepsOrder: a sweep removes the links
// to members that departed and consumed everything, from every list of the
// stream, and keeps the others — running recipients, and a departed one
// whose reader has not consumed its message — in creation order.
func TestSweepFreesOnlySettledLinksAndKeepsOrder(t *testing.T) {
	ctx := context.Background()
	s := member(t, 1, true)
	var kept []*Member[int]
	for i := range 30 {
		id := uint64(i + 2)
		switch r := member(t, id, i != 7); {
		case i == 7: // departed, its message still queued: not settled
			require.NoError(t, s.sendValue(ctx, r, i))
			r.Stop(fence.ErrLeft, false)
			kept = append(kept, r)
		case i%3 == 0: // running
			require.NoError(t, s.sendValue(ctx, r, i))
			kept = append(kept, r)
		default: // departed once it handled its message
			require.NoError(t, s.sendValue(ctx, r, i))
			r.Stop(fence.ErrLeft, false)
			<-r.Done()
		}
	}
	s.out.mu.Lock()
	s.out.sweep()
	var order []*Member[int]
	for _, l := range s.out.order {
		order = append(order, l.to)
		assert.Same(t, l, s.out.links[l.to.id.ID])
	}
	assert.Equal(t, kept, order, "kept links, in creation order")
	assert.Len(t, s.out.links, len(kept))
	for _, l := range s.out.dirty {
		assert.Same(t, l, s.out.links[l.to.id.ID], "dirty link freed")
	}
	assert.True(t, s.out.last == nil || s.out.links[s.out.last.to.id.ID] == s.out.last, "last link freed")
	s.out.mu.Unlock()
	assert.Len(t, s.Snapshot().Streams, len(kept))
}

// TestStreamSweepsAsItGrows: a sender that sends to one short-lived
// recipient after another holds at most linkSweepFloor links.
func TestStreamSweepsAsItGrows(t *testing.T) {
	ctx := context.Background()
	s := member(t, 1, true)
	for i := range 1_000 {
		r := member(t, uint64(i+2), true)
		require.NoError(t, s.sendValue(ctx, r, i))
		r.Stop(fence.ErrExited, false)
		<-r.Done()
		require.LessOrEqual(t, len(s.Snapshot().Streams), linkSweepFloor, "after %d recipients", i+1)
	}
}

// TestStreamGivesBackTheRoomOfDepartedLinks: a sender that had 300 live
// links at once, all departed since, keeps neither them nor their room once
// it swept.
func TestStreamGivesBackTheRoomOfDepartedLinks(t *testing.T) {
	ctx := context.Background()
	s := member(t, 1, true)
	var live []*Member[int]
	for i := range 300 {
		r := member(t, uint64(i+2), true)
		require.NoError(t, s.sendValue(ctx, r, i))
		live = append(live, r)
	}
	for _, r := range live {
		r.Stop(fence.ErrExited, false)
		<-r.Done()
	}
	for i := range 300 {
		r := member(t, uint64(i+302), true)
		require.NoError(t, s.sendValue(ctx, r, i))
		r.Stop(fence.ErrExited, false)
		<-r.Done()
	}
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	assert.LessOrEqual(t, len(s.out.order), linkSweepFloor)
	assert.LessOrEqual(t, cap(s.out.order), 4*linkSweepFloor)
}
