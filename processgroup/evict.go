package processgroup

import "maps"

// Eviction of idle barriers: a group keeps the state of a barrier name only
// while it may matter. An entry with no open round, no standing arrival (a
// Barrier call that gave up waiting, whose member's next call must find it)
// and that is not the group's last barrier holds nothing but its round counter (and a spare round
// for reuse), so it is deleted in an amortized sweep; the group remembers the
// largest counter it deleted, and a name created (again) afterwards numbers
// its rounds from there, so each name's numbers keep increasing. A round
// still referred to (a waiter, an Arrival) keeps its own barrier, which is
// then no longer in the map: its spare round, if any, goes with it.

// barrierSweepFloor is the number of barrier entries below which a group
// never sweeps.
const barrierSweepFloor = 64

// barrierSweep is a group's eviction state. Guarded by the group's mu.
type barrierSweep struct {
	kept       int    // len(g.barriers) after the previous sweep
	evictedMax uint64 // the largest latest of any evicted barrier
}

// newBarrier creates and records the state of the barrier called name,
// sweeping idle barriers first when the group has twice the entries the
// previous sweep left (at least barrierSweepFloor). Its first round is
// numbered after every round of every evicted barrier: 1 if none was
// evicted. Callers hold mu.
func (g *Group[T]) newBarrier(name string) *barrier[T] {
	if len(g.barriers) >= max(2*g.idle.kept, barrierSweepFloor) {
		g.evictIdle()
	}
	b := &barrier[T]{name: name, latest: g.idle.evictedMax}
	g.barriers[name] = b
	return b
}

// evictIdle deletes every barrier without an open round or a standing
// arrival, except the last
// barrier (barrier's lookup returns it without the map), raising evictedMax
// to the largest round number deleted. Callers hold mu.
func (g *Group[T]) evictIdle() {
	before := len(g.barriers)
	for name, b := range g.barriers {
		if len(b.open) == 0 && b.standing == 0 && b != g.lastBarrier {
			g.idle.evictedMax = max(g.idle.evictedMax, b.latest)
			delete(g.barriers, name)
		}
	}
	g.idle.kept = len(g.barriers)
	if before > 4*max(g.idle.kept, barrierSweepFloor) {
		g.shrinkBarriers()
	}
}

// shrinkBarriers copies the barrier entries into a map of their size: a Go
// map keeps the room of its largest size (maps.Clone too). Callers hold mu.
func (g *Group[T]) shrinkBarriers() {
	small := make(map[string]*barrier[T], len(g.barriers))
	maps.Copy(small, g.barriers)
	g.barriers = small
}
