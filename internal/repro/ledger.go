package repro

import "sync"

// ledger is the consumer's record of the markers it handled, and the first
// relay's count of the markers it handled. The handlers write it; the
// consumer's run goroutine reads it at each release.
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
	firstMissing []Marker

	firstHop []int // markers the first relay handled, per iteration
}

func newLedger(workers, iterations, burst int) *ledger {
	l := &ledger{
		burst:   burst,
		workers: workers,
		seen:    make([][]bool, workers),
		maxKey:  make([]int, workers),
		perIter: make([]int, iterations),
	}
	l.firstHop = make([]int, iterations)
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
func (l *ledger) record(mk Marker) {
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

// firstHopHandled notes that the first relay is handling a marker of
// iteration it; it does not count as handled, which only the consumer's
// record does.
func (l *ledger) firstHopHandled(it int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if it >= 0 && it < len(l.firstHop) {
		l.firstHop[it]++
	}
}

// firstHopUnhandled returns how many markers of iteration it the first relay
// has not handled.
func (l *ledger) firstHopUnhandled(it int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.workers*l.burst - l.firstHop[it]
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
func (l *ledger) totals() (handled, duplicates, outOfOrder int, firstMissing []Marker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.handled, l.duplicates, l.outOfOrder, append([]Marker(nil), l.firstMissing...)
}
