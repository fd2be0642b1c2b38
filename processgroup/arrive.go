package processgroup

import (
	"context"
	"fmt"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
)

// arrival is where an arrive call landed: m's slot idx in round r, whether
// the call attached to an arrival that stood from an earlier call whose
// context ended, and how often its waiter yields before parking (read under
// the lock: a join may grow the round).
type arrival[T any] struct {
	r        *round[T]
	idx      int
	attached bool
	spins    int
}

// standing identifies an arrival whose Barrier call gave up waiting: the
// member's next call for the barrier attaches to it.
type standing[T any] struct {
	m *member.Member[T]
	b *barrier[T]
}

// arrive validates the call and records the arrival under the lock, or
// attaches to m's arrival that stands from an earlier call. pin keeps the
// round from being recycled: an Arrival handle refers to it.
func (g *Group[T]) arrive(ctx context.Context, op string, m *member.Member[T], name string, mode fence.Mode, pin bool) (arrival[T], error) {
	err := checkCall(ctx, m, mode)
	if err == nil {
		err = checkName("barrier", name)
	}
	if err != nil {
		return arrival[T]{}, g.refused(op, m, name, mode, 0, err)
	}
	g.mu.Lock()
	a, round, err := g.arriveLocked(m, name, mode, pin)
	g.unlock()
	if err != nil {
		return arrival[T]{}, g.refused(op, m, name, mode, round, err)
	}
	return a, nil
}

// arriveLocked is arrive's work under the lock. A refusal names the round
// it concerns, if any. Callers hold mu.
func (g *Group[T]) arriveLocked(m *member.Member[T], name string, mode fence.Mode, pin bool) (arrival[T], uint64, error) {
	if g.closed {
		return arrival[T]{}, 0, fence.ErrClosed
	}
	idx, ok := g.view.find(m)
	if !ok {
		return arrival[T]{}, 0, fence.ErrNotMember
	}
	b := g.barrier(name)
	if b.standing > 0 {
		if r := g.abandoned[standing[T]{m, b}]; r != nil {
			a, err := g.attach(r, m, mode, pin)
			a.spins = r.spins()
			return a, r.num, err
		}
	}
	r, i, busy := b.pick(m, g.view, idx)
	if busy != nil {
		return arrival[T]{}, busy.num, fence.ErrBusy
	}
	if r == nil {
		r, i = newRound(g, b, mode), idx
	}
	if r.mode != mode {
		return arrival[T]{}, r.num, modeMismatch(r.mode, mode)
	}
	g.record(r, i, m, pin)
	return arrival[T]{r: r, idx: i, spins: r.spins()}, r.num, nil
}

// refused is the error of an arrive call that was refused with err.
func (g *Group[T]) refused(op string, m *member.Member[T], name string, mode fence.Mode, round uint64, err error) error {
	return &fence.Error{Op: op, Group: g.name, Barrier: name, Round: round, Mode: mode, Member: idOf(m), Err: err}
}

// checkCall refuses, before any lock, what no round could accept.
func checkCall[T any](ctx context.Context, m *member.Member[T], mode fence.Mode) error {
	switch {
	case ctx == nil:
		return fmt.Errorf("nil context: %w", fence.ErrInvalidArgument)
	case m == nil:
		return fence.ErrNotMember
	case !m.IsRunContext(ctx) && member.InHandler(ctx):
		return fence.ErrInHandler
	case !mode.Valid():
		return fence.ErrInvalidMode
	}
	if err := m.Err(); err != nil {
		return fmt.Errorf("%s departed: %w", m.ID(), err)
	}
	return nil
}

func modeMismatch(round, called fence.Mode) error {
	return fmt.Errorf("%w: round is %s, called with %s", fence.ErrModeMismatch, round, called)
}

// record counts m's arrival at r, slot i, and starts the drain when it was
// the last one. Callers hold mu.
func (g *Group[T]) record(r *round[T], i int, m *member.Member[T], pin bool) {
	r.state[i] |= arrivedFlag
	if pin {
		r.pinned.Store(true)
	}
	g.countIn(r, m)
}

// countIn counts m, which arrived at r or left it gracefully, as in: for a
// delivery fence it records m's drain targets (a processing fence watches
// m's links anyway), and it starts the drain when m was the last one.
// Callers hold mu.
func (g *Group[T]) countIn(r *round[T], m *member.Member[T]) {
	r.nIn++
	if r.mode == fence.DeliveryFence {
		r.targets = m.PendingTargets(r.targets)
	}
	if r.allIn() {
		g.startDrain(r)
	}
}

// attach makes a call of m join its arrival at r that stood since an earlier
// Barrier call gave up: a Barrier call waits on it (raising its call flag),
// an Arrive call returns a handle that owns it. Callers hold mu.
func (g *Group[T]) attach(r *round[T], m *member.Member[T], mode fence.Mode, pin bool) (arrival[T], error) {
	i, _ := r.view.find(m)
	switch {
	case r.is(i, waitingFlag):
		return arrival[T]{}, fence.ErrBusy
	case r.mode != mode:
		return arrival[T]{}, modeMismatch(r.mode, mode)
	}
	delete(g.abandoned, standing[T]{m, r.barrier})
	r.barrier.standing--
	if !pin {
		r.state[i] |= waitingFlag
	}
	return arrival[T]{r: r, idx: i, attached: true}, nil
}

// giveUp records that m's Barrier call stopped waiting on a: the arrival
// stands for m's next call of that barrier, and its round is never recycled.
func (g *Group[T]) giveUp(m *member.Member[T], a arrival[T]) {
	g.mu.Lock()
	defer g.unlock()
	a.r.state[a.idx] &^= waitingFlag
	a.r.pinned.Store(true)
	if g.abandoned == nil {
		g.abandoned = make(map[standing[T]]*round[T])
	}
	key := standing[T]{m, a.r.barrier}
	if g.abandoned[key] == nil {
		a.r.barrier.standing++
	}
	g.abandoned[key] = a.r
}

// forgetStanding drops m's standing arrivals: it left the group. Callers
// hold mu.
func (g *Group[T]) forgetStanding(m *member.Member[T]) {
	for k := range g.abandoned {
		if k.m == m {
			delete(g.abandoned, k)
			k.b.standing--
		}
	}
}

// barrier returns the state of the barrier called name. Callers hold mu.
func (g *Group[T]) barrier(name string) *barrier[T] {
	if b := g.lastBarrier; b != nil && b.name == name {
		return b // most calls repeat the previous name
	}
	b := g.barriers[name]
	if b == nil {
		b = g.newBarrier(name)
	}
	g.lastBarrier = b
	return b
}

// pick finds m's next round: the oldest open round whose view holds m
// and that m has not arrived at, departed from or left. busy is an open round m
// already arrived at: a member has at most one open arrival per name. idx
// is m's index in the current view cur.
func (b *barrier[T]) pick(m *member.Member[T], cur *view[T], idx int) (r *round[T], i int, busy *round[T]) {
	for _, o := range b.open {
		j, ok := idx, true
		if o.view != cur {
			j, ok = o.view.find(m)
		}
		switch {
		case !ok || o.is(j, goneFlag|leftFlag):
		case o.is(j, arrivedFlag):
			return nil, 0, o
		case r == nil:
			r, i = o, j
		}
	}
	return r, i, nil
}

// beginCall raises a's call flag, refusing a second concurrent Wait, and
// returns how often the waiter yields before parking.
func (g *Group[T]) beginCall(ctx context.Context, a *arrivalHandle[T]) (int, error) {
	refuse := func(err error) error {
		r := a.r
		return &fence.Error{Op: "wait", Group: g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Member: a.m.ID(), Err: err}
	}
	if err := checkCall(ctx, a.m, a.r.mode); err != nil {
		return 0, refuse(err)
	}
	g.mu.Lock()
	defer g.unlock()
	if a.r.is(a.idx, waitingFlag) {
		return 0, refuse(fence.ErrBusy)
	}
	a.r.state[a.idx] |= waitingFlag
	return a.r.spins(), nil
}

// endCall lowers the call flag.
func (g *Group[T]) endCall(r *round[T], i int) {
	g.mu.Lock()
	r.state[i] &^= waitingFlag
	g.unlock()
}
