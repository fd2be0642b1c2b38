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
// Large rounds park at once: most of their waiters arrive while many others
// have yet to run, and every yield puts the waiter back on the scheduler's
// shared queue, behind them. (A round of 64 goroutine members on two cores,
// waiting with the run context, medians of five alternated runs: 1.92 ×
// Mutex+Cond parking at once, 3.07 with four yields. An earlier machine,
// whose cores traded cache lines more slowly, measured the opposite, 1.50
// with four yields and 2.06 with one: this follows the machine the README's
// figures come from.)
const (
	waitSpins      = 1
	smallRound     = 4
	smallRoundSpin = 2
	largeRound     = 16
	largeRoundSpin = 0
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
	ctxWakes := p != nil && wake == p.wake && ctx == p.run
	g.mu.Lock()
	parked := r.park(wake)
	g.unlock()
	for parked && !r.finished.Load() {
		// A token means r finished, or it was left from an earlier round:
		// look again.
		parked = waitWake(ctx, wake, ctxWakes)
	}
	if r.finished.Load() { // released at the same time as ctx ended: the release wins
		res, err = r.outcome(op, m)
		return res, err, false
	}
	return fence.Result{}, g.diagnose(op, r, m, fence.ContextError(ctx)), true
}

// waitWake blocks until wake holds a token or ctx ends, and reports false
// if ctx ended. ctxWakes says that the end of ctx leaves a token on wake
// (the port's channel and the member's run context: see port.watchRun); the
// wait is then a plain receive.
func waitWake(ctx context.Context, wake chan struct{}, ctxWakes bool) bool {
	if !ctxWakes {
		select {
		case <-wake:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if ctx.Err() != nil { // its token may have been taken by an earlier wait
		return false
	}
	<-wake
	return ctx.Err() == nil
}

// leaveToken leaves a token on wake, a waiter's channel of capacity 1,
// unless one is there already.
func leaveToken(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
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
