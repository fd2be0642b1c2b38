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

// manyNames is how many distinct barrier names the tests below use.
const manyNames = 100_000

// maxBarrierEntries bounds a group's barrier entries once its names are
// idle: the sweep's floor.
const maxBarrierEntries = 64

// pair is a group "g" of two idle members in a coordinator closed at
// cleanup.
type pair struct {
	ctx  context.Context
	g    *Group[int]
	a, b *member.Member[int]
}

func newPair(t *testing.T) *pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	c := New[int]()
	t.Cleanup(func() {
		require.NoError(t, c.Close(ctx))
		cancel()
	})
	g, err := c.NewGroup("g")
	require.NoError(t, err)
	p := &pair{ctx: ctx, g: g}
	p.a, err = asImpl(c.Spawn(ctx, Spec[int]{Name: "a", Groups: []string{"g"}}))
	require.NoError(t, err)
	p.b, err = asImpl(c.Spawn(ctx, Spec[int]{Name: "b", Groups: []string{"g"}}))
	require.NoError(t, err)
	return p
}

// stepNames returns step-from … step-(to-1).
func stepNames(from, to int) []string {
	names := make([]string, 0, to-from)
	for k := from; k < to; k++ {
		names = append(names, fmt.Sprintf("step-%d", k))
	}
	return names
}

// meet makes both members meet at every name in turn, one Rendezvous round
// each (each member calls Barrier on its own goroutine, so finished rounds
// are recycled), and returns the rounds' numbers.
func (p *pair) meet(t *testing.T, names ...string) []uint64 {
	t.Helper()
	type result struct {
		nums []uint64
		err  error
	}
	results := make(chan result, 2)
	for _, m := range []*member.Member[int]{p.a, p.b} {
		go func() {
			nums := make([]uint64, 0, len(names))
			for _, name := range names {
				res, err := m.Barrier(p.ctx, p.g.Name(), name, fence.Rendezvous)
				if err != nil {
					results <- result{err: err}
					return
				}
				nums = append(nums, res.Round)
			}
			results <- result{nums: nums}
		}()
	}
	first, second := <-results, <-results
	require.NoError(t, first.err)
	require.NoError(t, second.err)
	require.Equal(t, first.nums, second.nums, "both members saw the same rounds")
	return first.nums
}

// entries returns how many barrier entries g holds.
func (g *Group[T]) entries() int {
	g.mu.Lock()
	defer g.unlock()
	return len(g.barriers)
}

// TestIdleBarrierNamesAreEvictedAndRoundsStillIncrease: after 100 000
// distinct names, the group keeps a bounded number of barrier entries; a
// name re-used after its entry was evicted gets round numbers greater than
// every one it had, and consecutive uses of a name are numbered
// consecutively.
func TestIdleBarrierNamesAreEvictedAndRoundsStillIncrease(t *testing.T) {
	p := newPair(t)
	first := p.meet(t, stepNames(0, manyNames)...)
	assert.LessOrEqual(t, p.g.entries(), maxBarrierEntries, "barrier entries after %d names", manyNames)

	again := p.meet(t, stepNames(0, 1_000)...) // every one evicted long ago
	for k := range again {
		require.Greater(t, again[k], first[k], "step-%d re-used", k)
	}
	hot := p.meet(t, "hot", "hot", "hot")
	assert.Equal(t, []uint64{hot[0], hot[0] + 1, hot[0] + 2}, hot, "consecutive rounds of one name")
	p.meet(t, stepNames(manyNames, manyNames+1_000)...) // evicts "hot"
	later := p.meet(t, "hot")
	assert.Greater(t, later[0], hot[2], "hot re-used after eviction")
}

// TestLeaveAfterManyNamesSettlesOnlyOpenRounds: with one open round left
// among 100 000 names used, the group's index of open rounds — all a
// departure walks — holds that round alone; the Leave settles it (b had not
// arrived: the round completes without it, listing it as left), and the
// name, never evicted while open, goes on with round 2.
func TestLeaveAfterManyNamesSettlesOnlyOpenRounds(t *testing.T) {
	p := newPair(t)
	pending, err := p.a.Arrive(p.ctx, p.g.Name(), "pending", fence.DeliveryFence)
	require.NoError(t, err)
	p.meet(t, stepNames(0, manyNames)...)
	p.g.mu.Lock()
	open, entries := len(p.g.open), len(p.g.barriers)
	p.g.unlock()
	assert.Equal(t, 1, open, "open rounds indexed")
	assert.LessOrEqual(t, entries, maxBarrierEntries, "barrier entries")

	require.NoError(t, p.b.Leave(p.g.Name()))
	res, err := pending.Wait(p.ctx)
	require.NoError(t, err)
	assert.Equal(t, []fence.Identity{p.b.ID()}, res.Left())
	p.g.mu.Lock()
	assert.Empty(t, p.g.open, "open rounds after the Leave")
	p.g.unlock()

	require.NoError(t, p.b.Join(p.g.Name()))
	assert.Equal(t, []uint64{2}, p.meet(t, "pending"), "a name never evicted keeps counting 1, 2, …")
}

// TestOpenRoundsSurviveSweeps: 300 rounds open at once (one member
// arrived at each) keep their barriers through the sweeps that new names
// cause, so the other member's arrivals complete them as round 1; once they
// are over, later sweeps evict them.
func TestOpenRoundsSurviveSweeps(t *testing.T) {
	p := newPair(t)
	names := stepNames(0, 300)
	first := make([]managedprocess.Arrival, len(names))
	for i, name := range names {
		var err error
		first[i], err = p.a.Arrive(p.ctx, p.g.Name(), name, fence.Rendezvous)
		require.NoError(t, err)
	}
	p.g.mu.Lock()
	assert.Len(t, p.g.open, len(names))
	p.g.unlock()
	for i, name := range names {
		second, err := p.b.Arrive(p.ctx, p.g.Name(), name, fence.Rendezvous)
		require.NoError(t, err)
		require.Same(t, first[i].(*arrivalHandle[int]).r, second.(*arrivalHandle[int]).r, "%s: the open round", name)
		res, err := first[i].Wait(p.ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, res.Round, name)
	}
	p.meet(t, stepNames(len(names), 10*len(names))...)
	assert.LessOrEqual(t, p.g.entries(), maxBarrierEntries)
}

// TestAStandingArrivalKeepsItsBarrierThroughSweeps: a member whose Barrier
// gave up waiting leaves a standing arrival; once its round finished, the
// barrier has no open round, but sweeps of idle names must keep it, so that
// the member's retry still returns its round's outcome instead of opening a
// new round.
func TestAStandingArrivalKeepsItsBarrierThroughSweeps(t *testing.T) {
	p := newPair(t)
	short, cancel := context.WithTimeout(p.ctx, time.Millisecond)
	_, err := p.a.Barrier(short, p.g.Name(), "keep", fence.DeliveryFence)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	res, err := p.b.Barrier(p.ctx, p.g.Name(), "keep", fence.DeliveryFence)
	require.NoError(t, err, "a's arrival stands: b completes round 1")
	require.EqualValues(t, 1, res.Round)

	p.meet(t, stepNames(0, 10*maxBarrierEntries)...) // several sweeps
	p.g.mu.Lock()
	_, kept := p.g.barriers["keep"]
	p.g.mu.Unlock()
	require.True(t, kept, "the barrier with a standing arrival was evicted")
	res, err = p.a.Barrier(p.ctx, p.g.Name(), "keep", fence.DeliveryFence)
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Round, "the retry returns the outcome of the round it arrived at")
}
