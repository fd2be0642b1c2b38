package wire

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/names"
	"github.com/muster-go/muster/managedprocess"
)

// ID implements managedprocess.Member.
func (r *Remote[T]) ID() fence.Identity { return r.id }

// String implements managedprocess.Member.
func (r *Remote[T]) String() string { return r.id.String() }

// Done implements managedprocess.Member.
func (r *Remote[T]) Done() <-chan struct{} { return r.done }

// encode appends msg, encoded, to dst, or returns the error a send gets
// for it.
func (r *Remote[T]) encode(dst []byte, op string, msg T) ([]byte, error) {
	b, err := r.codec.Append(dst, msg)
	if err != nil {
		return nil, fmt.Errorf("wire: %s: %s: the message does not encode: %v: %w", r.id, op, err, fence.ErrInvalidArgument)
	}
	return b, nil
}

// fits refuses f, a publish, if its frame would be longer than the limit.
// It encodes f to measure it only when it might be: a JSON frame holds the
// payload in base64, the group escaped (at most 6 bytes a byte) and less
// than callRoom bytes of the other fields.
func (r *Remote[T]) fits(f *Frame, op string) error {
	if r.limit <= 0 || base64.StdEncoding.EncodedLen(len(f.Body))+6*len(f.Group)+callRoom <= r.limit {
		return nil
	}
	b, err := Encode(f)
	switch {
	case err != nil:
		return fmt.Errorf("wire: %s: %s: %v: %w", r.id, op, err, fence.ErrInvalidArgument)
	case len(b) > r.limit:
		return fmt.Errorf("wire: %s: %s: a message of %d bytes, encoded, does not fit a frame (limit %d bytes): %w",
			r.id, op, len(f.Body), r.limit, fence.ErrInvalidArgument)
	}
	return nil
}

// callRoom bounds the fields of a publish's JSON frame but its payload and
// group: the names and values of op, call, deadline, handler and foreign.
const callRoom = 256

// maxPooled is the largest encoding buffer a send keeps for the next one.
const maxPooled = 64 << 10

// sendMsg encodes msg into a buffer it reuses once the post is queued (send
// keeps nothing of the body) and sends it as send does.
func (r *Remote[T]) sendMsg(ctx context.Context, name string, id fence.Identity, msg T, try bool) error {
	bp := r.spare.Swap(nil) // concurrent sends (the body's, a handler's) may each find none
	if bp == nil {
		bp = new([]byte)
	}
	b, err := r.encode((*bp)[:0], "send", msg)
	if err == nil {
		err = r.send(ctx, name, id, b, try)
	}
	if cap(b) <= maxPooled {
		*bp = b[:0]
		r.spare.Store(bp)
	}
	return err
}

// Send implements managedprocess.Member. It returns once the message is
// on its way: it waits only to resolve a recipient it never sent to, and
// while its window at the recipient is full (see send).
func (r *Remote[T]) Send(ctx context.Context, to string, msg T) error {
	if ctx == nil {
		return r.nilContext("send")
	}
	if to == "" {
		return fmt.Errorf("wire: %s: send to %s: %w", r.id, names.Quote(to), fence.ErrUnknownMember)
	}
	return r.sendMsg(ctx, to, fence.Identity{}, msg, false)
}

// SendTo implements managedprocess.Member, as Send does.
func (r *Remote[T]) SendTo(ctx context.Context, to fence.Identity, msg T) error {
	if ctx == nil {
		return r.nilContext("send")
	}
	return r.sendMsg(ctx, "", to, msg, false)
}

// TrySend implements managedprocess.Member, as Send does, but never waits
// for room.
func (r *Remote[T]) TrySend(to string, msg T) error {
	if to == "" {
		return fmt.Errorf("wire: %s: send to %s: %w", r.id, names.Quote(to), fence.ErrUnknownMember)
	}
	return r.sendMsg(context.Background(), to, fence.Identity{}, msg, true)
}

// Publish implements managedprocess.Member.
func (r *Remote[T]) Publish(ctx context.Context, group string, msg T) error {
	b, err := r.encode(nil, "publish", msg)
	if err != nil {
		return err
	}
	f := &Frame{Op: OpPublish, Group: group, Body: b}
	if err := r.fits(f, "publish"); err != nil {
		return err
	}
	err = errOf(r.callCtx(ctx, "publish", f))
	r.mu.Lock()
	r.links.spend() // the publish used room the links' limits did not count
	r.mu.Unlock()
	return err
}

// Barrier implements managedprocess.Member.
func (r *Remote[T]) Barrier(ctx context.Context, group, name string, mode fence.Mode) (fence.Result, error) {
	reply := r.callCtx(ctx, "barrier", &Frame{Op: OpBarrier, Group: group, Barrier: name, Mode: mode})
	return reply.Result.Decode(), errOf(reply)
}

// Arrive implements managedprocess.Member.
func (r *Remote[T]) Arrive(ctx context.Context, group, name string, mode fence.Mode) (managedprocess.Arrival, error) {
	reply := r.callCtx(ctx, "arrive", &Frame{Op: OpArrive, Group: group, Barrier: name, Mode: mode})
	if err := errOf(reply); err != nil {
		return nil, err
	}
	return &arrival[T]{r: r, id: reply.Arrival, round: reply.Round}, nil
}

// arrival is an Arrival kept by the coordinator's side of the wire.
type arrival[T any] struct {
	r     *Remote[T]
	id    uint64
	round uint64
}

func (a *arrival[T]) Round() uint64 { return a.round }

func (a *arrival[T]) Wait(ctx context.Context) (fence.Result, error) {
	reply := a.r.callCtx(ctx, "wait", &Frame{Op: OpWait, Arrival: a.id})
	return reply.Result.Decode(), errOf(reply)
}

// Join implements managedprocess.Member.
func (r *Remote[T]) Join(group string) error {
	return errOf(r.call(nil, &Frame{Op: OpJoin, Group: group}))
}

// Leave implements managedprocess.Member.
func (r *Remote[T]) Leave(group string) error {
	return errOf(r.call(nil, &Frame{Op: OpLeave, Group: group}))
}

// WaitForDeliveryFence implements managedprocess.Member.
func (r *Remote[T]) WaitForDeliveryFence(ctx context.Context) error {
	return errOf(r.callCtx(ctx, "delivery fence", &Frame{Op: OpLocalFence}))
}

// WaitForOutboundFence implements managedprocess.Member.
func (r *Remote[T]) WaitForOutboundFence(ctx context.Context) error {
	return errOf(r.callCtx(ctx, "outbound fence", &Frame{Op: OpOutboundFence}))
}

// Snapshot implements managedprocess.Member.
func (r *Remote[T]) Snapshot() managedprocess.State {
	reply := r.call(nil, &Frame{Op: OpSnapshot})
	if reply.Call == 0 { // not sent: the connection ended
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.final
	}
	return reply.State.Decode()
}

// Err implements managedprocess.Member.
func (r *Remote[T]) Err() error {
	reply := r.call(nil, &Frame{Op: OpErr})
	if reply.Call == 0 { // not sent: the member is done
		return r.departedErr()
	}
	return errOf(reply)
}

func (r *Remote[T]) departedErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.departed
}

// RunAfterCurrentHandler implements managedprocess.Member: the work runs
// here, on the handler goroutine, before the message is answered handled.
func (r *Remote[T]) RunAfterCurrentHandler(ctx context.Context, fn func()) error {
	if ctx == nil || !r.inHandler(ctx) {
		return fmt.Errorf("wire: %s: run after the current handler: %w", r.id, fence.ErrNotInHandler)
	}
	if fn == nil {
		return fmt.Errorf("wire: %s: run after the current handler: nil function: %w", r.id, fence.ErrInvalidArgument)
	}
	r.post = append(r.post, fn)
	return nil
}

var _ managedprocess.Member[int] = (*Remote[int])(nil)
