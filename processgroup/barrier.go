package processgroup

import (
	"context"
	"runtime"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
)

// Arrival is a member's irrevocable arrival at one round, returned by Arrive.
// Wait for its release with Wait.
type arrivalHandle[T any] struct {
	r   *round[T]
	m   *member.Member[T]
	idx int
}

// Round returns the round's number, strictly increasing per (group, barrier
// name): 1, 2, 3, … unless the group freed idle names (see Rounds in the
// package documentation).
func (a *arrivalHandle[T]) Round() uint64 { return a.r.num }

// Barrier is Arrive followed by Wait: m arrives at the next round of the
// barrier called name and blocks until that round is released. It returns the
// round's Result, or a *fence.Error that wraps the cause:
//
//   - the caller's context ended: the context's error, with who had not
//     arrived and which streams lagged behind which targets. The arrival
//     still stands and the others' round still completes. m's next Barrier
//     (or Arrive) call for name attaches to that arrival instead of arriving
//     again, and returns its round's outcome, at once if the round already
//     finished: retrying after a timeout never skips a round.
//   - a member the round expected failed while it was open: its cause
//     (fence.ErrExited wrapping its run function's error, fence.ErrCrashed),
//     unless the group completes rounds for survivors. A member that left
//     gracefully fails nothing (see managedprocess.Member.Leave).
//   - fence.ErrClosed: the coordinator closed.
//   - refused before arriving, leaving everything unchanged:
//     fence.ErrInvalidName, fence.ErrInvalidMode, fence.ErrInvalidArgument
//     (a nil ctx), fence.ErrNotMember, m's departure cause (m departed),
//     fence.ErrBusy (a call of m for this name is in progress: m's arrival
//     in an open round of this name has a Barrier or Wait waiting on it, or
//     an Arrival handle that owns it), fence.ErrModeMismatch (the round's
//     first arrival chose another mode), fence.ErrInHandler (ctx is a
//     handler's context: waiting there could only deadlock the reader).
//
// Calls must be made by m itself (its run function or goroutines it owns):
// the coordinator cannot tell who holds a *Member, so an arrival made with
// another member's handle counts as that member's.
func (g *Group[T]) barrierCall(ctx context.Context, m *member.Member[T], name string, mode fence.Mode) (fence.Result, error) {
	a, err := g.arrive(ctx, "barrier", m, name, mode, false)
	if err != nil {
		return fence.Result{}, err
	}
	res, err, gaveUp := g.await(ctx, "barrier", a, m)
	switch {
	case gaveUp:
		g.giveUp(m, a)
	case a.attached:
		g.endCall(a.r, a.idx)
		g.returned(a.r)
	default:
		g.returned(a.r)
	}
	return res, err
}

// Arrive records m's arrival at the next round of the barrier called name
// and returns at once; the arrival is irrevocable. Errors are those Barrier
// refuses with before arriving.
func (g *Group[T]) arriveCall(ctx context.Context, m *member.Member[T], name string, mode fence.Mode) (*arrivalHandle[T], error) {
	a, err := g.arrive(ctx, "arrive", m, name, mode, true)
	if err != nil {
		return nil, err
	}
	return &arrivalHandle[T]{r: a.r, m: m, idx: a.idx}, nil
}

// Wait blocks until the arrival's round is released and returns what
// Barrier would. Once the round finished, Wait returns its outcome again at
// once; after ctx ended, a later Wait on the same arrival may still collect
// it. A second Wait on the same arrival while one is in progress returns an
// error wrapping fence.ErrBusy.
func (a *arrivalHandle[T]) Wait(ctx context.Context) (fence.Result, error) {
	g := a.r.g
	spins, err := g.beginCall(ctx, a)
	if err != nil {
		return fence.Result{}, err
	}
	defer g.endCall(a.r, a.idx)
	res, err, _ := g.await(ctx, "wait", arrival[T]{r: a.r, idx: a.idx, spins: spins}, a.m)
	return res, err
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

// await blocks until a's round finishes or ctx ends; gaveUp reports the
// latter. It yields a.spins times before it parks.
func (g *Group[T]) await(ctx context.Context, op string, a arrival[T], m *member.Member[T]) (res fence.Result, err error, gaveUp bool) {
	r := a.r
	for range a.spins {
		if r.finished.Load() {
			res, err = r.outcome(op, m.ID())
			return res, err, false
		}
		runtime.Gosched()
	}
	g.mu.Lock()
	done := r.parkChan()
	g.unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	if r.finished.Load() { // released at the same time as ctx ended: the release wins
		res, err = r.outcome(op, m.ID())
		return res, err, false
	}
	return fence.Result{}, g.diagnose(op, r, m, fence.ContextError(ctx)), true
}

// diagnose builds the error for a waiter whose context ended.
func (g *Group[T]) diagnose(op string, r *round[T], m *member.Member[T], cause error) error {
	g.mu.Lock()
	defer g.unlock()
	return &fence.Error{
		Op: op, Group: g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Member: m.ID(),
		Missing: r.notArrived(), Departed: append([]fence.Departure(nil), r.departed...),
		Lagging: r.lagging(), Err: cause,
	}
}
