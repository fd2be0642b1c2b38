package watcher

import "sync"

// Watcher runs a Core on its own goroutine. Its methods are safe for
// concurrent use and, except Stop, never block: they append to a mailbox and
// wake the goroutine with a non-blocking send. A Watcher must not be copied
// after first use.
type Watcher[R comparable] struct {
	box       *mailbox[R]
	core      Core[R]
	onDrained func(R) []Target
	stop      chan struct{}
	done      chan struct{}
	stopOnce  sync.Once

	// Owned by the loop goroutine.
	in       batch[R]
	ready    []R            // drained in this iteration, for onDrained
	requeued []R            // drained again by onDrained's targets: next iteration
	dropped  map[R]struct{} // drops of this iteration
}

// Start starts the watcher goroutine and returns the Watcher that owns it.
//
// onDrained is called on the watcher goroutine, never concurrently with
// itself, each time all of a round's registered targets are met. It returns
// more targets to drain for that round (a processing fence repeats the drain
// until a snapshot finds nothing new), or nil when the round is complete and
// may be forgotten. If the returned targets are all met already, onDrained is
// called again for the round on a later loop iteration, after the mailbox was
// handled, so one round whose handlers never stop cannot starve the others.
//
// onDrained must not block and must not call Stop. A Drop that races with
// the watcher taking the round may still see onDrained called for it once.
// A panic in onDrained is not recovered. A nil onDrained completes every
// round at its first drain.
func Start[R comparable](onDrained func(R) []Target) *Watcher[R] {
	if onDrained == nil {
		onDrained = func(R) []Target { return nil }
	}
	w := &Watcher[R]{
		box:       newMailbox[R](),
		onDrained: onDrained,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go w.run()
	return w
}

// Submit hands round r with its targets to the watcher, which registers them
// (adding to r's targets if r is pending). Submit copies targets and never
// blocks. After Stop it does nothing.
func (w *Watcher[R]) Submit(r R, targets []Target) { w.box.submit(r, targets) }

// Notify reports that ctr crossed its armed threshold (its Publish returned
// true). Message readers call it; it never blocks, and a notification for a
// counter with nothing pending is harmless. After Stop it does nothing.
func (w *Watcher[R]) Notify(ctr Counter) { w.box.notify(ctr) }

// Drop asks the watcher to forget round r, which completed elsewhere. Drops
// are handled before the submissions taken in the same iteration, and a Drop
// cancels a Submit of the same round taken with it. Drop never blocks. After
// Stop it does nothing.
func (w *Watcher[R]) Drop(r R) { w.box.drop(r) }

// Stop stops the watcher goroutine and returns after it exited. Pending rounds
// are forgotten without a call to onDrained (the caller completes them, for
// example with ErrClosed) and the counters they armed are disarmed. Stop is
// idempotent and safe for concurrent use; it must not be called from
// onDrained.
func (w *Watcher[R]) Stop() {
	w.stopOnce.Do(func() {
		w.box.close()
		close(w.stop)
	})
	<-w.done
}

// run is the loop: wait for input (or go on at once when rounds were
// re-queued), take the mailbox, handle it and report drained rounds.
func (w *Watcher[R]) run() {
	defer close(w.done)
	defer w.core.reset()
	for w.wait() {
		w.box.take(&w.in)
		w.step()
	}
}

// wait blocks until the mailbox signals or, when rounds were re-queued, only
// checks for Stop. It reports false when the watcher is stopping.
func (w *Watcher[R]) wait() bool {
	if len(w.requeued) > 0 {
		select {
		case <-w.stop:
			return false
		default:
		}
		select {
		case <-w.wake():
		default:
		}
		return true
	}
	select {
	case <-w.stop:
		return false
	case <-w.wake():
		return true
	}
}

func (w *Watcher[R]) wake() <-chan struct{} { return w.box.wake }

// step handles one batch: drops, then submissions, then notifications, then
// the rounds re-queued by the previous iteration; then it calls onDrained for
// every round drained along the way.
func (w *Watcher[R]) step() {
	w.applyDrops()
	for _, s := range w.in.submits {
		if _, gone := w.dropped[s.round]; gone {
			continue
		}
		if w.core.Add(s.round, w.in.targets[s.lo:s.hi]) {
			w.ready = append(w.ready, s.round)
		}
	}
	for _, ctr := range w.in.notifies {
		w.ready = w.core.Progress(ctr, w.ready)
	}
	w.ready = w.core.Progress(nil, w.ready)
	w.ready = append(w.ready, w.requeued...)
	clear(w.requeued)
	w.requeued = w.requeued[:0]
	for _, r := range w.ready {
		w.handle(r)
	}
	clear(w.ready)
	w.ready = w.ready[:0]
}

// applyDrops forgets the dropped rounds in the core and in the re-queue.
func (w *Watcher[R]) applyDrops() {
	if len(w.dropped) > 0 {
		clear(w.dropped)
	}
	if len(w.in.drops) == 0 {
		return
	}
	if w.dropped == nil {
		w.dropped = make(map[R]struct{})
	}
	for _, r := range w.in.drops {
		w.dropped[r] = struct{}{}
		w.core.Drop(r)
	}
	kept := w.requeued[:0]
	for _, r := range w.requeued {
		if _, gone := w.dropped[r]; !gone {
			kept = append(kept, r)
		}
	}
	clear(w.requeued[len(kept):])
	w.requeued = kept
}

// handle reports drained round r and registers the targets onDrained returns.
// Rounds those targets drain at once are handled on the next iteration.
func (w *Watcher[R]) handle(r R) {
	more := w.onDrained(r)
	if len(more) == 0 {
		return
	}
	if w.core.Add(r, more) {
		w.requeued = append(w.requeued, r)
	}
	w.requeued = w.core.Progress(nil, w.requeued)
}
