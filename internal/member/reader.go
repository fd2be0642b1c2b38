package member

import (
	"context"
	"runtime/debug"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// read is the reader goroutine: it takes batches from the inbox and consumes
// them until the inbox is closed and empty. ctx is the handlers' context. A
// handler that calls runtime.Goexit ends the goroutine: the member then
// crashes with fence.ErrGoexit, and what is queued is dropped on the way out.
func (m *Member[T]) read(ctx context.Context) {
	returned := false
	defer func() {
		if !returned {
			m.dropQueued(ctx)
		}
		if m.fwd != nil {
			<-m.fwd.drained()
		}
		close(m.done)
	}()
	m.readLoop(ctx)
	returned = true
}

// readLoop consumes batches until the inbox is closed and empty.
func (m *Member[T]) readLoop(ctx context.Context) {
	var buf []entry[T]
	lean := 0 // consecutive batches that used little of buf (see reusable)
	for {
		batch, mode := m.inbox.take(ctx, buf)
		if len(batch) == 0 && mode != modeRun {
			return
		}
		rest := batch
		if mode != modeDrop {
			n, perr := m.handleAll(ctx, batch)
			if perr != nil {
				m.crash(perr)
			}
			rest = batch[n:]
		}
		for i := range rest {
			m.drop(&rest[i])
		}
		clear(batch)
		buf, lean = reusable(batch, lean, 2*m.inbox.window)
	}
}

// dropQueued consumes what is left in the inbox without handling it, once
// the inbox is closed for dropping.
func (m *Member[T]) dropQueued(ctx context.Context) {
	for {
		batch, mode := m.inbox.take(ctx, nil)
		if len(batch) == 0 && mode != modeRun {
			return
		}
		for i := range batch {
			m.drop(&batch[i])
		}
	}
}

// handleAll runs the handler and post-handler work for each entry in order,
// publishing its progress after each. It returns how many entries it
// consumed. It stops early when the inbox turns to dropping (a crash or a
// close while the batch was being handled) and, when a handler panics, at
// the panicking entry, returning the panic: the member crashed. The rest of
// the batch must be dropped. When a handler calls runtime.Goexit, handleAll
// crashes the member and drops the rest of the batch itself before the
// goroutine ends.
func (m *Member[T]) handleAll(ctx context.Context, batch []entry[T]) (n int, perr *fence.PanicError) {
	if m.fwd != nil {
		return m.forwardAll(batch), nil
	}
	handled, returned := 0, false
	m.stats.begin(batch)
	defer func() {
		m.stats.end(handled)
		if returned {
			return
		}
		clear(m.post)
		m.post = m.post[:0]
		if v := recover(); v != nil {
			perr = &fence.PanicError{Value: v, Stack: debug.Stack()}
			return
		}
		m.crash(fence.ErrGoexit) // neither a return nor a panic
		for i := n; i < len(batch); i++ {
			m.drop(&batch[i])
		}
	}()
	for n = 0; n < len(batch) && !m.inbox.dropping(); n++ {
		e := &batch[n]
		if mk := e.link.marker; mk != nil {
			mk.reach(nil)
			continue
		}
		if m.handler != nil {
			m.handler(ctx, managedprocess.NewMessage[T](m, e.link.sender, e.seq, e.body))
		}
		if len(m.post) > 0 {
			m.runPost()
		}
		handled++
		m.notifyDeliveryProgress(e)
	}
	returned = true
	return n, nil
}

// forwardAll forwards each message (or run) of batch to the far side, in
// order, until the inbox turns to dropping; markers wait for what was
// forwarded before them. It returns how many entries it consumed.
func (m *Member[T]) forwardAll(batch []entry[T]) (n int) {
	for n = 0; n < len(batch) && !m.inbox.dropping(); n++ {
		e := &batch[n]
		if e.link.marker != nil {
			m.fwd.consume(m, e, nil)
			continue
		}
		if m.fwd.forward(m, e) {
			m.forward(e.link.sender, e.seq, e.body, e.raw)
		}
	}
	return n
}

// runPost runs the post-handler work the handler scheduled, in order.
func (m *Member[T]) runPost() {
	for i := 0; i < len(m.post); i++ {
		m.post[i]()
		m.post[i] = nil
	}
	m.post = m.post[:0]
}

// drop consumes an entry without handling it.
func (m *Member[T]) drop(e *entry[T]) {
	if m.fwd != nil {
		m.fwd.consume(m, e, m.Err())
		return
	}
	if mk := e.link.marker; mk != nil {
		mk.reach(m.Err())
		return
	}
	m.stats.dropped.Add(e.count())
	m.notifyDeliveryProgress(e)
}

// notifyDeliveryProgress publishes that e was consumed and, only if that
// crossed a threshold the watcher armed, notifies the watcher; if it crossed
// the threshold of the sender's sends waiting for room, it wakes them. While
// nothing waits this is one atomic store and two atomic loads.
func (m *Member[T]) notifyDeliveryProgress(e *entry[T]) {
	p := e.link.progress
	if p.Publish(e.n) && m.coord != nil {
		m.coord.Notify(e.link.watch)
	}
	if p.CreditDue(e.n) {
		e.link.grantCredit()
	}
}

// crash closes the inbox for dropping and reports the cause (a
// *fence.PanicError or fence.ErrGoexit) once.
func (m *Member[T]) crash(cause error) {
	m.out.refuse(cause)
	m.inbox.close(cause, modeDrop)
	if m.onCrash != nil {
		m.onCrash(m, cause)
	}
}

// RunAfterCurrentHandler schedules fn to run after the current handler
// returns and before its message counts as handled. ctx must be the
// handler's context and the call must be made on the handler's goroutine;
// otherwise it returns an error wrapping fence.ErrNotInHandler. A panic in fn
// crashes the member like a panic in the handler.
func (m *Member[T]) RunAfterCurrentHandler(ctx context.Context, fn func()) error {
	if !m.inHandlerOf(ctx) {
		return m.errorf("run after handler: %w", fence.ErrNotInHandler)
	}
	m.post = append(m.post, fn)
	return nil
}

// WaitForDeliveryFence blocks until every message queued for m before the
// call has been handled (a local fence). It returns the context's cause if
// ctx ends first, fence.ErrInHandler (wrapped) when called from m's handler,
// and m's departure cause if the messages were dropped instead of handled.
func (m *Member[T]) WaitForDeliveryFence(ctx context.Context) error {
	if m.inHandlerOf(ctx) {
		return m.errorf("delivery fence: %w", fence.ErrInHandler)
	}
	mk := &marker{done: make(chan struct{})}
	if err := m.inbox.pushMarker(mk); err != nil {
		return m.errorf("delivery fence: %w", err)
	}
	select {
	case <-mk.done:
		if mk.err != nil {
			return m.errorf("delivery fence: %w", mk.err)
		}
		return nil
	case <-ctx.Done():
		return m.errorf("delivery fence: %w", fence.ContextError(ctx))
	}
}

// bigBatchBuffer is the capacity, in entries, up to which the reader always
// keeps a batch buffer, whatever the inbox's window.
const bigBatchBuffer = 256

// leanBatches is how many batches must use at most a quarter of a buffer
// larger than its bound (see reusable) before the reader drops it. A fenced
// round whose senders all send to one member fills that member's lanes in
// a burst and then hands them over in many small batches; a buffer dropped
// within a round would be grown again in the next one.
const leanBatches = 1024

// reusable returns buf, which held a batch, for the reader's next take, which
// hands it to a lane as its next queue — or nil when buf is larger than
// bound (the reader passes two windows: one sender's backlog fits, with the
// slack of slice growth; more is room that several senders of a lane, or a
// handler's sends, exempt from the window, can have grown) and the last
// leanBatches batches used little of it: the lane then gives that room back
// instead of keeping a burst's peak for the member's whole life. Up to the
// bound a lane keeps its room, so a busy stream allocates nothing. lean
// counts the lean batches; the reader keeps it between calls.
func reusable[T any](buf []entry[T], lean, bound int) ([]entry[T], int) {
	switch {
	case cap(buf) <= max(bigBatchBuffer, bound):
		return buf, lean // the reader and the lane swap two buffers: count the big one's uses
	case cap(buf) <= 4*len(buf):
		return buf, 0
	}
	if lean++; lean < leanBatches {
		return buf, lean
	}
	return nil, 0
}
