package watcher

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/internal/progress"
)

const none = progress.None

// harness drives a Core[string] over a fixed set of counters the way the
// Watcher does: Add, Publish-then-Progress when crossed, Drop, and
// Progress(nil) after Add and Drop to collect rounds they drained.
type harness struct {
	t    *testing.T
	core *Core[string]
	ctrs []*progress.Counter
}

func newHarness(t *testing.T, counters int) *harness {
	h := &harness{t: t, core: NewCore[string]()}
	for range counters {
		h.ctrs = append(h.ctrs, progress.NewCounter())
	}
	return h
}

func (h *harness) thresholds() []uint64 {
	out := make([]uint64, len(h.ctrs))
	for i, c := range h.ctrs {
		out[i] = c.Threshold()
	}
	return out
}

// action is one step's input; it returns the rounds reported as drained.
type action func(h *harness) []string

// tg is a target on counter index ctr.
type tg struct {
	ctr int
	seq uint64
}

func add(r string, ts ...tg) action {
	return func(h *harness) []string {
		targets := make([]Target, len(ts))
		for i, x := range ts {
			targets[i] = Target{Counter: h.ctrs[x.ctr], Seq: x.seq}
		}
		var out []string
		if h.core.Add(r, targets) {
			out = append(out, r)
		}
		return h.core.Progress(nil, out)
	}
}

// pub publishes seq on a counter and, when it crossed, calls Progress as the
// watcher would on the reader's notification.
func pub(ctr int, seq uint64) action {
	return func(h *harness) []string {
		if h.ctrs[ctr].Publish(seq) {
			return h.core.Progress(h.ctrs[ctr], nil)
		}
		return nil
	}
}

// pubInFlight publishes and requires a crossing, but holds the notification
// back (it is still in the mailbox): the test calls notify later.
func pubInFlight(ctr int, seq uint64) action {
	return func(h *harness) []string {
		require.True(h.t, h.ctrs[ctr].Publish(seq), "publish %d on counter %d must cross", seq, ctr)
		return nil
	}
}

// notify calls Progress without a publish: a late or duplicate notification.
func notify(ctr int) action {
	return func(h *harness) []string { return h.core.Progress(h.ctrs[ctr], nil) }
}

func drop(r string) action {
	return func(h *harness) []string {
		h.core.Drop(r)
		return h.core.Progress(nil, nil)
	}
}

type step struct {
	do         action
	drained    []string // in order of report
	thresholds []uint64 // per counter, after the step
	pending    int
}

func TestCoreSteps(t *testing.T) {
	cases := []struct {
		name     string
		counters int
		steps    []step
	}{
		{"a target already met at Add drains at once and arms nothing", 1, []step{
			{do: pub(0, 5), thresholds: []uint64{none}},
			{do: add("A", tg{0, 3}), drained: []string{"A"}, thresholds: []uint64{none}},
			{do: add("B", tg{0, 5}), drained: []string{"B"}, thresholds: []uint64{none}},
			{do: add("C", tg{0, 6}), thresholds: []uint64{6}, pending: 1},
			{do: pub(0, 6), drained: []string{"C"}, thresholds: []uint64{none}},
		}},
		{"rounds on one counter re-arm to the next minimum", 1, []step{
			{do: add("A", tg{0, 3}), thresholds: []uint64{3}, pending: 1},
			{do: add("B", tg{0, 7}), thresholds: []uint64{3}, pending: 2},
			{do: add("C", tg{0, 5}), thresholds: []uint64{3}, pending: 3},
			{do: pub(0, 2), thresholds: []uint64{3}, pending: 3},
			{do: pub(0, 4), drained: []string{"A"}, thresholds: []uint64{5}, pending: 2},
			{do: pub(0, 6), drained: []string{"C"}, thresholds: []uint64{7}, pending: 1},
			{do: pub(0, 7), drained: []string{"B"}, thresholds: []uint64{none}},
		}},
		{"a lower target added later lowers the threshold", 1, []step{
			{do: add("A", tg{0, 7}), thresholds: []uint64{7}, pending: 1},
			{do: add("B", tg{0, 2}), thresholds: []uint64{2}, pending: 2},
			{do: pub(0, 9), drained: []string{"A", "B"}, thresholds: []uint64{none}},
		}},
		{"one crossing past several targets drains them together", 1, []step{
			{do: add("A", tg{0, 3}), thresholds: []uint64{3}, pending: 1},
			{do: add("B", tg{0, 4}), thresholds: []uint64{3}, pending: 2},
			{do: add("C", tg{0, 9}), thresholds: []uint64{3}, pending: 3},
			{do: pub(0, 8), drained: []string{"A", "B"}, thresholds: []uint64{9}, pending: 1},
		}},
		{"Drop re-arms to the next minimum, then disarms", 2, []step{
			{do: add("A", tg{0, 3}, tg{1, 4}), thresholds: []uint64{3, 4}, pending: 1},
			{do: add("B", tg{0, 7}), thresholds: []uint64{3, 4}, pending: 2},
			{do: drop("A"), thresholds: []uint64{7, none}, pending: 1},
			{do: drop("A"), thresholds: []uint64{7, none}, pending: 1},
			{do: drop("unknown"), thresholds: []uint64{7, none}, pending: 1},
			{do: drop("B"), thresholds: []uint64{none, none}},
			{do: pub(0, 9), thresholds: []uint64{none, none}},
		}},
		{"a duplicate or stray notification is harmless", 1, []step{
			{do: notify(0), thresholds: []uint64{none}},
			{do: add("A", tg{0, 3}), thresholds: []uint64{3}, pending: 1},
			{do: pub(0, 3), drained: []string{"A"}, thresholds: []uint64{none}},
			{do: notify(0), thresholds: []uint64{none}},
			{do: pub(0, 4), thresholds: []uint64{none}},
			{do: add("B", tg{0, 6}), thresholds: []uint64{6}, pending: 1},
			{do: notify(0), thresholds: []uint64{6}, pending: 1},
		}},
		{"a round with several counters drains with its last one", 3, []step{
			{do: add("A", tg{0, 2}, tg{1, 4}, tg{2, 1}), thresholds: []uint64{2, 4, 1}, pending: 1},
			{do: pub(1, 4), thresholds: []uint64{2, none, 1}, pending: 1},
			{do: pub(2, 1), thresholds: []uint64{2, none, none}, pending: 1},
			{do: pub(0, 2), drained: []string{"A"}, thresholds: []uint64{none, none, none}},
		}},
		{"Seq 0 targets are met already", 2, []step{
			{do: add("A", tg{0, 0}), drained: []string{"A"}, thresholds: []uint64{none, none}},
			{do: add("B", tg{0, 0}, tg{1, 3}), thresholds: []uint64{none, 3}, pending: 1},
			{do: add("C"), drained: []string{"C"}, thresholds: []uint64{none, 3}, pending: 1},
		}},
		{"Add to a pending round adds targets", 2, []step{
			{do: add("A", tg{0, 3}), thresholds: []uint64{3, none}, pending: 1},
			{do: add("A", tg{1, 2}), thresholds: []uint64{3, 2}, pending: 1},
			{do: add("A", tg{1, 0}), thresholds: []uint64{3, 2}, pending: 1},
			{do: pub(0, 3), thresholds: []uint64{none, 2}, pending: 1},
			{do: pub(1, 2), drained: []string{"A"}, thresholds: []uint64{none, none}},
		}},
		{"two targets of one round on one counter: the larger counts", 1, []step{
			{do: add("A", tg{0, 2}, tg{0, 5}), thresholds: []uint64{2}, pending: 1},
			{do: pub(0, 3), thresholds: []uint64{5}, pending: 1},
			{do: pub(0, 5), drained: []string{"A"}, thresholds: []uint64{none}},
		}},
		{"Drop's re-read drains a round whose crossing it raced", 1, []step{
			{do: add("A", tg{0, 5}), thresholds: []uint64{5}, pending: 1},
			{do: add("B", tg{0, 2}), thresholds: []uint64{2}, pending: 2},
			{do: pubInFlight(0, 6), thresholds: []uint64{none}, pending: 2},
			{do: drop("B"), drained: []string{"A"}, thresholds: []uint64{none}},
			{do: notify(0), thresholds: []uint64{none}},
		}},
		{"Add's re-read drains another round whose crossing is in flight", 1, []step{
			{do: add("A", tg{0, 5}), thresholds: []uint64{5}, pending: 1},
			{do: pubInFlight(0, 6), thresholds: []uint64{none}, pending: 1},
			{do: add("B", tg{0, 7}), drained: []string{"A"}, thresholds: []uint64{7}, pending: 1},
			{do: notify(0), thresholds: []uint64{7}, pending: 1},
			{do: pub(0, 7), drained: []string{"B"}, thresholds: []uint64{none}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.counters)
			for i, s := range tc.steps {
				got := s.do(h)
				require.Equal(t, s.drained, got, "step %d: drained", i)
				require.Equal(t, s.thresholds, h.thresholds(), "step %d: thresholds", i)
				require.Equal(t, s.pending, h.core.Pending(), "step %d: pending", i)
			}
		})
	}
}

func TestCoreWaitingListsUnmetTargets(t *testing.T) {
	h := newHarness(t, 3)
	add("A", tg{0, 2}, tg{1, 4}, tg{2, 1})(h)
	add("A", tg{1, 6})(h)
	pub(2, 1)(h)

	require.ElementsMatch(t, []Target{
		{Counter: h.ctrs[0], Seq: 2},
		{Counter: h.ctrs[1], Seq: 4},
		{Counter: h.ctrs[1], Seq: 6},
	}, h.core.Waiting("A"))
	require.Nil(t, h.core.Waiting("unknown"))
}

func TestCoreIgnoresNilCounter(t *testing.T) {
	c := NewCore[int]()
	require.True(t, c.Add(1, []Target{{Counter: nil, Seq: 3}}))
	require.Empty(t, c.Progress(nil, nil))
	require.Zero(t, c.Pending())
}

func TestCoreZeroValueIsReady(t *testing.T) {
	var c Core[int]
	ctr := progress.NewCounter()
	c.Drop(1)
	require.Empty(t, c.Progress(ctr, nil))
	require.False(t, c.Add(1, []Target{{Counter: ctr, Seq: 1}}))
	require.True(t, ctr.Publish(1))
	require.Equal(t, []int{1}, c.Progress(ctr, nil))
}
