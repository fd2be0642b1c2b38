package processgroup

import (
	"context"
	"fmt"
	"runtime"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Arrival is a member's irrevocable arrival at one round, returned by Arrive.
// Wait for its release with Wait.
type Arrival[T any] struct {
	r   *round[T]
	m   *managedprocess.Member[T]
	idx int
}

// Round returns the round's number: 1, 2, 3, … per (group, barrier name).
func (a *Arrival[T]) Round() uint64 { return a.r.num }

// Barrier is Arrive followed by Wait: m arrives at the next round of the
// barrier called name and blocks until that round is released. It returns the
// round's Result, or a *fence.Error that wraps the cause:
//
//   - the caller's context ended: the context's error, with who had not
//     arrived and which streams lagged behind which targets. The arrival
//     still counts; the others' round still completes.
//   - a member departed while the round was open: its departure cause
//     (fence.ErrLeft, fence.ErrExited, fence.ErrCrashed), unless the group
//     completes rounds for survivors.
//   - fence.ErrClosed: the coordinator closed.
//   - refused before arriving, leaving everything unchanged:
//     fence.ErrInvalidName, fence.ErrInvalidMode, fence.ErrNotMember,
//     fence.ErrBusy (m already has an arrival in an open round of this name),
//     fence.ErrModeMismatch (the round's first arrival chose another mode),
//     fence.ErrInHandler (ctx is a handler's context: waiting there could
//     only deadlock the reader).
func (g *Group[T]) Barrier(ctx context.Context, m *managedprocess.Member[T], name string, mode fence.Mode) (fence.Result, error) {
	r, _, err := g.arrive(ctx, "barrier", m, name, mode, false)
	if err != nil {
		return fence.Result{}, err
	}
	res, err := g.await(ctx, "barrier", r, m)
	g.returned(r)
	return res, err
}

// Arrive records m's arrival at the next round of the barrier called name
// and returns at once; the arrival is irrevocable. Errors are those Barrier
// refuses with before arriving.
func (g *Group[T]) Arrive(ctx context.Context, m *managedprocess.Member[T], name string, mode fence.Mode) (*Arrival[T], error) {
	r, i, err := g.arrive(ctx, "arrive", m, name, mode, true)
	if err != nil {
		return nil, err
	}
	return &Arrival[T]{r: r, m: m, idx: i}, nil
}

// Wait blocks until the arrival's round is released and returns what
// Barrier would. Once the round finished, Wait returns its outcome again at
// once. A second Wait on the same arrival while one is in progress returns an
// error wrapping fence.ErrBusy.
func (a *Arrival[T]) Wait(ctx context.Context) (fence.Result, error) {
	g := a.r.g
	if err := g.beginCall(ctx, a); err != nil {
		return fence.Result{}, err
	}
	defer g.endCall(a.r, a.idx)
	return g.await(ctx, "wait", a.r, a.m)
}

// waitSpins is how many times a waiter yields, polling its round, before it
// parks: the last members usually arrive within a scheduler round or two,
// and a yield is much cheaper than parking and being woken. Small rounds
// yield once more: their last member is likelier to be running already.
const (
	waitSpins      = 1
	smallRound     = 4
	smallRoundSpin = 2
)

// await blocks until r finishes or ctx ends.
func (g *Group[T]) await(ctx context.Context, op string, r *round[T], m *managedprocess.Member[T]) (fence.Result, error) {
	spins := waitSpins
	if len(r.state) <= smallRound {
		spins = smallRoundSpin
	}
	for range spins {
		if r.finished.Load() {
			return r.outcome(op, m.ID())
		}
		runtime.Gosched()
	}
	g.mu.Lock()
	done := r.parkChan()
	g.unlock()
	if done == nil {
		return r.outcome(op, m.ID())
	}
	select {
	case <-done:
		return r.outcome(op, m.ID())
	case <-ctx.Done():
	}
	if r.finished.Load() { // released at the same time: the release wins
		return r.outcome(op, m.ID())
	}
	return fence.Result{}, g.diagnose(op, r, m, fence.ContextError(ctx))
}

// diagnose builds the error for a waiter whose context ended.
func (g *Group[T]) diagnose(op string, r *round[T], m *managedprocess.Member[T], cause error) error {
	g.mu.Lock()
	defer g.unlock()
	return &fence.Error{
		Op: op, Group: g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Member: m.ID(),
		Missing: r.notArrived(), Departed: append([]fence.Departure(nil), r.departed...),
		Lagging: r.lagging(), Err: cause,
	}
}

// arrive validates the call and records the arrival under the lock. pin
// keeps the round from being recycled: an Arrival handle refers to it.
func (g *Group[T]) arrive(ctx context.Context, op string, m *managedprocess.Member[T], name string, mode fence.Mode, pin bool) (*round[T], int, error) {
	refuse := func(round uint64, err error) (*round[T], int, error) {
		return nil, 0, &fence.Error{Op: op, Group: g.name, Barrier: name, Round: round, Mode: mode, Member: idOf(m), Err: err}
	}
	switch {
	case managedprocess.InHandler(ctx):
		return refuse(0, fence.ErrInHandler)
	case !mode.Valid():
		return refuse(0, fence.ErrInvalidMode)
	}
	if err := checkName("barrier", name); err != nil {
		return refuse(0, err)
	}
	g.mu.Lock()
	defer g.unlock()
	if g.closed {
		return refuse(0, fence.ErrClosed)
	}
	idx, ok := g.view.find(m)
	if !ok || m == nil {
		return refuse(0, fence.ErrNotMember)
	}
	b := g.barrier(name)
	r, i, busy := b.pick(m, g.view, idx)
	if busy != nil {
		return refuse(busy.num, fence.ErrBusy)
	}
	if r == nil {
		r, i = newRound(g, b, mode), idx
	}
	if r.mode != mode {
		return refuse(r.num, fmt.Errorf("%w: round is %s, called with %s", fence.ErrModeMismatch, r.mode, mode))
	}
	r.state[i] |= arrivedFlag
	r.nIn++
	r.pinned = r.pinned || pin
	if mode == fence.DeliveryFence {
		r.targets = m.PendingTargets(r.targets)
	}
	if r.allIn() {
		g.startDrain(r)
	}
	return r, i, nil
}

// barrier returns the state of the barrier called name. Callers hold mu.
func (g *Group[T]) barrier(name string) *barrier[T] {
	if b := g.lastBarrier; b != nil && b.name == name {
		return b // most calls repeat the previous name
	}
	b := g.barriers[name]
	if b == nil {
		b = &barrier[T]{name: name}
		g.barriers[name] = b
	}
	g.lastBarrier = b
	return b
}

// pick finds m's next round: the oldest open round whose snapshot holds m
// and that m has not arrived at or departed from. busy is an open round m
// already arrived at: a member has at most one open arrival per name. idx
// is m's index in the current view cur.
func (b *barrier[T]) pick(m *managedprocess.Member[T], cur *view[T], idx int) (r *round[T], i int, busy *round[T]) {
	for _, o := range b.open {
		j, ok := idx, true
		if o.view != cur {
			j, ok = o.view.find(m)
		}
		switch {
		case !ok || o.is(j, goneFlag):
		case o.is(j, arrivedFlag):
			return nil, 0, o
		case r == nil:
			r, i = o, j
		}
	}
	return r, i, nil
}

// beginCall raises a's call flag, refusing a second concurrent Wait.
func (g *Group[T]) beginCall(ctx context.Context, a *Arrival[T]) error {
	refuse := func(err error) error {
		r := a.r
		return &fence.Error{Op: "wait", Group: g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Member: a.m.ID(), Err: err}
	}
	if managedprocess.InHandler(ctx) {
		return refuse(fence.ErrInHandler)
	}
	g.mu.Lock()
	defer g.unlock()
	if a.r.is(a.idx, waitingFlag) {
		return refuse(fence.ErrBusy)
	}
	a.r.state[a.idx] |= waitingFlag
	return nil
}

// endCall lowers the call flag.
func (g *Group[T]) endCall(r *round[T], i int) {
	g.mu.Lock()
	r.state[i] &^= waitingFlag
	g.unlock()
}
