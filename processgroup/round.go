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
	finished              // released or failed
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
	// spare is a finished round nobody refers to any more, for reuse: the
	// last member to return from it stores it, without the lock.
	spare atomic.Pointer[round[T]]
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
	own      drain[T]          // the first hand-over's drain (see newDrain)
	ownUsed  bool

	finished atomic.Bool
	// wakers are the channels (of capacity 1) of the waiters parked on the
	// round, kept for the round's next use.
	wakers  []chan struct{}
	failure *failure // nil when the round was released

	// Recycling: once every member returned from Barrier, nothing refers
	// to the round any more and the next round of its barrier reuses it.
	unreturned atomic.Int32 // members of view that have not returned from Barrier
	pinned     atomic.Bool  // an Arrival handle, a standing arrival or the watcher (see dropDrain) refers to it: never recycled

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
	var state []memberState
	r := b.spare.Swap(nil)
	if r != nil {
		if cap(r.state) >= n && cap(r.state) > inlineMembers {
			state = r.state[:n] // its own, not inline: that is zeroed below
		}
		r.reset()
	} else {
		r = new(round[T])
	}
	r.g, r.barrier, r.num, r.mode, r.view = g, b, b.latest, mode, g.view
	g.view.shared = true
	r.unreturned.Store(int32(n))
	switch {
	case state != nil:
		clear(state)
		r.state = state
	case n <= inlineMembers:
		r.state = r.inline[:n] // a join appends into inline while it has room
	default:
		r.state = make([]memberState, n)
	}
	b.open = append(b.open, r)
	g.open = append(g.open, r)
	return r
}

// reset returns r, a spare round, to the zero round, but for the buffers of
// targets, scratch and wakers, which it empties and keeps. It assigns each
// field: assigning a whole zero round took a sixth of a one-member round.
// Every field must be reset here (TestResetRoundIsZero checks that).
func (r *round[T]) reset() {
	clear(r.targets)
	clear(r.wakers)
	r.targets, r.scratch, r.wakers = r.targets[:0], r.scratch[:0], r.wakers[:0]
	r.g, r.barrier, r.num, r.mode, r.phase, r.view = nil, nil, 0, 0, arriving, nil
	r.state, r.nIn, r.departed, r.left = nil, 0, nil, nil
	r.drain, r.own, r.ownUsed, r.failure = nil, drain[T]{}, false, nil
	r.finished.Store(false)
	// A spare round is neither pinned nor unreturned (see returned): an
	// atomic load costs less than an atomic store.
	if r.unreturned.Load() != 0 {
		r.unreturned.Store(0)
	}
	if r.pinned.Load() {
		r.pinned.Store(false)
	}
	r.inline = [inlineMembers]memberState{}
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
	switch n := len(r.state); {
	case n <= smallRound:
		return smallRoundSpin
	case n > largeRound:
		return largeRoundSpin
	}
	return waitSpins
}

// is reports whether member i of the round's view has flag f.
func (r *round[T]) is(i int, f memberState) bool { return r.state[i]&f != 0 }

// returned records that a member returned from Barrier in r. The last one
// hands r back for reuse unless something pins it, without the lock: every
// member returns only after r finished, and a pin is set before its holder's
// arrival counts (an Arrive) or before it stops counting (a Barrier that gave
// up never returns), so once the count reaches zero nothing refers to r.
func (g *Group[T]) returned(r *round[T]) {
	if r.unreturned.Add(-1) == 0 && !r.pinned.Load() {
		r.barrier.spare.CompareAndSwap(nil, r)
	}
}

// park registers wake, a waiter's channel of capacity 1, to be woken when r
// finishes, and reports false if r already finished. Callers hold the
// group's mu.
func (r *round[T]) park(wake chan struct{}) bool {
	if r.phase == finished {
		return false
	}
	r.wakers = append(r.wakers, wake)
	return true
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

// without removes r from the open rounds rs, keeping their order. Most
// lists hold one or two rounds and r is the oldest.
func without[T any](rs []*round[T], r *round[T]) []*round[T] {
	for i, o := range rs {
		if o == r {
			last := len(rs) - 1
			copy(rs[i:], rs[i+1:])
			rs[last] = nil
			return rs[:last]
		}
	}
	return rs
}

// outcome is what caller, waiting on r, gets once it finished.
func (r *round[T]) outcome(op string, caller *member.Member[T]) (fence.Result, error) {
	if f := r.failure; f != nil {
		return fence.Result{}, &fence.Error{
			Op: op, Group: r.g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode,
			Member: caller.ID(), Missing: f.missing, Departed: r.departed, Err: f.cause,
		}
	}
	return fence.NewResult(r.num, r.departed, r.left), nil
}

// finish ends r, released (failure nil) or failed, and wakes its waiters
// once the group's mu is released. Callers hold the group's mu.
func (r *round[T]) finish() {
	r.phase = finished
	r.barrier.open = without(r.barrier.open, r)
	r.g.open = without(r.g.open, r)
	r.finished.Store(true)
	if len(r.wakers) > 0 {
		r.unreturned.Add(1) // the unlock that wakes them returns last (see wakeParked)
		r.g.wakeAfterUnlock(r)
	}
}
