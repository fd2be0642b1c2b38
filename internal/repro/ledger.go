package repro

import (
	"context"
	"sync"
	"time"
)

// Ledger is the consumer's record of the markers it handled: the consumer's
// handler writes it, its run goroutine reads it at each release and
// Report.Summarize totals it. Its methods may be called concurrently. Use
// NewLedger.
type Ledger struct {
	mu      sync.Mutex
	burst   int
	workers int
	seen    [][]bool // [worker][iteration*burst+seq]
	maxKey  []int    // per worker: the highest key handled, -1 before any
	perIter []int    // distinct markers handled per iteration
	handled int      // distinct markers handled

	duplicates   int
	outOfOrder   int
	firstMissing []Marker
}

// NewLedger returns the empty ledger of a run of workers × iterations ×
// burst markers.
func NewLedger(workers, iterations, burst int) *Ledger {
	l := &Ledger{
		burst:   burst,
		workers: workers,
		seen:    make([][]bool, workers),
		maxKey:  make([]int, workers),
		perIter: make([]int, iterations),
	}
	for w := range l.seen {
		l.seen[w] = make([]bool, iterations*burst)
		l.maxKey[w] = -1
	}
	return l
}

// Consume is the consumer's handling of mk: its work, a sleep of d, then the
// record. A ctx that ends during the work leaves mk unrecorded: the run did
// not finish.
func (l *Ledger) Consume(ctx context.Context, mk Marker, d time.Duration) {
	if d > 0 && !work(ctx, d) {
		return
	}
	l.Record(mk)
}

// work sleeps for d, the consumer's work per marker; it reports false if ctx
// ended first.
func work(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Record notes that the consumer handled mk. A marker handled twice is a
// duplicate; one handled after a later marker of the same worker is out of
// order. A marker no worker can have sent, or one that reached the consumer
// with hops left, counts as out of order too.
func (l *Ledger) Record(mk Marker) {
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

// Unhandled returns how many markers of iteration it (0 … iterations-1)
// have not been handled.
func (l *Ledger) Unhandled(it int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.workers*l.burst - l.perIter[it]
}

// Release is the consumer's check when its barrier for iteration it
// (0 … iterations-1) returned: it returns how many markers of the iteration
// are missing and remembers the first few (MaxFirstMissing in all).
func (l *Ledger) Release(it int) (missing int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	missing = l.workers*l.burst - l.perIter[it]
	if missing == 0 {
		return 0
	}
	for w := 0; w < l.workers && len(l.firstMissing) < MaxFirstMissing; w++ {
		for s := 0; s < l.burst && len(l.firstMissing) < MaxFirstMissing; s++ {
			if !l.seen[w][it*l.burst+s] {
				l.firstMissing = append(l.firstMissing, Marker{Worker: w, Iteration: it, Seq: s})
			}
		}
	}
	return missing
}

// totals returns the counts at the end of a run.
func (l *Ledger) totals() (handled, duplicates, outOfOrder int, firstMissing []Marker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.handled, l.duplicates, l.outOfOrder, append([]Marker(nil), l.firstMissing...)
}
