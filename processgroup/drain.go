package processgroup

import (
	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// startDrain moves a round whose members are all in to its drain phase.
// Rendezvous releases at once. A fence round keeps only its unmet targets:
// with none left it releases at once (the watcher's level check, done
// inline); otherwise the watcher owns the drain. Callers hold mu; it never
// waits.
func (g *Group[T]) startDrain(r *round[T]) {
	switch r.mode {
	case fence.Rendezvous:
		g.release(r)
		return
	case fence.ProcessingFence:
		r.targets = r.snapshotTargets(r.targets[:0])
	default:
		r.targets = unmet(r.targets)
	}
	if len(r.targets) == 0 {
		g.release(r)
		return
	}
	r.phase = draining
	g.c.watcher.Submit(r, watcherTargets(r.targets))
}

// onDrained is the watcher's callback, on its goroutine, once every target
// it holds for r is met. A ProcessingFence round snapshots the members'
// streams again and drains what handlers sent meanwhile; a round that finds
// nothing new is released.
func (c *Coordinator[T]) onDrained(r *round[T]) []watcher.Target {
	g := r.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.phase != draining {
		return nil
	}
	if r.mode == fence.ProcessingFence {
		r.targets = r.snapshotTargets(r.targets[:0])
		if len(r.targets) > 0 {
			return watcherTargets(r.targets)
		}
	}
	g.release(r)
	return nil
}

// release completes r successfully. Callers hold mu.
func (g *Group[T]) release(r *round[T]) {
	r.result = fence.Result{Group: g.name, Barrier: r.barrier.name, Round: r.num, Mode: r.mode, Departed: r.departed}
	r.finish()
}

// fail completes r with cause for every waiter. Callers hold mu.
func (g *Group[T]) fail(r *round[T], cause error) {
	if r.phase == draining {
		g.c.watcher.Drop(r)
	}
	r.err = cause
	r.missing = r.notArrived()
	r.finish()
	g.c.cfg.logger.Warn("round failed", "group", g.name, "barrier", r.barrier.name, "round", r.num, "cause", cause)
}

// departRound settles r after m departed with cause: the round fails, or with
// CompleteForSurvivors goes on without m. Callers hold mu.
func (g *Group[T]) departRound(r *round[T], m *managedprocess.Member[T], cause error) {
	i, ok := r.view.index[m]
	if !ok || r.gone[i] || r.phase == finished {
		return
	}
	r.departed = append(r.departed, fence.Departure{Member: m.ID(), Cause: cause})
	if !g.cfg.survivors {
		g.fail(r, cause)
		return
	}
	r.gone[i] = true
	if !r.arrived[i] {
		r.nIn++
		if r.phase == arriving && r.allIn() {
			g.startDrain(r)
		}
	}
}

// close fails every open round with fence.ErrClosed and refuses later calls.
func (g *Group[T]) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, b := range g.barriers {
		for len(b.open) > 0 {
			g.fail(b.open[0], fence.ErrClosed)
		}
	}
}

// snapshotTargets appends the pending targets of every member's stream.
func (r *round[T]) snapshotTargets(dst []managedprocess.Target) []managedprocess.Target {
	for _, m := range r.view.members {
		dst = m.PendingTargets(dst)
	}
	return dst
}

// unmet filters targets in place, keeping those not yet reached.
func unmet(targets []managedprocess.Target) []managedprocess.Target {
	keep := targets[:0]
	for _, t := range targets {
		if t.Counter.Delivered() < t.Seq {
			keep = append(keep, t)
		}
	}
	clear(targets[len(keep):])
	return keep
}

func watcherTargets(ts []managedprocess.Target) []watcher.Target {
	out := make([]watcher.Target, len(ts))
	for i, t := range ts {
		out[i] = watcher.Target{Counter: t.Counter, Seq: t.Seq}
	}
	return out
}
