package wire

import (
	"sync/atomic"
	"time"
)

// The member side reports its progress after each batch its handler
// goroutine takes. While a batch takes long — a slow or stuck handler
// behind messages handled earlier in it — the coordinator would see none
// of them: its Snapshot would name the wrong message as the one being
// handled, and their senders' windows would stay full. lateReports reports
// such a batch's progress on a timer: first lateFirst after the batch
// began, then at doubling intervals up to lateMax, until it ends.
const (
	lateFirst = time.Millisecond
	lateMax   = time.Second
)

// lateReports is the timer that reports a long batch's progress (see
// above). begin and end are the handler goroutine's; the timer's function
// runs on its own goroutine.
type lateReports struct {
	report  func()
	timer   *time.Timer
	running atomic.Bool  // a batch is being handled
	next    atomic.Int64 // the interval after the next firing
}

// newLateReports returns a stopped timer that calls report.
func newLateReports(report func()) *lateReports {
	l := &lateReports{report: report}
	l.timer = time.AfterFunc(time.Hour, l.fire)
	l.timer.Stop()
	return l
}

// begin starts timing a batch of n messages; a batch of one hides nothing.
func (l *lateReports) begin(n int) {
	if n < 2 {
		return
	}
	l.next.Store(int64(2 * lateFirst))
	l.running.Store(true)
	l.timer.Reset(lateFirst)
}

// end stops timing the batch. A firing already under way may still report
// once: reports are idempotent.
func (l *lateReports) end() {
	if l.running.Swap(false) {
		l.timer.Stop()
	}
}

func (l *lateReports) fire() {
	if !l.running.Load() {
		return
	}
	l.report()
	d := time.Duration(l.next.Load())
	l.next.Store(int64(min(2*d, lateMax)))
	l.timer.Reset(d)
}
