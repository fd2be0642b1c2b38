package wire

import (
	"sync"
	"sync/atomic"
)

// farProgress is a member side's progress: how many delivered messages its
// handler goroutine handled, and what it reported. The handler goroutine
// raises count, then checks the armed threshold; arm stores the threshold,
// then checks count: both store before they load, so at least one of them
// sees the other, and the one that claims the threshold (a compare and swap
// to 0) reports. Reports go out under mu, so their counts never go back.
type farProgress struct {
	count atomic.Uint64
	armed atomic.Uint64 // the count a report is due at; 0: none

	mu       sync.Mutex
	reported uint64
}

// handled records one more message handled, and reports if that reached
// the armed count.
func (p *farProgress) handled(out Sender) {
	n := p.count.Add(1)
	if t := p.armed.Load(); t != 0 && n >= t && p.armed.CompareAndSwap(t, 0) {
		p.report(out, false)
	}
}

// arm asks for a report once count messages were handled, at once if they
// were. A count of 0 is met already: nothing is armed.
func (p *farProgress) arm(out Sender, count uint64) {
	if count == 0 {
		return
	}
	p.armed.Store(count)
	if p.count.Load() >= count && p.armed.CompareAndSwap(count, 0) {
		p.report(out, false)
	}
}

// report sends what was handled, if that is more than was reported, or, with
// drop, in any case, saying the rest is dropped.
func (p *farProgress) report(out Sender, drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.count.Load()
	if n > p.reported || drop {
		p.reported = n
		out.Send(&Frame{Op: OpHandled, Count: n, Drop: drop})
	}
}

// crashed sends the crash of the next message's handler, which reports
// what was handled before it: no report follows.
func (p *farProgress) crashed(out Sender, crash *Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.count.Load()
	p.reported = n
	crash.Count = n + 1
	out.Send(crash)
}
