package processgroup

import (
	"slices"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
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
// its open rounds, oldest first. Guarded by the group's mu.
type barrier[T any] struct {
	name   string
	latest uint64
	open   []*round[T]
}

// round is one use of a barrier name. Fields other than done, result and err
// are guarded by the group's mu; result and err are written before done is
// closed and read only after.
type round[T any] struct {
	g       *Group[T]
	barrier *barrier[T]
	num     uint64
	mode    fence.Mode
	view    *view[T] // membership snapshot taken at the first arrival
	phase   phase

	arrived  []bool
	gone     []bool // departed (survivor policy)
	calls    []bool // a Barrier or Wait call is in progress
	nIn      int    // arrived or gone
	departed []fence.Departure
	targets  []managedprocess.Target // recorded at arrivals; while draining, what the watcher waits for
	drain    *drain[T]               // the watcher's current hand-over, while draining

	done    chan struct{}
	result  fence.Result
	err     error
	missing []fence.Identity // who had not arrived when the round failed
}

func newRound[T any](g *Group[T], b *barrier[T], mode fence.Mode) *round[T] {
	b.latest++
	n := len(g.view.members)
	flags := make([]bool, 3*n)
	r := &round[T]{
		g: g, barrier: b, num: b.latest, mode: mode, view: g.view,
		arrived: flags[:n:n], gone: flags[n : 2*n : 2*n], calls: flags[2*n:],
		done: make(chan struct{}),
	}
	b.open = append(b.open, r)
	return r
}

// allIn reports whether every member of the snapshot arrived or departed.
func (r *round[T]) allIn() bool { return r.nIn == len(r.view.members) }

// notArrived lists the members that neither arrived nor departed.
func (r *round[T]) notArrived() []fence.Identity {
	var ids []fence.Identity
	for i, m := range r.view.members {
		if !r.arrived[i] && !r.gone[i] {
			ids = append(ids, m.ID())
		}
	}
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

// outcome is what a waiter of r gets once done is closed.
func (r *round[T]) outcome(op string, caller fence.Identity) (fence.Result, error) {
	if r.err == nil {
		return r.result, nil
	}
	return fence.Result{}, &fence.Error{
		Op: op, Group: r.g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode,
		Member: caller, Missing: r.missing, Departed: r.departed, Err: r.err,
	}
}

// finish releases every waiter. Callers hold the group's mu.
func (r *round[T]) finish() {
	r.phase = finished
	if i := slices.Index(r.barrier.open, r); i >= 0 {
		r.barrier.open = slices.Delete(r.barrier.open, i, i+1)
	}
	close(r.done)
}
