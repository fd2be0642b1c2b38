package processgroup

import (
	"slices"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
)

// phase is where a round is in its life.
type phase uint8

const (
	arriving phase = iota // waiting for members to arrive
	draining              // everyone arrived; the watcher drains its targets
	finished              // released or failed; done is closed
)

func (p phase) String() string {
	return [...]string{"arriving", "draining", "finished"}[p]
}

// barrier is the state of one barrier name in a group: its round counter and
// its open rounds, oldest first. Guarded by the group's mu. The group frees
// it once it has no open round (see evict.go).
type barrier[T any] struct {
	name   string
	latest uint64
	open   []*round[T]
	// standing counts the group's standing arrivals at this barrier: while
	// there is one, the barrier is not evicted.
	standing int
	spare    *round[T] // a finished round nobody refers to, for reuse
}

// round is one use of a barrier name. Its fields are guarded by the group's
// mu, except failure, which is written before finished is set and read only
// after a waiter saw it set.
type round[T any] struct {
	g       *Group[T]
	barrier *barrier[T]
	num     uint64
	mode    fence.Mode
	phase   phase
	view    *view[T]      // the round's members: the group's at the first arrival, and those joined while arriving
	state   []memberState // per member of view
	nIn     int           // members arrived, gone or left

	departed []fence.Departure // who failed while the round was open (goneFlag)
	left     []fence.Identity  // who left gracefully before arriving (leftFlag)
	targets  []member.Target   // recorded at arrivals; while draining, what the watcher waits for
	scratch  []member.Target   // a processing fence's first pass (see checkQuiet)
	drain    *drain[T]         // the watcher's current hand-over, while draining

	finished atomic.Bool
	done     chan struct{} // made by the first waiter that parks; closed by finish
	failure  *failure      // nil when the round was released

	// Recycling: once every member returned from Barrier, nothing refers
	// to the round any more and the next round of its barrier reuses it.
	unreturned atomic.Int32 // members of view that have not returned from Barrier
	pinned     bool         // an Arrival handle refers to it: never recycled

	inline [inlineMembers]memberState // backs state in small rounds
}

// memberState holds one member's flags in a round.
type memberState uint8

const (
	arrivedFlag memberState = 1 << iota // arrived
	goneFlag                            // departed by failing (survivor policy): its links are no longer watched
	leftFlag                            // left gracefully before arriving: counts as in, its links stay watched
	waitingFlag                         // a Wait call is in progress
)

// failure is why a round failed and who had not arrived then.
type failure struct {
	cause   error
	missing []fence.Identity
}

// inlineMembers is the round size up to which the per-member state needs no
// allocation of its own.
const inlineMembers = 16

func newRound[T any](g *Group[T], b *barrier[T], mode fence.Mode) *round[T] {
	b.latest++
	n := len(g.view.members)
	r := b.spare
	if r != nil {
		b.spare = nil
		targets, scratch := r.targets[:0], r.scratch[:0]
		*r = round[T]{targets: targets, scratch: scratch}
	} else {
		r = new(round[T])
	}
	r.g, r.barrier, r.num, r.mode, r.view = g, b, b.latest, mode, g.view
	g.view.shared = true
	r.unreturned.Store(int32(n))
	if n <= inlineMembers {
		r.state = r.inline[:n] // a join appends into inline while it has room
	} else {
		r.state = make([]memberState, n)
	}
	b.open = append(b.open, r)
	g.open = append(g.open, r)
	return r
}

// expect makes r, still arriving, wait for m too: m joined the group, whose
// view was old before the join and is cur after it. m takes the next slot.
// r's view may be shared, so it is replaced, never changed: by cur when r
// held old (cur is old plus m), otherwise by a copy with m added. A member
// that left r gracefully and joins again is expected again. Callers hold
// the group's mu.
func (r *round[T]) expect(m *member.Member[T], old, cur *view[T]) {
	if i, ok := r.view.find(m); ok {
		if r.is(i, leftFlag) {
			r.state[i] &^= leftFlag
			r.nIn--
			r.left = slices.DeleteFunc(r.left, func(id fence.Identity) bool { return id == m.ID() })
		}
		return
	}
	if r.view == old {
		r.view = cur
		cur.shared = true
	} else {
		r.view = newView(append(slices.Clone(r.view.members), m))
	}
	r.state = append(r.state, 0) // in inline while it has room, else reallocated
	r.unreturned.Add(1)
}

// spins is how many times a waiter of r yields before it parks. Callers
// hold the group's mu.
func (r *round[T]) spins() int {
	if len(r.state) <= smallRound {
		return smallRoundSpin
	}
	return waitSpins
}

// is reports whether member i of the round's view has flag f.
func (r *round[T]) is(i int, f memberState) bool { return r.state[i]&f != 0 }

// returned records that a member returned from Barrier in r; the last one
// hands a finished, unpinned round back for reuse.
func (g *Group[T]) returned(r *round[T]) {
	if r.unreturned.Add(-1) != 0 {
		return
	}
	g.mu.Lock()
	if r.phase == finished && !r.pinned && r.barrier.spare == nil {
		clear(r.targets)
		r.barrier.spare = r
	}
	g.unlock()
}

// parkChan returns the channel a waiter parks on, or nil if r already
// finished. Callers hold the group's mu.
func (r *round[T]) parkChan() chan struct{} {
	if r.phase == finished {
		return nil
	}
	if r.done == nil {
		r.done = make(chan struct{})
	}
	return r.done
}

// allIn reports whether every member of the round's view arrived, departed
// or left.
func (r *round[T]) allIn() bool { return r.nIn == len(r.view.members) }

// notArrived lists the members that neither arrived, departed nor left.
func (r *round[T]) notArrived() []fence.Identity {
	var ids []fence.Identity
	for i, m := range r.view.members {
		if !r.is(i, arrivedFlag|goneFlag|leftFlag) {
			ids = append(ids, m.ID())
		}
	}
	sortIDs(ids)
	return ids
}

// lagging lists the targets still unmet.
func (r *round[T]) lagging() []fence.Lag {
	var lags []fence.Lag
	for _, t := range r.targets {
		if l, unmet := t.Lag(); unmet {
			lags = append(lags, l)
		}
	}
	return lags
}

// outcome is what a waiter of r gets once it finished.
func (r *round[T]) outcome(op string, caller fence.Identity) (fence.Result, error) {
	if f := r.failure; f != nil {
		return fence.Result{}, &fence.Error{
			Op: op, Group: r.g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode,
			Member: caller, Missing: f.missing, Departed: r.departed, Err: f.cause,
		}
	}
	return fence.Result{
		Group: r.g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode,
		Departed: r.departed, Left: r.left,
	}, nil
}

// finish ends r, released (failure nil) or failed, and wakes its waiters
// once the group's mu is released. Callers hold the group's mu.
func (r *round[T]) finish() {
	r.phase = finished
	if i := slices.Index(r.barrier.open, r); i >= 0 {
		r.barrier.open = slices.Delete(r.barrier.open, i, i+1)
	}
	if i := slices.Index(r.g.open, r); i >= 0 {
		r.g.open = slices.Delete(r.g.open, i, i+1)
	}
	r.finished.Store(true)
	if r.done != nil {
		r.g.wakeAfterUnlock(r.done)
	}
}
