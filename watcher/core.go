package watcher

// Counter is the progress of one stream at one recipient, as the watcher
// sees it: Delivered only grows; Arm asks whoever publishes progress to
// report (with Watcher.Notify) the first Delivered at or above the
// threshold; Disarm withdraws it. Only the watcher arms and disarms a
// counter it watches. Implementations are pointers, compared by identity.
//
// The publisher must store its progress before it reads the threshold, and
// Arm must store the threshold before the watcher reads Delivered: then at
// least one side sees the other's store, and a crossing is never lost.
type Counter interface {
	Delivered() uint64
	Arm(threshold uint64)
	Disarm()
}

// Target says that Counter must reach Seq: the target is met once
// Counter.Delivered() >= Seq. A target with Seq 0 or a nil Counter is always
// met.
type Target struct {
	Counter Counter
	Seq     uint64
}

// Core is the watcher's state machine: the pending rounds, their unmet
// targets and the thresholds armed on their counters. It starts no goroutines
// and never blocks. It is not safe for concurrent use: one owner calls it (the
// Watcher's goroutine, or a test driving it step by step). The zero value is
// ready to use.
//
// Core is the only caller of Arm and Disarm on its counters. Whenever a
// method returns, every counter with pending targets is armed at its minimum
// pending Seq and was read below it after arming (or its threshold was claimed
// by a reader, who then owes a Notify); every other counter Core used is
// disarmed.
//
// Add and Drop re-read the counters they touch, so they can also satisfy the
// last targets of other rounds sharing those counters (a reader whose crossing
// raced with the re-arm sends no notification). Such rounds are queued and
// reported by the next call of Progress; Progress(nil, dst) reports only them.
type Core[R comparable] struct {
	counters map[Counter]*counterState[R]
	rounds   map[R]*roundState
	drained  []R // rounds drained by Add or Drop, not yet reported
	touched  []*counterState[R]
	met      []R                // scratch for settle
	free     []*counterState[R] // idle counter states kept for reuse
	idle     []*roundState      // idle round states kept for reuse
	epoch    uint64             // marks counters touched by the current Add

	// afterArm, when set by a test, runs between an Arm and the read that
	// follows it, to drive a reader's Publish into that window.
	afterArm func(Counter)
}

// entry is one pending target of a round on a counter.
type entry[R comparable] struct {
	seq   uint64
	round R
}

// counterState holds the pending targets on one counter.
type counterState[R comparable] struct {
	ctr     Counter
	pending []entry[R]
	min     uint64 // minimum pending seq; valid when pending is not empty
	stamp   uint64 // Core.epoch of the last Add that touched it
}

// roundState holds what Core knows of one pending round.
type roundState struct {
	unmet    int       // pending entries of the round, over all counters
	counters []Counter // counters it has entries on (may repeat)
}

// NewCore returns an empty Core.
func NewCore[R comparable]() *Core[R] { return &Core[R]{} }

// Add registers round r's targets. For every counter it arms the threshold to
// the minimum pending Seq of that counter over all rounds, then reads
// Delivered, satisfying what is already met. Targets already met, with Seq 0
// or a nil Counter are not retained. It reports whether r is fully drained
// now; a drained round is forgotten. Add for a round that is still pending adds
// targets to it. Add does not retain targets.
func (c *Core[R]) Add(r R, targets []Target) (drained bool) {
	if c.rounds == nil {
		c.rounds = make(map[R]*roundState)
		c.counters = make(map[Counter]*counterState[R])
	}
	c.epoch++
	mark := len(c.drained)
	rs := c.rounds[r]
	for _, t := range targets {
		if t.Counter == nil || t.Counter.Delivered() >= t.Seq {
			continue // already met, and counters only grow
		}
		if rs == nil {
			rs = c.newRoundState()
			c.rounds[r] = rs
		}
		cs := c.counter(t.Counter)
		cs.push(entry[R]{seq: t.Seq, round: r})
		rs.unmet++
		if cs.stamp != c.epoch {
			cs.stamp = c.epoch
			c.touched = append(c.touched, cs)
			rs.counters = append(rs.counters, t.Counter)
		}
	}
	for i, cs := range c.touched {
		c.settle(cs)
		c.touched[i] = nil
	}
	c.touched = c.touched[:0]
	if _, pending := c.rounds[r]; pending {
		return false
	}
	c.drained = removeFrom(c.drained, mark, r) // reported here, not queued
	return true
}

// Progress re-reads ctr, typically after a reader's Publish returned true; it
// is idempotent and may be called at any time. It satisfies the pending
// targets with Seq <= Delivered, re-arms ctr at the next minimum pending Seq
// (re-reading until stable) or disarms it when nothing is pending on it, and
// appends to dst every round whose last target was satisfied, by this call or
// by an earlier Add or Drop. Each drained round is reported once and
// forgotten. For a counter with nothing pending (or nil) it only reports the
// rounds queued by Add and Drop; it never disarms a counter it does not know.
func (c *Core[R]) Progress(ctr Counter, dst []R) []R {
	if cs := c.counters[ctr]; cs != nil {
		c.settle(cs)
	}
	dst = append(dst, c.drained...)
	clear(c.drained)
	c.drained = c.drained[:0]
	return dst
}

// Drop forgets round r and its targets (it completed elsewhere: failure or
// close), re-arming or disarming the counters it used. A round queued as
// drained but not yet reported is forgotten too. Unknown r is a no-op.
func (c *Core[R]) Drop(r R) {
	c.drained = removeFrom(c.drained, 0, r)
	rs := c.rounds[r]
	if rs == nil {
		return
	}
	delete(c.rounds, r)
	for _, ctr := range rs.counters {
		cs := c.counters[ctr]
		if cs == nil || !cs.remove(r) {
			continue // already settled, or listed twice
		}
		c.settle(cs)
	}
	c.releaseRoundState(rs)
}

// Pending reports how many rounds have unmet targets.
func (c *Core[R]) Pending() int { return len(c.rounds) }

// Waiting lists r's unmet targets, for diagnosis. It returns nil for a round
// that is not pending.
func (c *Core[R]) Waiting(r R) []Target {
	rs := c.rounds[r]
	if rs == nil {
		return nil
	}
	var out []Target
	seen := make(map[Counter]bool, len(rs.counters))
	for _, ctr := range rs.counters {
		cs := c.counters[ctr]
		if seen[ctr] || cs == nil {
			continue
		}
		seen[ctr] = true
		for _, e := range cs.pending {
			if e.round == r {
				out = append(out, Target{Counter: ctr, Seq: e.seq})
			}
		}
	}
	return out
}

// reset forgets every round and disarms every counter Core armed.
func (c *Core[R]) reset() {
	for ctr, cs := range c.counters {
		ctr.Disarm()
		cs.truncate(cs.pending[:0])
	}
	clear(c.counters)
	c.free = nil
	c.idle = nil
	clear(c.rounds)
	clear(c.drained)
	c.drained = c.drained[:0]
}

// counter returns the state of ctr, creating it.
func (c *Core[R]) counter(ctr Counter) *counterState[R] {
	cs := c.counters[ctr]
	if cs == nil {
		if n := len(c.free); n > 0 {
			cs, c.free = c.free[n-1], c.free[:n-1]
			cs.ctr = ctr
		} else {
			cs = &counterState[R]{ctr: ctr}
		}
		c.counters[ctr] = cs
	}
	return cs
}

// release forgets the state of a counter with nothing pending, keeping up
// to maxFree of them for reuse.
func (c *Core[R]) release(cs *counterState[R]) {
	delete(c.counters, cs.ctr)
	cs.ctr, cs.stamp = nil, 0
	if len(c.free) < maxFree {
		c.free = append(c.free, cs)
	}
}

// maxFree bounds the idle counter states a Core keeps.
const maxFree = 1024

// settle brings cs to the invariant: arm the minimum pending seq, then read
// Delivered; satisfy what the read meets and repeat until the read is below
// the armed threshold or nothing is pending (then disarm and forget cs).
func (c *Core[R]) settle(cs *counterState[R]) {
	d := cs.ctr.Delivered()
	for {
		if len(cs.pending) > 0 && cs.min <= d {
			c.met = cs.satisfy(d, c.met)
			for i, r := range c.met {
				c.satisfied(r)
				var zero R
				c.met[i] = zero
			}
			c.met = c.met[:0]
		}
		if len(cs.pending) == 0 {
			cs.ctr.Disarm()
			c.release(cs)
			return
		}
		cs.ctr.Arm(cs.min)
		if c.afterArm != nil {
			c.afterArm(cs.ctr)
		}
		if d = cs.ctr.Delivered(); d < cs.min {
			return
		}
	}
}

// satisfied counts one met target of round r and queues r when it was the
// last one.
func (c *Core[R]) satisfied(r R) {
	rs := c.rounds[r]
	if rs == nil {
		return
	}
	if rs.unmet--; rs.unmet == 0 {
		delete(c.rounds, r)
		c.releaseRoundState(rs)
		c.drained = append(c.drained, r)
	}
}

// newRoundState returns an empty round state, reusing an idle one: a round
// a fence registers every time should not cost an allocation each.
func (c *Core[R]) newRoundState() *roundState {
	if n := len(c.idle); n > 0 {
		rs := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		return rs
	}
	return &roundState{}
}

// releaseRoundState keeps the state of a forgotten round for reuse.
func (c *Core[R]) releaseRoundState(rs *roundState) {
	clear(rs.counters)
	*rs = roundState{counters: rs.counters[:0]}
	c.idle = append(c.idle, rs)
}

// removeFrom deletes the first r at or after index from in s, keeping order.
func removeFrom[R comparable](s []R, from int, r R) []R {
	for i := from; i < len(s); i++ {
		if s[i] == r {
			var zero R
			copy(s[i:], s[i+1:])
			s[len(s)-1] = zero
			return s[:len(s)-1]
		}
	}
	return s
}
