package repro

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/processgroup"
)

// Iteration is what the consumer saw in one iteration.
type Iteration struct {
	Index int
	// Pending is how many markers of the iteration had not been handled
	// when the consumer had arrived at the iteration barrier.
	Pending int
	// Missing is how many had still not been handled when the consumer's
	// iteration barrier returned: zero is what a fence guarantees, unless
	// markers pass relays (Hops > 0) and the fence is a DeliveryFence.
	Missing int
	// FirstHopMissing is, with Hops > 0, how many the first relay had not
	// handled by then: zero is what a DeliveryFence guarantees. It is 0
	// without relays.
	FirstHopMissing int
	// Latency is the consumer's barrier latency: from its arrival call to
	// its return.
	Latency time.Duration
}

// Report is the outcome of a run.
type Report struct {
	Mode         fence.Mode
	Members      int // the consumer, the workers and the relays
	Workers      int
	Iterations   int
	Burst        int
	HandlerDelay time.Duration
	Hops         int  // relays each marker passed through: Config.Hops
	InProcess    bool // the workers were goroutines: Config.InProcess
	Messages     int  // markers a run sends: Workers × Iterations × Burst
	Sent         int  // markers the workers sent: Messages, unless the run did not finish
	Handled      int  // distinct markers handled by the end of the run

	// Missing sums, over the iterations, the markers not yet handled when
	// the consumer's iteration barrier returned; MissingIterations counts
	// the iterations with any; FirstMissing lists the first few.
	Missing           int
	MissingIterations int
	FirstMissing      []Marker
	Duplicates        int // markers handled more than once
	OutOfOrder        int // markers handled after a later marker of the same worker
	// Lost counts the markers never handled, even after the final drain;
	// it is 0 when the run did not finish (Run returned an error), which
	// had no final drain.
	Lost int

	// FirstHopMissing sums the iterations' FirstHopMissing.
	FirstHopMissing int

	BarrierP50, BarrierP99, BarrierMax time.Duration
	Elapsed                            time.Duration
	// PerIteration holds the iterations whose barrier released, in order:
	// all of them, unless the run did not finish.
	PerIteration []Iteration

	// OK: the run finished, and no marker was missing at any release,
	// duplicated, out of order or lost.
	OK bool

	// Stuck is what the run was waiting for when Run's context ended before
	// it finished; nil otherwise.
	Stuck *Stuck
}

// Stuck is the diagnosis of a run whose context ended before it finished.
type Stuck struct {
	// Snapshot is the coordinator's state the instant the run noticed, with
	// the members still where they were waiting: every member with its
	// streams (sent, delivered), what is queued for it and which handler
	// runs since when, and the open rounds with who has arrived, who is
	// missing and which streams lag behind their targets.
	Snapshot processgroup.Snapshot
	// Barriers holds, for each round a member was waiting in, the error its
	// barrier call returned once Run stopped the member (with the context's
	// cause): the round, who had not arrived and which streams lagged. One
	// per round, ordered by barrier name and round number.
	Barriers []*fence.Error
}

// add keeps err's barrier diagnosis if it is the first for its round, or if
// the one kept was caused by another member's failure (a stopped member
// fails its rounds) and err's is not.
func (st *Stuck) add(err error) {
	var fe *fence.Error
	if !errors.As(err, &fe) {
		return
	}
	failed := func(e *fence.Error) bool {
		return errors.Is(e.Err, fence.ErrExited) || errors.Is(e.Err, fence.ErrCrashed)
	}
	for i, kept := range st.Barriers {
		if kept.Group == fe.Group && kept.Barrier == fe.Barrier && kept.Round == fe.Round {
			if failed(kept) && !failed(fe) {
				st.Barriers[i] = fe
			}
			return
		}
	}
	st.Barriers = append(st.Barriers, fe)
	slices.SortFunc(st.Barriers, func(a, b *fence.Error) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Barrier, b.Barrier), cmp.Compare(a.Round, b.Round))
	})
}

// Violations reports whether anything other than missing-at-release went
// wrong: duplicates, out-of-order or lost markers are failures in every mode,
// where missing markers are the expected outcome of a Rendezvous.
func (r Report) Violations() bool { return r.Duplicates > 0 || r.OutOfOrder > 0 || r.Lost > 0 }

// FenceMissed returns how many markers the run's mode promised handled at
// the consumer's releases and were not: none under a Rendezvous, which
// promises nothing; FirstHopMissing under a DeliveryFence with relays
// (Hops > 0), which covers what each member sent before it arrived — the
// first hop, since the relays arrive before forwarding; Missing otherwise.
func (r Report) FenceMissed() int {
	switch {
	case r.Mode == fence.Rendezvous:
		return 0
	case r.firstHopOnly():
		return r.FirstHopMissing
	default:
		return r.Missing
	}
}

// firstHopOnly reports whether the run's fence covers only the markers'
// first hop: a DeliveryFence with relays.
func (r Report) firstHopOnly() bool { return r.Mode == fence.DeliveryFence && r.Hops > 0 }

// MissingExpected reports whether the run's only finding is missing markers
// its mode does not promise to prevent: a Rendezvous, or a DeliveryFence
// beyond the first hop.
func (r Report) MissingExpected() bool {
	return r.Missing > 0 && r.FenceMissed() == 0 && !r.Violations()
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest value at least p % of the values are
// less than or equal to. It returns 0 for no values. ds need not be sorted
// and is not modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return nearestRank(s, p)
}

func nearestRank(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summarize fills the report's totals (from Handled on) from its
// PerIteration and the consumer's ledger l; finished says whether the run
// finished: only then are the markers never handled lost, and the report OK
// if nothing went wrong.
func (r *Report) Summarize(l *Ledger, finished bool) {
	r.Handled, r.Duplicates, r.OutOfOrder, r.FirstMissing = l.totals()
	if finished {
		r.Lost = r.Messages - r.Handled
	}
	lat := make([]time.Duration, len(r.PerIteration))
	for i, it := range r.PerIteration {
		r.Missing += it.Missing
		r.FirstHopMissing += it.FirstHopMissing
		if it.Missing > 0 {
			r.MissingIterations++
		}
		lat[i] = it.Latency
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		r.BarrierP50 = nearestRank(lat, 50)
		r.BarrierP99 = nearestRank(lat, 99)
		r.BarrierMax = lat[len(lat)-1]
	}
	r.OK = finished && r.Missing == 0 && !r.Violations()
}
