package processgroup

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// wireEnd is the coordinator's side of a member behind a wire: a loopback
// one, or the connection to a child process. The coordinator holds the
// member as a shadow: a goroutine member like any other, except that its
// reader forwards each message or run to the member side (see deliver)
// instead of handling it, and the shadow counts a message consumed only
// once the member side reported it handled (member.Config.Forward): so the
// shadow's
// progress counts what the remote handler finished. Every call of the
// member side is served on a goroutine of its own with the shadow's
// methods, so a call blocks, is cancelled and fails exactly as the member's
// own call would in process; the reply is the call's only effect on the
// member side. What the member side sends is checked first (see check): a
// frame out of protocol loses the member side.
type wireEnd[T any] struct {
	c       *Coordinator[T]
	shadow  *member.Member[T]
	remote  *wire.Remote[T] // the member side, when it is in this process
	toFar   wire.Sender
	fromFar wire.Sender      // toFar again for a connection to a child
	exits   chan *wire.Frame // the body's exit, for runFar

	// disconnect ends the connection once its member side is lost or close
	// queued the last frame, and waits for the member side to end.
	disconnect func()
	// refused is told what the member side sent out of protocol; it loses
	// the member side (see lose) with that error, or what it makes of it.
	refused func(error)

	// What the member side may send next, kept by check on the receiving
	// goroutine.
	started   atomic.Bool // the body was started
	exited    bool        // the body's exit came
	bad       bool        // a frame was refused
	lastCall  uint64
	uncounted atomic.Bool // runFar stopped counting the member for Wait

	told     chan struct{} // closed once the member side was sent its depart (see start)
	lost     chan struct{} // closed by lose
	lostOnce sync.Once
	onLost   func(error) // the member fails with the cause, unless it retired
	retired  atomic.Bool // the member departed and its reader finished

	credit  grants[T]  // the member side's credit on its links, for its posts
	relayed relayArena // the runs of its posts to other wires, on the receiving goroutine
	packMu  sync.Mutex
	packed  relayArena // the messages goroutine members send to it (see encode), under packMu
	limit   int        // the longest frame the member side reads (a child's FrameLimit); 0: not checked
	decoded T          // a post for a member in process, decoded (see post), on the receiving goroutine

	mu       sync.Mutex
	calls    map[uint64]context.CancelCauseFunc
	arrivals map[uint64]managedprocess.Arrival
	closing  bool           // close began: calls are refused, not served
	departed error          // the cause the member side was told its context ended with
	serving  sync.WaitGroup // calls being served; added to under mu while !closing
}

// maxCalls bounds the calls a member side may have in flight at once: each
// is served on a goroutine, and a member side making more is refused.
const maxCalls = 1 << 12

func newEnd[T any](c *Coordinator[T]) *wireEnd[T] {
	return &wireEnd[T]{c: c, exits: make(chan *wire.Frame, 1), told: make(chan struct{}),
		lost: make(chan struct{}), calls: make(map[uint64]context.CancelCauseFunc),
		arrivals: make(map[uint64]managedprocess.Arrival)}
}

// newWireEnd connects a member side in this process for spec's handler and
// run function, through a pair of Pipes, or of SocketPipes with socket. The
// shadow is set by the caller before anything is delivered.
func newWireEnd[T any](c *Coordinator[T], id fence.Identity, spec Spec[T], socket bool) (*wireEnd[T], error) {
	ep := newEnd(c)
	var remote *wire.Remote[T]
	toRemote := func(f *wire.Frame) { remote.Receive(f) }
	bug := func(err error) { panic(fmt.Sprintf("processgroup: loopback wire of %v: %v", id, err)) } // both ends are ours
	// The limit of the frames the member side sends: a Pipe has none.
	var limit int
	if !socket {
		ep.fromFar, ep.toFar = wire.NewPipe(ep.receive), wire.NewPipe(toRemote)
	} else {
		from, to, err := wire.NewSocketPipes(ep.receive, toRemote, 0, bug)
		if err != nil {
			return nil, err
		}
		ep.fromFar, ep.toFar = from, to
		limit = wire.DefaultFrameLimit
	}
	remote = wire.NewRemote(id, ep.fromFar, c.codec, spec.Handler, spec.Run, limit)
	ep.remote, ep.refused = remote, bug
	ep.disconnect = func() {
		ep.toFar.Close()
		ep.fromFar.Close()
		remote.Wait()
	}
	return ep, nil
}

// start ties the member side's lifetime to the shadow's: its context ends
// with mctx's cause, and its Done closes with the shadow's, after it was
// told of the departure (mctx ends whenever the member departs).
func (ep *wireEnd[T]) start(mctx context.Context) {
	told := ep.told
	context.AfterFunc(mctx, func() {
		cause := context.Cause(mctx)
		ep.mu.Lock()
		ep.departed = cause
		ep.mu.Unlock()
		ep.toFar.Send(&wire.Frame{Op: wire.OpDepart, Err: wire.EncodeError(cause), Drop: dropsQueued(cause)})
		close(told)
	})
	go func() {
		<-ep.shadow.Done()
		<-told
		ep.toFar.Send(&wire.Frame{Op: wire.OpDone})
	}()
}

// close ends the connection once the member retired or the coordinator
// closed: the calls still being served end (their contexts are cancelled
// with fence.ErrClosed; a round they wait on has already failed, and that
// failure is their reply), their replies go out, and the member side's calls
// fail with fence.ErrClosed from then on.
func (ep *wireEnd[T]) close() {
	ep.mu.Lock()
	ep.closing = true
	for _, cancel := range ep.calls {
		cancel(fence.ErrClosed)
	}
	ep.mu.Unlock()
	ep.serving.Wait()
	ep.toFar.Send(&wire.Frame{Op: wire.OpClose, Err: wire.EncodeError(fence.ErrClosed),
		State: wire.EncodeState(ep.shadow.Snapshot())})
	ep.disconnect()
}

// lose records that the member side is gone, or must be, with cause: the
// member fails with cause unless it already retired, what was delivered to
// it and not reported handled is dropped, and a body waiting for it
// returns. Only the first cause counts. The member fails first: dropping
// makes room in its senders' windows, and a sender waiting for room must
// then find it departed, not send into it.
func (ep *wireEnd[T]) lose(cause error) {
	ep.lostOnce.Do(func() {
		if ep.onLost != nil {
			ep.onLost(cause)
		}
		ep.shadow.Abandon(cause)
		close(ep.lost)
	})
}

// receive takes one frame from the member side, on its pipe's goroutine.
func (ep *wireEnd[T]) receive(f *wire.Frame) {
	if ep.bad {
		return // the member side is being disconnected: nothing it sends counts
	}
	if err := ep.check(f); err != nil {
		ep.refuse(err)
		return
	}
	switch f.Op {
	case wire.OpHandled:
		if err := ep.shadow.Acknowledge(f.Count, f.Drop); err != nil {
			ep.refuse(&wire.FrameError{Reason: err.Error()})
		} else if f.Drop {
			ep.mu.Lock()
			cause := ep.departed
			ep.mu.Unlock()
			ep.shadow.Abandon(cmp.Or(cause, fence.ErrClosed)) // a member side that drops unasked is told soon
		}
	case wire.OpCrashed:
		if err := ep.shadow.CrashedAt(f.Count, crashCause(f)); err != nil {
			ep.refuse(&wire.FrameError{Reason: err.Error()})
		}
	case wire.OpExit:
		ep.exits <- f
	case wire.OpPost:
		if err := ep.post(f); err != nil {
			ep.refuse(err)
		}
	case wire.OpRevoked:
		ep.revoked(f)
	case wire.OpUndecodable:
		if err := ep.undecodable(f); err != nil {
			ep.refuse(err)
		}
	case wire.OpCancel:
		ep.mu.Lock()
		cancel := ep.calls[f.Call]
		ep.mu.Unlock()
		if cancel != nil {
			cancel(f.Err.Decode())
		}
	default:
		ctx, stop, ok := ep.callContext(f)
		if !ok {
			ep.toFar.Send(&wire.Frame{Op: wire.OpReply, Call: f.Call, Err: wire.EncodeError(errClosed("call"))})
			return
		}
		go ep.serve(ctx, stop, f)
	}
}

// refuse disconnects the member side for a frame out of protocol, once:
// later frames are ignored.
func (ep *wireEnd[T]) refuse(err error) {
	ep.bad = true
	ep.refused(fmt.Errorf("processgroup: %v sent %w", ep.shadow.ID(), err))
}

// check refuses a frame the member side may not send now: an operation of
// the coordinator's, an answer to no delivery, a second exit or one before
// the start, a call number that does not increase, or a call beyond
// maxCalls. The error wraps wire.ErrBadFrame.
func (ep *wireEnd[T]) check(f *wire.Frame) error {
	bad := func(format string, args ...any) error {
		return &wire.FrameError{Reason: fmt.Sprintf(format, args...)}
	}
	switch f.Op {
	case wire.OpHandled, wire.OpCrashed: // checked against what was delivered by the shadow
	case wire.OpExit:
		if ep.exited || !ep.started.Load() {
			return bad("an exit of a body that was not running")
		}
		ep.exited = true
	case wire.OpCancel, wire.OpPost, wire.OpRevoked: // posts are checked against the credit granted
	case wire.OpUndecodable: // checked against what was delivered, by undecodable
	case wire.OpPublish, wire.OpArrive, wire.OpBarrier, wire.OpWait,
		wire.OpJoin, wire.OpLeave, wire.OpLocalFence, wire.OpOutboundFence, wire.OpSnapshot, wire.OpErr,
		wire.OpResolve, wire.OpCredit:
		if f.Call <= ep.lastCall {
			return bad("call %d after call %d", f.Call, ep.lastCall)
		}
		ep.lastCall = f.Call
		ep.mu.Lock()
		n := len(ep.calls)
		ep.mu.Unlock()
		if n >= maxCalls {
			return bad("more than %d calls at once", maxCalls)
		}
	default:
		return bad("operation %d, which is not a member's", f.Op)
	}
	return nil
}

// callContext returns the context a call is served with: cancelled by the
// member side's cancel, ending at its deadline, marked as the shadow's
// handler context when the member's handler made it. stop releases the
// context. Once close began it reports false: the call is not served.
func (ep *wireEnd[T]) callContext(f *wire.Frame) (ctx context.Context, stop func(), ok bool) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ep.mu.Lock()
	if ep.closing {
		ep.mu.Unlock()
		cancel(nil)
		return nil, nil, false
	}
	ep.calls[f.Call] = cancel
	ep.serving.Add(1)
	ep.mu.Unlock()
	stop = func() { cancel(nil) }
	if !f.Deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, f.Deadline)
		stop = func() { cancelDeadline(); cancel(nil) }
	}
	switch {
	case f.Handler:
		ctx = member.AsHandler(ctx, ep.shadow)
	case f.Foreign:
		ctx = member.AsHandler[T](ctx, nil) // some other member's handler
	}
	return ctx, stop, true
}

// serve runs one call and replies.
func (ep *wireEnd[T]) serve(ctx context.Context, stop func(), f *wire.Frame) {
	reply := &wire.Frame{Op: wire.OpReply, Call: f.Call}
	err := ep.apply(ctx, f, reply)
	ep.mu.Lock()
	delete(ep.calls, f.Call)
	ep.mu.Unlock()
	stop()
	if err != errReplied {
		reply.Err = wire.EncodeError(err)
		ep.afterDepart()
		ep.toFar.Send(reply)
	}
	ep.serving.Done()
}

// afterDepart waits, once the shadow departed, until the member side was
// sent its depart: a reply that shows the departure (an Err call that
// returns it, say) must not overtake it, or the member side would go on
// handling what the departure drops. The member's context ends whenever it
// departs, and the depart goes out then; a lost member side need not wait.
func (ep *wireEnd[T]) afterDepart() {
	if ep.shadow.Err() == nil {
		return
	}
	select {
	case <-ep.told:
	case <-ep.lost:
	}
}

// apply makes the call f describes as the shadow, filling reply's result.
func (ep *wireEnd[T]) apply(ctx context.Context, f *wire.Frame, reply *wire.Frame) error {
	m := ep.shadow
	switch f.Op {
	case wire.OpPublish:
		return ep.publish(ctx, f)
	case wire.OpResolve, wire.OpCredit:
		return ep.grantCredit(ctx, f, reply)
	case wire.OpArrive:
		a, err := m.Arrive(ctx, f.Group, f.Barrier, f.Mode)
		if err == nil {
			reply.Arrival, reply.Round = ep.keep(a), a.Round()
		}
		return err
	case wire.OpBarrier:
		res, err := m.Barrier(ctx, f.Group, f.Barrier, f.Mode)
		reply.Result = wire.EncodeResult(res)
		return err
	case wire.OpWait:
		ep.mu.Lock()
		a := ep.arrivals[f.Arrival]
		ep.mu.Unlock()
		if a == nil {
			return fmt.Errorf("processgroup: wait: no arrival %d: %w", f.Arrival, fence.ErrInvalidArgument)
		}
		res, err := a.Wait(ctx)
		reply.Result = wire.EncodeResult(res)
		return err
	case wire.OpJoin:
		return m.Join(f.Group)
	case wire.OpLeave:
		return m.Leave(f.Group)
	case wire.OpLocalFence:
		return m.WaitForDeliveryFence(ctx)
	case wire.OpOutboundFence:
		return m.WaitForOutboundFence(ctx)
	case wire.OpSnapshot:
		reply.State = wire.EncodeState(m.Snapshot())
		return nil
	case wire.OpErr:
		return m.Err()
	}
	return fmt.Errorf("processgroup: %v: unknown operation %d: %w", m.ID(), f.Op, fence.ErrInvalidArgument)
}

// publish is a publish of the shadow.
func (ep *wireEnd[T]) publish(ctx context.Context, f *wire.Frame) error {
	var body T
	if err := ep.c.codec.Decode(f.Body, &body); err != nil {
		return fmt.Errorf("processgroup: %v: a message that does not decode: %v: %w", ep.shadow.ID(), err, fence.ErrInvalidArgument)
	}
	return ep.shadow.Publish(ctx, f.Group, body)
}

// keep records an arrival for the member side's later waits.
func (ep *wireEnd[T]) keep(a managedprocess.Arrival) uint64 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	id := uint64(len(ep.arrivals) + 1)
	ep.arrivals[id] = a
	return id
}

// deliver is the shadow's Forward: it sends a run of messages to the
// member side, which reports each one handled later. Every message reaches
// it as a run: relayed from another wire as it came, or encoded by its
// sender (see encode).
func (ep *wireEnd[T]) deliver(from fence.Identity, seq uint64, _ T, run *member.Run) {
	ep.relay(from, seq, run)
}

// encode is the shadow's Encode: it encodes msg, a message from from to the
// member side, with the coordinator's codec, on the sender's goroutine
// (unless another wire end did: encoded). A message the codec refuses, or
// whose delivery would not fit the member side's frame limit, fails its
// send with an error matching fence.ErrInvalidArgument, and is not sent.
func (ep *wireEnd[T]) encode(from fence.Identity, msg T, encoded *member.Run) (*member.Run, error) {
	run := encoded
	if run == nil {
		var err error
		ep.packMu.Lock()
		run, err = pack(&ep.packed, ep.c.codec, msg)
		ep.packMu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("the message does not encode for %v: %v: %w", ep.shadow.ID(), err, fence.ErrInvalidArgument)
		}
	}
	if ep.limit > 0 && wire.RunSize(from, math.MaxUint64, run.Packed) > ep.limit {
		body, _ := wire.NextMessage(run.Packed)
		return nil, fmt.Errorf("a message of %d bytes, encoded, does not fit the frame limit of %v, %d bytes: %w",
			len(body), ep.shadow.ID(), ep.limit, fence.ErrInvalidArgument)
	}
	return run, nil
}

// relay sends a run, the first of its messages seq: in one frame, or
// message by message if that frame would be longer than the member side's
// limit (a run relayed from a wire with a longer one).
func (ep *wireEnd[T]) relay(from fence.Identity, seq uint64, run *member.Run) {
	if ep.limit <= 0 || wire.RunSize(from, seq, run.Packed) <= ep.limit {
		ep.toFar.Relay(from, seq, run.Count, run.Packed)
		return
	}
	for packed := run.Packed; len(packed) > 0; seq++ {
		var body []byte
		body, packed = wire.NextMessage(packed)
		if !ep.deliverOne(from, seq, body) {
			return
		}
	}
}

// deliverOne sends the message seq of from, encoded as body, and reports
// whether it did: one whose frame would be longer than the member side's
// limit is not sent, and the member side is refused instead.
func (ep *wireEnd[T]) deliverOne(from fence.Identity, seq uint64, body []byte) bool {
	if ep.limit > 0 && wire.DeliverSize(from, seq, body) > ep.limit { // the member side would refuse the frame
		ep.refused(fmt.Errorf("processgroup: %v was sent a message of %d bytes, encoded, by %v: it does not fit the frame limit of %d bytes: %w",
			ep.shadow.ID(), len(body), from, ep.limit, fence.ErrInvalidArgument))
		return false
	}
	ep.toFar.Deliver(from, seq, body)
	return true
}

// arm is the shadow's Arm: it asks the member side for a progress report.
func (ep *wireEnd[T]) arm(count uint64) {
	ep.toFar.Send(&wire.Frame{Op: wire.OpArm, Count: count})
}

// crashCause is what a crashed frame says the member side's handler did.
func crashCause(f *wire.Frame) error {
	if f.Goexit || f.Panic == nil {
		return fence.ErrGoexit
	}
	return &fence.PanicError{Value: f.Panic.Value, Stack: f.Panic.Stack}
}

// runFar is the shadow's run function: it starts the member side's body and
// returns how that ended, after the member side saw its context end if the
// shadow's did. A member side with no body (a child whose role has no run
// function) serves until ctx ends. If the member side is lost, runFar
// returns once the member failed with the cause (see lose), which ended
// ctx.
func (ep *wireEnd[T]) runFar(ctx context.Context, _ managedprocess.Member[T]) error {
	ep.started.Store(true)
	ep.toFar.Send(&wire.Frame{Op: wire.OpStart})
	var exit *wire.Frame
	select {
	case exit = <-ep.exits:
	case <-ep.lost:
		<-ctx.Done()
		return nil
	}
	switch {
	case exit.Goexit:
		runtime.Goexit()
	case exit.Panic != nil:
		panic(exit.Panic.Value)
	case exit.NoBody:
		if ep.uncounted.CompareAndSwap(false, true) {
			ep.c.exits.stop() // not waited for, like a member without a run function
		}
		<-ctx.Done() // a loss ends it too
		return nil
	}
	return exit.Err.Decode()
}

// undecodable takes the member side's word that a message it was delivered
// does not decode there; it counts as handled when the progress report
// that follows says so, and the member side goes on. Its sender is to
// blame when it is behind a wire of its own: the coordinator relayed that
// payload without decoding it (a payload it decoded and encoded again, as a
// publish's, decodes with the codec both ends share), so the sender is
// disconnected with the error. A sender that departed meanwhile is past
// blaming: the coordinator's logger is told. The member side is refused
// for a report on a message it was not delivered, or has reported handled,
// and for one on a payload a goroutine member's send encoded.
func (ep *wireEnd[T]) undecodable(f *wire.Frame) error {
	if !ep.shadow.Unacknowledged(f.From, f.Seq) {
		return &wire.FrameError{Reason: fmt.Sprintf("a message from %v (seq %d) that does not decode, which it was not delivered", f.From, f.Seq)}
	}
	why := f.Err.Decode()
	ep.c.mu.RLock()
	rec := ep.c.members[f.From.Name]
	ep.c.mu.RUnlock()
	switch {
	case rec == nil || rec.m.ID() != f.From:
		ep.c.cfg.logger.Warn("a message from a departed member does not decode", "member", ep.shadow.ID(), "from", f.From, "seq", f.Seq, "err", why)
	case rec.wire == nil:
		return &wire.FrameError{Reason: fmt.Sprintf("that a message from %v (seq %d), encoded by the coordinator, does not decode", f.From, f.Seq), Err: why}
	default:
		rec.wire.refused(fmt.Errorf("processgroup: %v sent %w", f.From, &wire.FrameError{
			Reason: fmt.Sprintf("a message for %v (seq %d) that does not decode there", ep.shadow.ID(), f.Seq), Err: why}))
	}
	return nil
}
