package main

import (
	"slices"
	"sync"
	"time"

	"github.com/muster-go/muster/internal/repro"
)

// ledger is the consumer's record of the markers it handled, as the
// in-process scenario keeps it (internal/repro's ledger is unexported);
// relay-0's count is in Redis here (firstHopKey). The handler writes it;
// the consumer's run goroutine reads it at each release.
type ledger struct {
	mu      sync.Mutex
	burst   int
	workers int
	seen    [][]bool // [worker][iteration*burst+seq]
	maxKey  []int    // per worker: the highest key handled, -1 before any
	perIter []int    // distinct markers handled per iteration
	handled int      // distinct markers handled

	duplicates   int
	outOfOrder   int
	firstMissing []repro.Marker
}

func newLedger(workers, iterations, burst int) *ledger {
	l := &ledger{burst: burst, workers: workers, seen: make([][]bool, workers), maxKey: make([]int, workers),
		perIter: make([]int, iterations)}
	for w := range l.seen {
		l.seen[w] = make([]bool, iterations*burst)
		l.maxKey[w] = -1
	}
	return l
}

// record notes that the handler handled mk. A marker handled twice is a
// duplicate; one handled after a later marker of the same worker is out of
// order. A marker no worker can have sent, or one that reached the consumer
// with hops left, counts as out of order too.
func (l *ledger) record(mk repro.Marker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mk.Worker < 0 || mk.Worker >= l.workers || mk.Iteration < 0 || mk.Iteration >= len(l.perIter) ||
		mk.Seq < 0 || mk.Seq >= l.burst || mk.HopsLeft != 0 {
		l.outOfOrder++
		return
	}
	key := mk.Iteration*l.burst + mk.Seq
	if l.seen[mk.Worker][key] {
		l.duplicates++
		return
	}
	l.seen[mk.Worker][key] = true
	l.handled++
	l.perIter[mk.Iteration]++
	if key < l.maxKey[mk.Worker] {
		l.outOfOrder++
	} else {
		l.maxKey[mk.Worker] = key
	}
}

// unhandled returns how many markers of iteration it have not been handled.
func (l *ledger) unhandled(it int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.workers*l.burst - l.perIter[it]
}

// release is the consumer's check when its iteration barrier returned: it
// returns how many markers of iteration it are missing and remembers the
// first few.
func (l *ledger) release(it int) (missing int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	missing = l.workers*l.burst - l.perIter[it]
	for w := 0; w < l.workers && missing > 0 && len(l.firstMissing) < repro.MaxFirstMissing; w++ {
		for s := 0; s < l.burst && len(l.firstMissing) < repro.MaxFirstMissing; s++ {
			if !l.seen[w][it*l.burst+s] {
				l.firstMissing = append(l.firstMissing, repro.Marker{Worker: w, Iteration: it, Seq: s})
			}
		}
	}
	return missing
}

// summarize fills the report's totals from its iterations and the ledger,
// as the in-process scenario does; finished says whether the run finished
// (only then are markers never handled lost).
func summarize(r *repro.Report, l *ledger, finished bool) {
	l.mu.Lock()
	r.Handled, r.Duplicates, r.OutOfOrder = l.handled, l.duplicates, l.outOfOrder
	r.FirstMissing = slices.Clone(l.firstMissing)
	l.mu.Unlock()
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
	if len(lat) > 0 {
		r.BarrierP50, r.BarrierP99 = repro.Percentile(lat, 50), repro.Percentile(lat, 99)
		r.BarrierMax = slices.Max(lat)
	}
	r.OK = finished && r.Missing == 0 && !r.Violations()
}
