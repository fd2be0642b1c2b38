package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
)

// Remote is a member behind a wire, as its own code sees it: every method
// but a send is a call framed onto the pipe to the coordinator, a send is a
// post within credit (see send), and the coordinator's deliveries run its
// handler here, one at a time. Payloads cross as its codec encodes them.
type Remote[T any] struct {
	id      fence.Identity
	out     Sender // to the coordinator
	limit   int    // the longest frame out may carry; 0: any
	codec   managedprocess.Codec[T]
	handler managedprocess.Handler[T]
	run     func(context.Context, managedprocess.Member[T]) error

	ctx    context.Context // the member's: run's and the handlers'
	cancel context.CancelCauseFunc
	hctx   context.Context // the handlers': ctx marked as this member's

	mu       sync.Mutex
	next     uint64
	calls    map[uint64]chan *Frame
	links    outLinks               // credit for sends (see send)
	spare    atomic.Pointer[[]byte] // a buffer for the next send to encode its message into
	departed error                  // set by close: calls after it fail with it
	left     error                  // the cause its depart came with: sends after it fail, as in process
	final    managedprocess.State   // the member's state at close
	done     chan struct{}
	doneOnce sync.Once
	finished chan struct{} // closed by finish
	started  bool          // the body was started
	bodyDone chan struct{} // closed when the body returned, or by finish if it never started

	pending    []delivery    // taken and not yet flushed (see Take); the receiving goroutine's only
	nPending   int           // the messages of pending
	deliveries deliveryQueue // to the handler goroutine
	progress   farProgress   // what the handler goroutine handled, and reported
	late       *lateReports  // reports it during a long batch
	post       []func()      // post-handler work; the handler goroutine's only
	handling   bool          // a handler is running (a return now is its Goexit); the handler goroutine's only
	decoded    T             // the message being handled, decoded; the handler goroutine's only
	handlerOut chan struct{} // closed when the handler goroutine returned
}

// handlerKey marks a handler's context; its value is the *Remote.
type handlerKey struct{}

// NewRemote returns the member side of a wire for the member id, sending its
// calls on out and its messages encoded with codec. Feed it what the
// coordinator sends with Receive. A send or publish whose frame would be
// longer than limit bytes (the coordinator's limit for the frames it reads;
// 0: none) fails at once with fence.ErrInvalidArgument, and sends nothing.
func NewRemote[T any](id fence.Identity, out Sender, codec managedprocess.Codec[T], handler managedprocess.Handler[T],
	run func(context.Context, managedprocess.Member[T]) error, limit int) *Remote[T] {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &Remote[T]{id: id, out: out, limit: limit, codec: codec, handler: handler, run: run, ctx: ctx, cancel: cancel,
		calls: make(map[uint64]chan *Frame), done: make(chan struct{}), finished: make(chan struct{}), bodyDone: make(chan struct{}),
		deliveries: newDeliveryQueue(), handlerOut: make(chan struct{})}
	r.hctx = context.WithValue(ctx, handlerKey{}, r)
	r.late = newLateReports(func() { r.progress.report(r.out, false) })
	go r.handle()
	return r
}

// Receive takes one frame from the coordinator. The pipe's goroutine calls
// it; it never blocks for long.
func (r *Remote[T]) Receive(f *Frame) {
	r.Take(f)
	r.Flush()
}

// Take takes one frame from the coordinator as Receive does, but keeps the
// message of a delivery back, with those before it, until Flush, the next
// frame of another operation, or ReportEvery of them: a connection's reader
// takes the frames its buffer holds and then flushes, so that the handler
// goroutine is handed them (and woken) once per read, not once per message.
// It is for one goroutine at a time, as Flush.
func (r *Remote[T]) Take(f *Frame) {
	if f.Op == OpDeliver {
		r.takeRun(f)
		return
	}
	r.Flush() // a depart that drops finds every delivery before it queued
	switch f.Op {
	case OpReply:
		r.mu.Lock()
		ch := r.calls[f.Call]
		delete(r.calls, f.Call)
		r.mu.Unlock()
		if ch != nil {
			ch <- f
		}
	case OpStart:
		r.mu.Lock()
		start := !r.started && r.departed == nil
		r.started = true
		r.mu.Unlock()
		if start {
			go r.body()
		}
	case OpArm:
		r.progress.arm(r.out, f.Count)
	case OpRevoke:
		if f.To != nil {
			r.revoked(*f.To)
		}
	case OpDepart:
		cause := f.Err.Decode()
		r.mu.Lock()
		r.left = cause
		r.mu.Unlock()
		if f.Drop { // before the context ends: a handler that returns when it does must find the rest dropped
			r.deliveries.drop()
		}
		r.cancel(cause)
	case OpDone:
		r.doneOnce.Do(func() { close(r.done) })
	case OpClose:
		r.finish(f.Err.Decode(), f.State.Decode())
	}
}

// takeRun keeps the messages of the delivery f back, as Take says, in one
// copy of its run: the handler may keep what the codec decodes from a
// message, which keeps the run's copy alive.
func (r *Remote[T]) takeRun(f *Frame) {
	r.pending = append(r.pending, delivery{from: f.From, seq: f.Seq, count: int(f.Count), run: bytes.Clone(f.Body)})
	if r.nPending += int(f.Count); r.nPending >= ReportEvery {
		r.Flush()
	}
}

// Flush hands the deliveries Take kept back to the handler goroutine. It
// never blocks: the senders' windows bound the queue.
func (r *Remote[T]) Flush() {
	if len(r.pending) > 0 {
		r.deliveries.put(r.pending)
		clear(r.pending)
		r.pending, r.nPending = r.pending[:0], 0
	}
}

// finish ends the member: pending and later calls fail with cause, and
// Snapshot returns final.
func (r *Remote[T]) finish(cause error, final managedprocess.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.departed != nil {
		return
	}
	r.departed, r.final = cause, final
	for call, ch := range r.calls {
		ch <- &Frame{Op: OpReply, Call: call, Err: EncodeError(fmt.Errorf("wire: %s: %w", r.id, cause))}
		delete(r.calls, call)
	}
	r.cancel(cause)
	close(r.finished)
	r.deliveries.close()
	if !r.started {
		r.started = true
		close(r.bodyDone)
	}
	r.doneOnce.Do(func() { close(r.done) })
}

// Lose ends the member when its coordinator is gone: its context ends with
// cause, and pending and later calls fail with it.
func (r *Remote[T]) Lose(cause error) { r.finish(cause, managedprocess.State{}) }

// Finished returns a channel closed once the coordinator ended the
// connection (or Lose was called).
func (r *Remote[T]) Finished() <-chan struct{} { return r.finished }

// BodyDone returns a channel closed once the body returned (or, if it
// never started, once the connection ended).
func (r *Remote[T]) BodyDone() <-chan struct{} { return r.bodyDone }

// Wait blocks until the handler goroutine returned (after close).
func (r *Remote[T]) Wait() { <-r.handlerOut }

// call sends f as a call and waits for its reply. If ctx ends first it says
// so to the coordinator, whose call then ends as it would in process, and
// still waits for the reply.
func (r *Remote[T]) call(ctx context.Context, f *Frame) *Frame {
	if ctx != nil {
		f.Handler = r.inHandler(ctx)
		f.Foreign = !f.Handler && (member.InHandler(ctx) || ctx.Value(handlerKey{}) != nil)
		f.Deadline, _ = ctx.Deadline()
	}
	ch := make(chan *Frame, 1)
	r.mu.Lock()
	if r.departed != nil {
		err := r.departed
		r.mu.Unlock()
		return &Frame{Op: OpReply, Err: EncodeError(fmt.Errorf("wire: %s: %w", r.id, err))}
	}
	r.next++
	f.Call = r.next
	r.calls[f.Call] = ch
	r.out.Send(f) // under mu: calls go out in the order of their numbers, as the coordinator checks
	r.mu.Unlock()
	var cancelled <-chan struct{}
	if ctx != nil {
		cancelled = ctx.Done()
	}
	select {
	case reply := <-ch:
		return reply
	case <-cancelled:
		// A deadline the frame carried ends the coordinator's call by
		// itself, with the same error; anything else must be told.
		if !(errors.Is(ctx.Err(), context.DeadlineExceeded) && !f.Deadline.IsZero()) {
			r.out.Send(&Frame{Op: OpCancel, Call: f.Call, Err: EncodeError(context.Cause(ctx))})
		}
		return <-ch
	}
}

// callCtx is call for the methods that take a context: a nil one is
// refused here, as in process.
func (r *Remote[T]) callCtx(ctx context.Context, op string, f *Frame) *Frame {
	if ctx == nil {
		return &Frame{Op: OpReply, Err: EncodeError(r.nilContext(op))}
	}
	return r.call(ctx, f)
}

// nilContext is the error of a method called with a nil context.
func (r *Remote[T]) nilContext(op string) error {
	return fmt.Errorf("wire: %s: %s: nil context: %w", r.id, op, fence.ErrInvalidArgument)
}

// inHandler reports whether ctx is (derived from) this member's handler
// context.
func (r *Remote[T]) inHandler(ctx context.Context) bool {
	if ctx == r.ctx { // the body's own: most sends
		return false
	}
	v, _ := ctx.Value(handlerKey{}).(*Remote[T])
	return v == r
}

// errOf returns a reply's error.
func errOf(f *Frame) error { return f.Err.Decode() }

// body runs the member's body and reports how it ended.
func (r *Remote[T]) body() {
	defer close(r.bodyDone)
	exit := &Frame{Op: OpExit, Goexit: true} // unless run returns or panics
	defer func() { r.out.Send(exit) }()
	defer func() {
		if v := recover(); v != nil {
			exit = &Frame{Op: OpExit, Panic: EncodePanic(v, nil)}
		}
	}()
	if r.run == nil {
		exit = &Frame{Op: OpExit, NoBody: true}
		return
	}
	err := r.run(r.ctx, r)
	exit = &Frame{Op: OpExit, Err: EncodeError(err)}
}

// ReportEvery bounds how many messages the member side handles before it
// reports its progress, while more are queued.
const ReportEvery = 256

// handle is the handler goroutine: it takes what is queued, runs the
// handler for each message in order, and reports its progress after each
// batch (and every ReportEvery messages, and on a timer while a batch takes
// long: see lateReports); when a handler or its
// post-handler work panics or calls Goexit it reports the crash instead and
// handles nothing more. A Goexit ends this goroutine: the deferred call
// reports it.
func (r *Remote[T]) handle() {
	defer func() {
		r.late.end()
		if r.handling {
			r.post = r.post[:0]
			r.progress.crashed(r.out, &Frame{Op: OpCrashed, Goexit: true})
			r.deliveries.close()
		}
		close(r.handlerOut)
	}()
	var batch []delivery
	for {
		var dropping bool
		batch, dropping = r.deliveries.take(batch[:0])
		switch {
		case batch == nil:
			return
		case dropping:
			r.progress.report(r.out, true)
			clear(batch)
			continue
		}
		r.late.begin(messagesIn(batch))
		crash := r.handleBatch(batch)
		r.late.end()
		if crash != nil {
			r.progress.crashed(r.out, crash)
			r.deliveries.close()
			return
		}
		r.progress.report(r.out, r.deliveries.dropping())
		clear(batch)
	}
}

// handleBatch handles the messages of batch in order, reporting progress
// every ReportEvery of them while more follow, until the member drops what
// is queued or a handler crashes: it then returns the crash frame.
func (r *Remote[T]) handleBatch(batch []delivery) (crash *Frame) {
	total, n := messagesIn(batch), 0
	for i := range batch {
		d := &batch[i]
		run := d.run
		for seq := d.seq; len(run) > 0; seq++ {
			if r.deliveries.dropping() {
				return nil
			}
			var body []byte
			body, run = NextMessage(run)
			r.handling = true
			out := r.handleOne(d.from, seq, body)
			r.handling = false
			switch {
			case out != nil && out.Op == OpCrashed:
				return out
			case out != nil: // undecodable: said before the progress that counts it
				r.out.Send(out)
			}
			r.progress.handled(r.out)
			if n++; n%ReportEvery == 0 && n < total {
				r.progress.report(r.out, false)
			}
		}
	}
	return nil
}

// handleOne runs the handler and post-handler work for body, the message
// seq of from; it returns nil, the crash frame if they (or the codec)
// panicked, or, if body does not decode, the frame that tells the
// coordinator so, without running the handler: the message counts as
// handled, and its sender is to blame (see OpUndecodable). If they call
// Goexit it does not return (see handle).
func (r *Remote[T]) handleOne(from fence.Identity, seq uint64, body []byte) (out *Frame) {
	defer func() {
		if v := recover(); v != nil {
			r.post = r.post[:0]
			out = &Frame{Op: OpCrashed, Panic: EncodePanic(v, debug.Stack())}
		}
	}()
	var zero T
	r.decoded = zero // what the codec decodes into: a local one would escape to the heap through it
	if err := r.codec.Decode(body, &r.decoded); err != nil {
		r.decoded = zero
		return &Frame{Op: OpUndecodable, From: from, Seq: seq, Err: EncodeError(err)}
	}
	if r.handler != nil {
		r.handler(r.hctx, managedprocess.NewMessage[T](r, from, seq, r.decoded))
	}
	r.decoded = zero // not kept alive until the next message
	for i := 0; i < len(r.post); i++ {
		r.post[i]()
	}
	r.post = r.post[:0]
	return nil
}
