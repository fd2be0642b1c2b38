package processgroup

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJoinWhileArrivingGrowsEveryArrivingRound: two members join while
// three rounds arrive. Round "z" holds the group's current view and is given
// the new one; rounds "x" and "y" hold an older view (a member departed
// since they started) and each get a copy with the joiner, leaving the views
// they shared untouched. x and y grow past the inline state (15 + 2 > 16),
// z within it (14 + 2). Every joiner's arrival lands in round 1, and every
// round releases.
func TestJoinWhileArrivingGrowsEveryArrivingRound(t *testing.T) {
	const first, joiners = inlineMembers - 1, 2
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := New[int]()
	defer func() { require.NoError(t, c.Close(ctx)) }()
	g, err := c.NewGroup("g", CompleteForSurvivors())
	require.NoError(t, err)
	ms := make([]*member.Member[int], 0, first+joiners)
	spawn := func(name string) {
		m, err := asImpl(c.Spawn(ctx, Spec[int]{Name: name, Groups: []string{"g"}}))
		require.NoError(t, err)
		ms = append(ms, m)
	}
	for i := range first {
		spawn(fmt.Sprintf("m%d", i))
	}
	var arrivals []managedprocess.Arrival
	arriveAt := func(m *member.Member[int], name string) {
		a, err := m.Arrive(ctx, g.Name(), name, fence.DeliveryFence)
		require.NoError(t, err)
		require.EqualValues(t, 1, a.Round(), "%s at %s", m, name)
		arrivals = append(arrivals, a)
	}
	arriveAt(ms[0], "x")
	arriveAt(ms[0], "y")
	older := arrivals[0].(*arrivalHandle[int]).r.view
	require.Same(t, older, arrivals[1].(*arrivalHandle[int]).r.view, "x and y share the view of their start")
	departed := ms[first-1]
	g.remove(departed, fmt.Errorf("%w: test", fence.ErrCrashed))
	ms = ms[:first-1]
	arriveAt(ms[0], "z")

	for i := range joiners {
		spawn(fmt.Sprintf("j%d", i))
	}
	x, y, z := arrivals[0].(*arrivalHandle[int]).r, arrivals[1].(*arrivalHandle[int]).r, arrivals[2].(*arrivalHandle[int]).r
	g.mu.Lock()
	assert.Len(t, older.members, first, "a shared view is never changed")
	assert.Same(t, g.view, z.view, "z took the group's new view")
	assert.NotSame(t, x.view, y.view, "x and y each got their own copy")
	for _, r := range []*round[int]{x, y} {
		assert.Len(t, r.view.members, first+joiners)
		assert.Len(t, r.state, first+joiners)
		assert.NotSame(t, &r.inline[0], &r.state[0], "past inlineMembers the state moved out of inline")
		assert.EqualValues(t, first+joiners, r.unreturned.Load())
	}
	assert.Len(t, z.state, first-1+joiners)
	assert.Same(t, &z.inline[0], &z.state[0], "z grew within inline")
	g.unlock()

	for _, m := range ms[1:] {
		for _, name := range []string{"x", "y", "z"} {
			arriveAt(m, name)
		}
	}
	for _, a := range arrivals {
		res, err := a.Wait(ctx)
		require.NoError(t, err)
		if a.(*arrivalHandle[int]).r == z {
			assert.Empty(t, res.Departed())
		} else {
			require.Len(t, res.Departed(), 1)
			assert.Equal(t, departed.ID(), res.Departed()[0].Member)
		}
	}
}

// asImpl returns the member a Spawn returned as the coordinator holds it.
func asImpl[T any](m managedprocess.Member[T], err error) (*member.Member[T], error) {
	if err != nil {
		return nil, err
	}
	return m.(*member.Member[T]), nil
}
