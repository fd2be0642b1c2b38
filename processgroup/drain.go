package processgroup

import (
	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/watcher"
)

// drain is one hand-over of a round to the watcher. A round whose targets
// change while it drains (a departure under CompleteForSurvivors) is handed
// over again as a new drain, and the old one is dropped.
//
// A drain without a round is a member's outbound fence: out is closed, by
// the watcher's goroutine, once its targets are met.
type drain[T any] struct {
	r      *round[T]
	out    chan struct{}
	closed bool // out is closed; owned by the watcher's goroutine
}

// startDrain moves a round whose members are all in to its drain phase.
// Rendezvous releases at once. A delivery fence keeps only its unmet targets:
// with none left it releases at once (the watcher's level check, done
// inline); otherwise the watcher owns the drain. A processing fence runs its
// quiescence check. Callers hold mu; it never waits.
func (g *Group[T]) startDrain(r *round[T]) {
	switch r.mode {
	case fence.Rendezvous:
		r.finish()
	case fence.ProcessingFence:
		g.settleQuiet(r)
	default:
		g.handOver(r)
	}
}

// handOver gives r's unmet targets to the watcher as a new drain, dropping
// the previous one, or releases r when none is left. Callers hold mu.
func (g *Group[T]) handOver(r *round[T]) {
	r.targets = r.unmet(r.targets)
	g.submit(r)
}

// settleQuiet releases processing fence round r if its quiescence check
// finds it quiet, and otherwise hands the lagging links to the watcher as a
// new drain, dropping the previous one. Callers hold mu.
func (g *Group[T]) settleQuiet(r *round[T]) {
	if r.checkQuiet() {
		r.targets = r.targets[:0]
	}
	g.submit(r)
}

// submit hands r.targets to the watcher as a new drain, dropping the
// previous one, or releases r when there are none. Callers hold mu.
func (g *Group[T]) submit(r *round[T]) {
	g.dropDrain(r)
	if len(r.targets) == 0 {
		r.finish()
		return
	}
	r.phase = draining
	r.drain = r.newDrain()
	g.watchBuf = appendWatch(g.watchBuf[:0], r.targets)
	g.c.watcher.Submit(r.drain, g.watchBuf) // Submit copies them
	clear(g.watchBuf)
}

// dropDrain withdraws r's drain from the watcher, if it has one. A drain
// the watcher may still call back with must not be reused: if it was r's
// own, r is never recycled. Callers hold mu.
func (g *Group[T]) dropDrain(r *round[T]) {
	if r.drain == nil {
		return
	}
	g.c.watcher.Drop(r.drain)
	if r.drain == &r.own {
		r.pinned.Store(true)
	}
	r.drain = nil
}

// newDrain returns the drain of r's next submission: the one r holds
// itself the first time (a round is usually submitted once, and the watcher
// forgets a drain it completed), a new one after that. Callers hold mu.
func (r *round[T]) newDrain() *drain[T] {
	if r.ownUsed {
		return &drain[T]{r: r}
	}
	r.ownUsed = true
	r.own = drain[T]{r: r}
	return &r.own
}

// onDrained is the watcher's callback, on its goroutine, once every target
// it holds for a drain is met. An outbound fence is then released, and so is
// a delivery fence. A
// processing fence runs its quiescence check again: it is released if quiet,
// and otherwise waits for the links that lag (the watcher calls onDrained
// again once they caught up).
func (c *Coordinator[T]) onDrained(d *drain[T]) []watcher.Target {
	if d.r == nil {
		if !d.closed {
			d.closed = true
			close(d.out)
		}
		return nil
	}
	r := d.r
	g := r.g
	g.mu.Lock()
	defer g.unlock()
	if r.phase != draining || r.drain != d {
		return nil
	}
	if r.mode == fence.ProcessingFence && !r.checkQuiet() {
		c.drainBuf = appendWatch(c.drainBuf[:0], r.targets) // only this goroutine uses it
		return c.drainBuf
	}
	r.targets = r.targets[:0]
	r.drain = nil
	r.finish()
	return nil
}

// fail completes r with cause for every waiter. Callers hold mu.
func (g *Group[T]) fail(r *round[T], cause error) {
	g.dropDrain(r)
	r.failure = &failure{cause: cause, missing: r.notArrived()}
	r.finish()
	g.c.cfg.logger.Warn("round failed", "group", g.name, "barrier", r.barrier.name, "round", r.num, "cause", cause)
}

// departRound settles r after m failed with cause: the round fails, or with
// CompleteForSurvivors goes on without m (and without m's links and
// targets). Callers hold mu.
func (g *Group[T]) departRound(r *round[T], m *member.Member[T], cause error) {
	i, ok := r.view.find(m)
	if !ok || r.is(i, goneFlag|leftFlag) || r.phase == finished {
		return
	}
	r.departed = append(r.departed, fence.Departure{Member: m.ID(), Cause: cause})
	r.state[i] |= goneFlag // not missing: departed
	if !g.cfg.survivors {
		g.fail(r, cause)
		return
	}
	if !r.is(i, arrivedFlag) {
		r.nIn++
	}
	switch {
	case r.phase == draining && r.mode == fence.ProcessingFence:
		g.settleQuiet(r) // without the departed member's links
	case r.phase == draining:
		g.handOver(r) // without the departed member's targets
	case r.allIn():
		g.startDrain(r)
	}
}

// leaveRound settles r after m left the group gracefully. A round m had not
// arrived at counts it as in and lists it as left; what m sent before
// leaving stays fenced, as for an arrival: a delivery fence records m's
// drain targets, a processing fence keeps watching m's links (unlike a
// failure, leftFlag does not exclude them). A round m had arrived at is
// unchanged. Callers hold mu.
func (g *Group[T]) leaveRound(r *round[T], m *member.Member[T]) {
	i, ok := r.view.find(m)
	if !ok || r.phase != arriving || r.is(i, arrivedFlag|goneFlag|leftFlag) {
		return
	}
	r.state[i] |= leftFlag
	r.left = append(r.left, m.ID())
	g.countIn(r, m)
}

// close fails every open round with fence.ErrClosed and refuses later calls.
func (g *Group[T]) close() {
	g.mu.Lock()
	defer g.unlock()
	g.closed = true
	for len(g.open) > 0 {
		g.fail(g.open[0], fence.ErrClosed)
	}
}

// unmet filters targets in place, keeping those not yet reached that do not
// involve a member that departed from the round: its targets are cleared.
func (r *round[T]) unmet(targets []member.Target) []member.Target {
	keep := targets[:0]
	for _, t := range targets {
		if _, lags := t.Lag(); lags && !r.involvesDeparted(t.Target) {
			keep = append(keep, t)
		}
	}
	clear(targets[len(keep):])
	return keep
}

// involvesDeparted reports whether t's sender or recipient departed from r.
func (r *round[T]) involvesDeparted(t fence.Target) bool {
	for _, d := range r.departed {
		if d.Member == t.Sender || d.Member == t.Recipient {
			return true
		}
	}
	return false
}

// appendWatch appends ts to dst as the watcher waits for them.
func appendWatch(dst []watcher.Target, ts []member.Target) []watcher.Target {
	for _, t := range ts {
		dst = append(dst, t.Watch())
	}
	return dst
}
