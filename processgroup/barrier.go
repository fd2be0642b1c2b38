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
	r    *round[T]
	m    *member.Member[T]
	idx  int
	wake chan struct{} // what Wait parks on (one Wait at a time: see beginCall)
}

// Round returns the round's number, strictly increasing per (group, barrier
// name): 1, 2, 3, … unless the group freed idle names (see Rounds in the
// package documentation).
func (a *arrivalHandle[T]) Round() uint64 { return a.r.num }

// Arrive records m's arrival at the next round of the barrier called name
// and returns at once; the arrival is irrevocable. Errors are those Barrier
// refuses with before arriving.
func (g *Group[T]) arriveCall(ctx context.Context, m *member.Member[T], name string, mode fence.Mode) (*arrivalHandle[T], error) {
	a, err := g.arrive(ctx, "arrive", m, name, mode, true)
	if err != nil {
		return nil, err
	}
	return &arrivalHandle[T]{r: a.r, m: m, idx: a.idx, wake: make(chan struct{}, 1)}, nil
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
	res, err, _ := g.await(ctx, "wait", arrival[T]{r: a.r, idx: a.idx, spins: spins}, a.m, nil, a.wake)
	return res, err
}

// waitSpins is how many times a waiter yields, polling its round, before it
// parks: the last members usually arrive within a scheduler round or two,
// and a yield is much cheaper than parking and being woken. Small rounds
// yield once more: their last member is likelier to be running already.
// Large rounds yield more: their last members are often still runnable,
// queued behind the others (a round of 64 goroutine members on two cores:
// 2.06 × Mutex+Cond with one yield, 1.50 with four, 1.54–1.61 with eight
// to sixteen; medians of five alternated runs).
const (
	waitSpins      = 1
	smallRound     = 4
	smallRoundSpin = 2
	largeRound     = 16
	largeRoundSpin = 4
)

// await blocks until a's round finishes or ctx ends; gaveUp reports the
// latter. It yields a.spins times before it parks on a channel of capacity 1
// that no other call parks on meanwhile: one p lends (a Barrier call), or
// own (an Arrival's Wait, with p nil).
func (g *Group[T]) await(ctx context.Context, op string, a arrival[T], m *member.Member[T], p *port[T], own chan struct{}) (res fence.Result, err error, gaveUp bool) {
	r := a.r
	for range a.spins {
		if r.finished.Load() {
			res, err = r.outcome(op, m)
			return res, err, false
		}
		runtime.Gosched()
	}
	wake := own
	if p != nil {
		wake = p.takeWake()
		defer p.putWake(wake)
	}
	g.mu.Lock()
	parked := r.park(wake)
	g.unlock()
	for parked && !r.finished.Load() {
		select {
		case <-wake: // r finished, or a token left from an earlier round: look again
		case <-ctx.Done():
			parked = false
		}
	}
	if r.finished.Load() { // released at the same time as ctx ended: the release wins
		res, err = r.outcome(op, m)
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
