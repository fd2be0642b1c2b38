package fence

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/muster-go/muster/internal/names"
)

// Sentinel errors. Every error muster returns wraps one of these (or a
// context error), so callers test with errors.Is.
var (
	// ErrClosed: the coordinator was closed; every waiter is released with it
	// and every later call returns it.
	ErrClosed = errors.New("muster: closed")
	// ErrLeft was the cause of a Leave while a round was open.
	//
	// Deprecated: leaving a group is graceful (the round goes on without the
	// member and lists it in Result.Left) and muster no longer returns
	// ErrLeft. It is kept so that code testing for it still compiles.
	ErrLeft = errors.New("muster: member left")
	// ErrExited: a member's run function returned. It is the member's
	// departure cause, which every later call on the member reports. When
	// run returned nil the exit is graceful and fails nothing: the member's
	// open rounds go on without it (Result.Left). When run returned an error
	// the cause wraps both ErrExited and that error: a failure, which fails
	// the rounds that expected the member (unless the group completes
	// rounds for survivors) and which Coordinator.Wait reports.
	ErrExited = errors.New("muster: member exited")
	// ErrCrashed: a member's run function or handler panicked (or called
	// runtime.Goexit): a failure, like an exit with an error.
	ErrCrashed = errors.New("muster: member crashed")
	// ErrInvalidName: an empty or reserved group, barrier or member name.
	ErrInvalidName = errors.New("muster: invalid name")
	// ErrDuplicateName: a member with that name already runs.
	ErrDuplicateName = errors.New("muster: duplicate member name")
	// ErrUnknownMember: a send to a name no running member has.
	ErrUnknownMember = errors.New("muster: unknown member")
	// ErrUnknownGroup: a group name the coordinator does not know.
	ErrUnknownGroup = errors.New("muster: unknown group")
	// ErrNotMember: the caller is not a member of the group.
	ErrNotMember = errors.New("muster: not a member of the group")
	// ErrBusy: the member already has a call open in this round.
	ErrBusy = errors.New("muster: call already in progress for this round")
	// ErrModeMismatch: the round was opened with another mode.
	ErrModeMismatch = errors.New("muster: barrier mode mismatch")
	// ErrInHandler: a blocking call made from inside a message handler, where
	// it could only deadlock the member's reader.
	ErrInHandler = errors.New("muster: called from inside a handler")
	// ErrNotInHandler: a call that only makes sense inside a handler.
	ErrNotInHandler = errors.New("muster: not called from inside a handler")
	// ErrWouldBlock: a non-blocking send found its window at the recipient full.
	ErrWouldBlock = errors.New("muster: window full, send would block")
	// ErrInvalidMode: a Mode value outside the declared ones.
	ErrInvalidMode = errors.New("muster: invalid barrier mode")
	// ErrInvalidArgument: a nil context, a nil member, a negative capacity.
	ErrInvalidArgument = errors.New("muster: invalid argument")
	// ErrGoexit: a member's run function or handler called runtime.Goexit
	// (as t.FailNow does) instead of returning or panicking. It wraps
	// ErrCrashed: the member crashed.
	ErrGoexit = fmt.Errorf("%w: runtime.Goexit called", ErrCrashed)
)

// PanicError is the cause of a crash: a panic in a member's run function or
// handler. It wraps ErrCrashed.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("muster: member crashed: panic: %v", e.Value) }

// Unwrap returns ErrCrashed.
func (e *PanicError) Unwrap() error { return ErrCrashed }

// MemberError is one member's failure as Coordinator.Wait and Close report
// it: Err wraps ErrExited and the error its run function returned, or
// ErrCrashed (a *PanicError, or ErrGoexit), from its run function or one of
// its handlers. Unwrap returns Err.
type MemberError struct {
	Member Identity
	Err    error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("muster: member %s failed: %v", e.Member, e.Err)
}

// Unwrap returns the member's failure.
func (e *MemberError) Unwrap() error { return e.Err }

// Error is the diagnosis of a barrier call that did not return a Result: which
// round, who had not arrived, who departed and why, which streams lagged
// behind their targets, and the cause (a sentinel above, a departure's cause or
// the caller's context error), which Unwrap returns.
type Error struct {
	Op       string // "barrier", "arrive", "wait", or "outbound fence" (no group, barrier or round)
	Group    string
	Barrier  string
	Round    uint64 // 0 when the call was refused before joining a round
	Mode     Mode
	Member   Identity // the caller
	Missing  []Identity
	Departed []Departure
	Lagging  []Lag
	Err      error
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the cause was a deadline.
func (e *Error) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "muster: %s", e.Op)
	if e.Group != "" || e.Barrier != "" {
		fmt.Fprintf(&b, " %s/%s", names.Short(e.Group), names.Short(e.Barrier))
		if e.Round > 0 {
			fmt.Fprintf(&b, "#%d", e.Round)
		}
		fmt.Fprintf(&b, " (%s)", e.Mode)
	}
	fmt.Fprintf(&b, " by %s: %v", e.Member, e.Err)
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "; not arrived: %v", e.Missing)
	}
	if len(e.Departed) > 0 {
		fmt.Fprintf(&b, "; departed: %s", joinDepartures(e.Departed))
	}
	if len(e.Lagging) > 0 {
		fmt.Fprintf(&b, "; lagging: %v", e.Lagging)
	}
	return b.String()
}

// ContextError returns ctx's error, keeping a cancellation cause that differs
// from it: errors.Is works for both context.Canceled (or DeadlineExceeded)
// and the cause. It returns nil while ctx is live.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
