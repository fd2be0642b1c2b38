package processgroup

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// wireEnd is the coordinator's side of a member behind a wire. The
// coordinator holds the member as a shadow: a goroutine member like any other,
// whose handler forwards each message to the member side and returns once
// that side answered it handled (so the shadow's progress counts what the
// remote handler finished). Every call of the member side is served on a
// goroutine of its own with the shadow's methods, so a call blocks, is
// cancelled and fails exactly as the member's own call would in process;
// the reply is the call's only effect on the member side.
type wireEnd[T any] struct {
	c       *Coordinator[T]
	shadow  *member.Member[T]
	remote  *wire.Remote[T]
	toFar   wire.Sender
	fromFar wire.Sender
	answers chan *wire.Frame // handled or crashed, for forward
	exits   chan *wire.Frame // the body's exit, for runFar

	mu       sync.Mutex
	calls    map[uint64]context.CancelCauseFunc
	arrivals map[uint64]managedprocess.Arrival
	closing  bool           // close began: calls are refused, not served
	serving  sync.WaitGroup // calls being served; added to under mu while !closing
}

// newWireEnd connects a member side for spec's handler and run function,
// through a pair of Pipes, or of SocketPipes with socket. The shadow is set
// by the caller before anything is delivered.
func newWireEnd[T any](c *Coordinator[T], id fence.Identity, spec Spec[T], socket bool) (*wireEnd[T], error) {
	ep := &wireEnd[T]{c: c, answers: make(chan *wire.Frame, 1), exits: make(chan *wire.Frame, 1),
		calls: make(map[uint64]context.CancelCauseFunc), arrivals: make(map[uint64]managedprocess.Arrival)}
	var remote *wire.Remote[T]
	toRemote := func(f *wire.Frame) { remote.Receive(f) }
	if !socket {
		ep.fromFar, ep.toFar = wire.NewPipe(ep.receive), wire.NewPipe(toRemote)
	} else {
		bad := func(err error) { panic(fmt.Sprintf("processgroup: loopback socket of %v: %v", id, err)) } // a bug: both ends are ours
		from, to, err := wire.NewSocketPipes(ep.receive, toRemote, 0, bad)
		if err != nil {
			return nil, err
		}
		ep.fromFar, ep.toFar = from, to
	}
	remote = wire.NewRemote(id, ep.fromFar, spec.Handler, spec.Run)
	ep.remote = remote
	return ep, nil
}

// start ties the member side's lifetime to the shadow's: its context ends
// with mctx's cause, and its Done closes with the shadow's.
func (ep *wireEnd[T]) start(mctx context.Context) {
	context.AfterFunc(mctx, func() {
		ep.toFar.Send(&wire.Frame{Op: wire.OpDepart, Err: wire.EncodeError(context.Cause(mctx))})
	})
	go func() {
		<-ep.shadow.Done()
		ep.toFar.Send(&wire.Frame{Op: wire.OpDone})
	}()
}

// close ends the connection once the coordinator closed: the calls still
// being served end (their contexts are cancelled with fence.ErrClosed; a
// round they wait on has already failed, and that failure is their reply),
// their replies go out, and the member side's calls fail with
// fence.ErrClosed from then on.
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
	ep.toFar.Close()
	ep.fromFar.Close()
	ep.remote.Wait()
}

// receive takes one frame from the member side, on its pipe's goroutine.
func (ep *wireEnd[T]) receive(f *wire.Frame) {
	switch f.Op {
	case wire.OpHandled, wire.OpCrashed:
		ep.answers <- f
	case wire.OpExit:
		ep.exits <- f
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
	reply.Err = wire.EncodeError(err)
	ep.mu.Lock()
	delete(ep.calls, f.Call)
	ep.mu.Unlock()
	stop()
	ep.toFar.Send(reply)
	ep.serving.Done()
}

// apply makes the call f describes as the shadow, filling reply's result.
func (ep *wireEnd[T]) apply(ctx context.Context, f *wire.Frame, reply *wire.Frame) error {
	m := ep.shadow
	switch f.Op {
	case wire.OpSend, wire.OpTrySend, wire.OpPublish:
		return ep.send(ctx, f)
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

// send is a send, try-send or publish of the shadow.
func (ep *wireEnd[T]) send(ctx context.Context, f *wire.Frame) error {
	var body T
	if err := json.Unmarshal(f.Body, &body); err != nil {
		return fmt.Errorf("processgroup: %v: a message that does not decode: %v: %w", ep.shadow.ID(), err, fence.ErrInvalidArgument)
	}
	m := ep.shadow
	switch {
	case f.Op == wire.OpPublish:
		return m.Publish(ctx, f.Group, body)
	case f.Op == wire.OpTrySend:
		return m.TrySend(f.Name, body)
	case f.To != nil:
		return m.SendTo(ctx, *f.To, body)
	}
	return m.Send(ctx, f.Name, body)
}

// keep records an arrival for the member side's later waits.
func (ep *wireEnd[T]) keep(a managedprocess.Arrival) uint64 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	id := uint64(len(ep.arrivals) + 1)
	ep.arrivals[id] = a
	return id
}

// forward is the shadow's handler: it delivers msg to the member side and
// waits for its answer, whatever ctx does (the remote handler runs to its
// end, as a handler in process does). A remote panic or Goexit crashes the
// shadow the same way.
func (ep *wireEnd[T]) forward(_ context.Context, msg managedprocess.Message[T]) {
	body, err := json.Marshal(msg.Body)
	if err != nil {
		panic(fmt.Sprintf("processgroup: a message from %v does not encode for the wire: %v", msg.From, err))
	}
	ep.toFar.Send(&wire.Frame{Op: wire.OpDeliver, From: msg.From, Seq: msg.Seq, Body: body})
	answer := <-ep.answers
	switch {
	case answer.Op == wire.OpHandled:
	case answer.Goexit:
		runtime.Goexit()
	default:
		panic(answer.Panic.Value)
	}
}

// runFar is the shadow's run function: it starts the member side's body and
// returns how that ended, after the member side saw its context end if the
// shadow's did.
func (ep *wireEnd[T]) runFar(ctx context.Context, _ managedprocess.Member[T]) error {
	ep.toFar.Send(&wire.Frame{Op: wire.OpStart})
	exit := <-ep.exits
	switch {
	case exit.Goexit:
		runtime.Goexit()
	case exit.Panic != nil:
		panic(exit.Panic.Value)
	}
	return exit.Err.Decode()
}
