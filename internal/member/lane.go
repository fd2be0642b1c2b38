package member

import (
	"context"
	"runtime"
	"slices"
)

// push appends a message to its sender's lane and wakes the reader if it
// sleeps. Once the inbox is closed it returns the close error instead and
// leaves the inbox unchanged. Lanes have no bound of their own: the senders'
// windows bound what they hold (see credit).
func (ib *inbox[T]) push(l *link[T], seq uint64, body *T, raw *Run) error {
	ln := &ib.lanes[l.lane]
	ln.mu.Lock()
	err := ln.closed
	if err == nil {
		ib.appendLocked(l, seq, body, raw)
	}
	ln.mu.Unlock()
	if err == nil {
		ib.wakeReader()
	}
	return err
}

// appendLocked appends a message (or a run of them) to l's lane and raises
// l's sent counter, numbering the message (the run's last) in the link,
// before the reader can see it. Callers hold the lane's mu and wake
// the reader after releasing it. Growing the queue is apart: the hot path
// rarely needs it.
func (ib *inbox[T]) appendLocked(l *link[T], seq uint64, body *T, raw *Run) {
	ln := &ib.lanes[l.lane]
	n := len(ln.items)
	if n == 0 {
		ib.ready.Or(1 << l.lane)
	}
	if n == cap(ln.items) {
		ln.grow()
	}
	ln.items = ln.items[:n+1]
	// Raise l.sent before the reader can see the message: it takes the lane
	// under mu.
	if raw == nil {
		l.sent++
		if l.room > 0 {
			l.room--
		}
	} else {
		l.sent += uint64(raw.Count)
		l.room -= min(l.room, uint64(raw.Count))
	}
	e := &ln.items[n] // zero: fresh memory, or cleared by the reader
	e.link, e.seq, e.n, e.body, e.raw = l, seq, l.sent, *body, raw
}

// grow makes room for one more queued entry. Callers hold mu.
func (ln *lane[T]) grow() { ln.items = slices.Grow(ln.items, 1) }

// pushMarker appends a local fence marker to every lane, ignoring bounds.
func (ib *inbox[T]) pushMarker(mk *marker) error {
	mk.lanes = Lanes
	pseudo := &link[T]{marker: mk}
	for i := range ib.lanes {
		ln := &ib.lanes[i]
		ln.mu.Lock()
		if ln.closed != nil {
			err := ln.closed
			ln.mu.Unlock()
			return err // the reader drops the markers already queued
		}
		if len(ln.items) == 0 {
			ib.ready.Or(1 << i)
		}
		ln.items = append(ln.items, entry[T]{link: pseudo})
		ln.mu.Unlock()
	}
	ib.wakeReader()
	return nil
}

// wakeReader signals a sleeping reader. Senders call it after appending
// (and raising the lane's ready bit), outside the lane lock: the reader
// raises sleeping before it reads the ready bits for the last time, so
// either it sees the append or the sender sees sleeping.
func (ib *inbox[T]) wakeReader() {
	if ib.sleeping.Load() && ib.sleeping.CompareAndSwap(true, false) {
		ib.signal()
	}
}

// signal leaves one wake-up token for the reader.
func (ib *inbox[T]) signal() {
	select {
	case ib.wake <- struct{}{}:
	default:
	}
}

// close refuses further sends with cause and tells the reader to finish in
// mode. A later close never softens an earlier one (drop beats stop), and
// the first cause stays.
func (ib *inbox[T]) close(cause error, mode readerMode) {
	ib.ctl.Lock()
	defer ib.ctl.Unlock()
	ib.closed.CompareAndSwap(nil, &cause) // cause is not written again
	first := ib.err()
	// Close every lane before the reader can see the new mode: a reader that
	// sees it and then finds the lanes empty may exit, so no send may land
	// in a lane after that.
	for i := range ib.lanes {
		ln := &ib.lanes[i]
		ln.mu.Lock()
		ln.closed = first
		ln.mu.Unlock()
	}
	if mode > ib.readerMode() {
		ib.mode.Store(uint32(mode))
	}
	ib.signal()
}

// take returns the queued entries of the next non-empty lane, reusing buf
// for that lane, and the reader mode. It blocks while every lane is empty
// and the mode is modeRun, until a send or close wakes it, or ctx ends (then
// the mode is modeDrop). An empty batch with a mode other than modeRun means
// the reader is done.
func (ib *inbox[T]) take(ctx context.Context, buf []entry[T]) ([]entry[T], readerMode) {
	for spin := 0; ; spin++ {
		mode := ib.readerMode() // before looking at the lanes: see close
		if batch := ib.takeLane(buf); len(batch) > 0 {
			return batch, mode
		}
		if mode != modeRun {
			return nil, mode
		}
		if spin < idleSpins {
			// A busy sender usually refills a lane within a few scheduler
			// rounds; parking would cost both sides a wake-up.
			runtime.Gosched()
			continue
		}
		ib.sleeping.Store(true)
		if ib.ready.Load() != 0 || ib.readerMode() != modeRun {
			ib.sleeping.Store(false)
			continue
		}
		select {
		case <-ib.wake:
		case <-ctx.Done():
			ib.close(context.Cause(ctx), modeDrop)
		}
		ib.sleeping.Store(false)
	}
}

// takeLane swaps out the queue of the first ready lane from next on.
func (ib *inbox[T]) takeLane(buf []entry[T]) []entry[T] {
	ready := ib.ready.Load()
	for k := 0; ready != 0 && k < Lanes; k++ {
		i := (ib.next + k) % Lanes
		if ready&(1<<i) == 0 {
			continue
		}
		ln := &ib.lanes[i]
		ln.mu.Lock()
		batch := ln.items
		ln.items = buf[:0]
		ib.ready.And(^uint32(1 << i))
		ln.mu.Unlock()
		ib.next = (i + 1) % Lanes
		return batch
	}
	return nil
}
