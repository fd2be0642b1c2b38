package managedprocess

import (
	"context"

	"github.com/muster-go/muster/fence"
)

// Member is one participant of a muster process group, as its own code sees
// it: a member's run function and its handlers make every call through these
// methods, taking group and barrier names, so the same member code runs
// unchanged wherever the member runs. The coordinator that spawned the member
// implements it; user code does not (methods may be added).
//
// The methods act as the member: whoever holds a Member sends in its stream
// and arrives at barriers on its behalf. Hand it to other goroutines only
// when they should act as the member. Every method is safe for concurrent
// use.
type Member[T any] interface {
	// ID returns the member's identity.
	ID() fence.Identity

	// Send queues msg for the member called to, as the next message of this
	// member's stream.
	//
	// While this member already has as many unhandled messages queued at the
	// recipient as its window allows (see the package documentation), Send
	// blocks until the recipient handles one or ctx ends; then it returns the
	// context's cause and nothing was sent. Sends made with a handler's
	// context are exempt from the window and never block. A nil return means
	// the message will be handled (or, if the recipient crashes first,
	// consumed and counted as dropped): it is never silently lost.
	//
	// Errors: the recipient is unknown or departed (fence.ErrUnknownMember,
	// or its departure cause); this member departed (its departure cause,
	// such as fence.ErrExited, fence.ErrCrashed or fence.ErrClosed); ctx is
	// nil (fence.ErrInvalidArgument). Nothing is sent then.
	Send(ctx context.Context, to string, msg T) error

	// SendTo is Send to the member with identity to. A recipient whose name
	// now belongs to a later member is departed: SendTo fails rather than
	// reach the new one.
	SendTo(ctx context.Context, to fence.Identity, msg T) error

	// TrySend is Send that never blocks: when the window to the recipient
	// is full it returns an error wrapping fence.ErrWouldBlock and sends
	// nothing.
	TrySend(to string, msg T) error

	// Publish queues msg, as one message of this member's stream, for every
	// other member of group: all of them or, while the window to any of them
	// is full, none of them. It blocks like Send until every window has room
	// (a handler's publish is exempt and never blocks) or ctx ends; then it
	// returns the context's cause and nothing was sent. A member that departs
	// while the message is being published is skipped. Errors are Send's, and
	// an unknown group (fence.ErrUnknownGroup).
	Publish(ctx context.Context, group string, msg T) error

	// Barrier is Arrive followed by Arrival.Wait: the member arrives at the
	// current round of the barrier called name of group and blocks until that
	// round is released. It returns the round's Result, or a *fence.Error
	// that wraps the cause:
	//
	//   - ctx ended: the context's error, with who had not arrived and which
	//     streams lagged behind which targets. The arrival still stands and
	//     the others' round still completes. The member's next Barrier (or
	//     Arrive) for name attaches to that arrival instead of arriving
	//     again, and returns its round's outcome, at once if the round
	//     already finished: retrying after a timeout never skips a round.
	//   - a member the round expected failed while it was open: its cause
	//     (fence.ErrExited wrapping its run function's error,
	//     fence.ErrCrashed), unless the group completes rounds for
	//     survivors. A member that left gracefully fails nothing.
	//   - fence.ErrClosed: the coordinator closed.
	//   - refused before arriving, leaving everything unchanged:
	//     fence.ErrInvalidName, fence.ErrInvalidMode,
	//     fence.ErrInvalidArgument (a nil ctx), fence.ErrUnknownGroup,
	//     fence.ErrNotMember, the member's departure cause, fence.ErrBusy (a
	//     call of this member for this name is in progress: a Barrier or
	//     Wait waits on its arrival, or an Arrival owns it),
	//     fence.ErrModeMismatch (the round's first arrival chose another
	//     mode), fence.ErrInHandler (ctx is a handler's context: waiting
	//     there could only deadlock the reader).
	Barrier(ctx context.Context, group, name string, mode fence.Mode) (fence.Result, error)

	// Arrive records the member's arrival at the current round of the
	// barrier called name of group and returns at once, with the messages
	// the member sent before the call as its part of the round's drain
	// (see fence.Mode). The arrival is irrevocable. Errors are those Barrier
	// refuses with before arriving.
	Arrive(ctx context.Context, group, name string, mode fence.Mode) (Arrival, error)

	// Join makes this member a member of group: it is expected in every
	// round of the group that is still arriving. Joining twice is a no-op.
	// Errors wrap fence.ErrUnknownGroup, fence.ErrClosed or this member's
	// departure cause.
	Join(group string) error

	// Leave removes this member from group gracefully: rounds it had not
	// arrived at go on without it, and what it sent before leaving stays
	// fenced. Leaving a group it is not a member of is refused with
	// fence.ErrNotMember; an unknown group with fence.ErrUnknownGroup.
	Leave(group string) error

	// RunAfterCurrentHandler schedules fn to run after the current handler
	// returns and before its message counts as handled. ctx must be the
	// handler's context and the call must be made on the handler's
	// goroutine; otherwise it returns an error wrapping
	// fence.ErrNotInHandler. A panic in fn crashes the member like a panic
	// in the handler.
	RunAfterCurrentHandler(ctx context.Context, fn func()) error

	// WaitForDeliveryFence blocks until every message queued for this
	// member before the call has been handled (a local fence). It returns
	// the context's cause if ctx ends first, fence.ErrInHandler (wrapped)
	// when called from the member's handler, and the member's departure
	// cause if the messages were dropped instead of handled.
	WaitForDeliveryFence(ctx context.Context) error

	// WaitForOutboundFence blocks until every message this member sent
	// before the call has been handled by its recipients (the handler and
	// its post-handler work returned, or the message was consumed on
	// another path): the producer's side of a fence, for which recipients
	// call nothing. It returns nil at once when nothing it sent is
	// unhandled. Messages sent during the call are not waited for.
	//
	// If ctx ends first it returns a *fence.Error wrapping the context's
	// error that lists the streams lagging behind their targets. It refuses
	// with fence.ErrInHandler when called from a handler,
	// fence.ErrInvalidArgument for a nil ctx, and the member's departure
	// cause once it departed.
	WaitForOutboundFence(ctx context.Context) error

	// Snapshot returns the member's current state, for debugging. It never
	// waits for progress.
	Snapshot() State

	// Done is closed when the member has departed and its reader has
	// consumed everything queued for it.
	Done() <-chan struct{}

	// Err returns the member's departure cause (the error sends to it get),
	// or nil while it runs.
	Err() error

	// String returns the member's identity.
	String() string
}

// Arrival is a member's arrival at one round of a barrier.
type Arrival interface {
	// Round returns the round's number, strictly increasing per (group,
	// barrier name): 1, 2, 3, … unless the group freed idle names.
	Round() uint64
	// Wait blocks until the round is released and returns what Barrier
	// would. Once the round finished, Wait returns its outcome again at
	// once; after ctx ended, a later Wait may still collect it. A second
	// Wait while one is in progress returns an error wrapping
	// fence.ErrBusy.
	Wait(ctx context.Context) (fence.Result, error)
}
