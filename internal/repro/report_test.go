package repro

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	assert.Zero(t, Percentile(nil, 50))
	assert.Equal(t, 7*time.Millisecond, Percentile(ms(7), 50))
	assert.Equal(t, 7*time.Millisecond, Percentile(ms(7), 99))

	// Nearest rank on 1..100: p50 is the 50th value, p99 the 99th.
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // unsorted on purpose
	}
	d := ms(hundred...)
	assert.Equal(t, 50*time.Millisecond, Percentile(d, 50))
	assert.Equal(t, 99*time.Millisecond, Percentile(d, 99))
	assert.Equal(t, 100*time.Millisecond, Percentile(d, 100))
	assert.Equal(t, 1*time.Millisecond, Percentile(d, 0.5))
	assert.Equal(t, 1*time.Millisecond, Percentile(d, 0), "p0 clamps to the minimum")
	assert.Equal(t, time.Duration(100), d[0]/time.Millisecond, "Percentile must not sort its input")

	// Small samples: p99 of 4 values is the maximum, p50 the 2nd.
	four := ms(40, 10, 30, 20)
	assert.Equal(t, 20*time.Millisecond, Percentile(four, 50))
	assert.Equal(t, 40*time.Millisecond, Percentile(four, 99))
	// 64 iterations (the default run): p99 is the 64th value, p50 the 32nd.
	sixtyfour := make([]int, 64)
	for i := range sixtyfour {
		sixtyfour[i] = i + 1
	}
	assert.Equal(t, 32*time.Millisecond, Percentile(ms(sixtyfour...), 50))
	assert.Equal(t, 64*time.Millisecond, Percentile(ms(sixtyfour...), 99))
}

func TestSummarize(t *testing.T) {
	l := NewLedger(2, 3, 2)
	for _, mk := range []Marker{
		{0, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 0, 0}, {1, 0, 1, 0}, // iteration 0 complete
		{0, 1, 1, 0}, {0, 1, 0, 0}, // out of order
		{0, 1, 1, 0},                             // duplicate
		{1, 1, 0, 0},                             // {1,1,1} is missing at release, handled later
		{9, 0, 0, 0}, {0, 7, 0, 0}, {0, 0, 5, 0}, // nobody sent these
	} {
		l.Record(mk)
	}
	r := Report{Messages: 12}
	r.PerIteration = append(r.PerIteration,
		Iteration{Index: 0, Missing: l.Release(0), Latency: 3 * time.Millisecond},
		Iteration{Index: 1, Missing: l.Release(1), Latency: time.Millisecond},
	)
	l.Record(Marker{1, 1, 1, 0})
	r.PerIteration = append(r.PerIteration, Iteration{Index: 2, Missing: l.Release(2), Latency: 2 * time.Millisecond})
	r.Summarize(l, true)

	assert.Equal(t, []int{0, 1, 4}, []int{r.PerIteration[0].Missing, r.PerIteration[1].Missing, r.PerIteration[2].Missing})
	assert.Equal(t, 5, r.Missing)
	assert.Equal(t, 2, r.MissingIterations)
	assert.Equal(t, []Marker{{1, 1, 1, 0}, {0, 2, 0, 0}, {0, 2, 1, 0}, {1, 2, 0, 0}, {1, 2, 1, 0}}, r.FirstMissing)
	assert.Equal(t, 8, r.Handled)
	assert.Equal(t, 4, r.Lost)
	assert.Equal(t, 1, r.Duplicates)
	assert.Equal(t, 4, r.OutOfOrder, "one reordered marker and three unknown ones")
	assert.Equal(t, 2*time.Millisecond, r.BarrierP50)
	assert.Equal(t, 3*time.Millisecond, r.BarrierP99)
	assert.Equal(t, 3*time.Millisecond, r.BarrierMax)
	assert.False(t, r.OK)
	assert.True(t, r.Violations())

	clean := Report{Messages: 0}
	clean.Summarize(NewLedger(1, 1, 1), true)
	assert.True(t, clean.OK)
	assert.False(t, clean.Violations())
}

func TestFirstMissingIsBounded(t *testing.T) {
	l := NewLedger(4, 2, 8)
	assert.Equal(t, 32, l.Release(0))
	assert.Equal(t, 32, l.Release(1))
	_, _, _, first := l.totals()
	assert.Len(t, first, MaxFirstMissing)
	assert.Equal(t, Marker{0, 0, 7, 0}, first[MaxFirstMissing-1])
}

// Only the consumer's record counts as handled; a marker that reached it with
// hops left is one no worker sent. The first relay's count is separate.
func TestLedgerHops(t *testing.T) {
	h := newHopCount(2, 2)
	h.handled(0)
	h.handled(0)
	h.handled(1)
	h.handled(7) // out of range: ignored
	assert.Zero(t, h.unhandled(0))
	assert.Equal(t, 1, h.unhandled(1))

	l := NewLedger(1, 2, 2)
	assert.Equal(t, 2, l.Unhandled(0), "the first hop's handling does not count as handled")

	l.Record(Marker{Worker: 0, Iteration: 0, Seq: 0, HopsLeft: 1})
	l.Record(Marker{Worker: 0, Iteration: 0, Seq: 1})
	handled, duplicates, outOfOrder, _ := l.totals()
	assert.Equal(t, 1, handled)
	assert.Zero(t, duplicates)
	assert.Equal(t, 1, outOfOrder, "a marker with hops left at the consumer")
}

func TestFenceMissed(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		rep                   Report
		fenceMissed           int
		missingExpected, isOK bool
	}{
		{"rendezvous", Report{Mode: fence.Rendezvous, Missing: 5}, 0, true, false},
		{"rendezvous with hops", Report{Mode: fence.Rendezvous, Hops: 2, Missing: 5, FirstHopMissing: 3}, 0, true, false},
		{"delivery", Report{Mode: fence.DeliveryFence, Missing: 5}, 5, false, false},
		{"delivery beyond the first hop", Report{Mode: fence.DeliveryFence, Hops: 3, Missing: 5}, 0, true, false},
		{"delivery at the first hop", Report{Mode: fence.DeliveryFence, Hops: 3, Missing: 5, FirstHopMissing: 1}, 1, false, false},
		{"processing with hops", Report{Mode: fence.ProcessingFence, Hops: 3, Missing: 5}, 5, false, false},
		{"lost", Report{Mode: fence.Rendezvous, Missing: 5, Lost: 1}, 0, false, false},
		{"nothing missing", Report{Mode: fence.DeliveryFence, Hops: 3}, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.fenceMissed, tc.rep.FenceMissed())
			assert.Equal(t, tc.missingExpected, tc.rep.MissingExpected())
			tc.rep.Summarize(NewLedger(1, 1, 1), true)
			assert.Equal(t, tc.isOK, tc.rep.OK)
		})
	}
}

// A run that did not finish is not OK and loses nothing: it had no final
// drain to tell late from lost.
func TestSummarizeUnfinished(t *testing.T) {
	r := Report{Mode: fence.DeliveryFence, Messages: 4}
	r.Summarize(NewLedger(1, 1, 4), false)
	assert.False(t, r.OK)
	assert.Zero(t, r.Lost)
	assert.False(t, r.Violations())
}

// Stuck keeps one barrier diagnosis per round, preferring one whose cause is
// not another member's failure, in barrier and round order.
func TestStuckAdd(t *testing.T) {
	var st Stuck
	failed := &fence.Error{Group: "g", Barrier: "b", Round: 2, Err: fmt.Errorf("%w: worker 0", fence.ErrExited)}
	own := &fence.Error{Group: "g", Barrier: "b", Round: 2, Err: context.DeadlineExceeded}
	other := &fence.Error{Group: "g", Barrier: "a", Round: 7, Err: context.DeadlineExceeded}
	st.add(fmt.Errorf("worker 1, iteration 1: %w", failed))
	st.add(errors.New("not a barrier's"))
	st.add(nil)
	st.add(own)
	st.add(failed)
	st.add(other)
	assert.Equal(t, []*fence.Error{other, own}, st.Barriers)
}
