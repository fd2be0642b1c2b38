package wire

import (
	"context"
	"errors"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// Error is an error as it crosses: its text, the sentinels it matches (so
// errors.Is answers on the far side as it would here), and the structured
// errors of package fence it holds, field by field.
type Error struct {
	Msg    string      `json:"msg"`
	Is     []int       `json:"is,omitempty"` // indexes into sentinels
	Fence  *FenceError `json:"fence,omitempty"`
	Panic  *Panic      `json:"panic,omitempty"`
	Member *Member     `json:"member,omitempty"`
	Top    bool        `json:"top,omitempty"` // the error is the fence, panic or member error itself
}

// FenceError is a *fence.Error.
type FenceError struct {
	Op       string           `json:"op"`
	Group    string           `json:"group,omitempty"`
	Barrier  string           `json:"barrier,omitempty"`
	Round    uint64           `json:"round,omitempty"`
	Mode     fence.Mode       `json:"mode"`
	Member   fence.Identity   `json:"member"`
	Missing  []fence.Identity `json:"missing,omitempty"`
	Departed []Departure      `json:"departed,omitempty"`
	Lagging  []fence.Lag      `json:"lagging,omitempty"`
	Err      *Error           `json:"err,omitempty"`
}

// Departure is a fence.Departure.
type Departure struct {
	Member fence.Identity `json:"member"`
	Cause  *Error         `json:"cause,omitempty"`
}

// Panic is a *fence.PanicError; its value crosses as its text.
type Panic struct {
	Value string `json:"value"`
	Stack []byte `json:"stack,omitempty"`
}

// Member is a *fence.MemberError.
type Member struct {
	Member fence.Identity `json:"member"`
	Err    *Error         `json:"err,omitempty"`
}

// sentinels returns the errors errors.Is must still match once an error
// crossed.
func sentinels() []error {
	return []error{
		fence.ErrClosed, fence.ErrLeft, fence.ErrExited, fence.ErrCrashed, fence.ErrInvalidName,
		fence.ErrDuplicateName, fence.ErrUnknownMember, fence.ErrUnknownGroup, fence.ErrNotMember,
		fence.ErrBusy, fence.ErrModeMismatch, fence.ErrInHandler, fence.ErrNotInHandler,
		fence.ErrWouldBlock, fence.ErrInvalidMode, fence.ErrInvalidArgument, fence.ErrGoexit,
		context.Canceled, context.DeadlineExceeded,
	}
}

// EncodeError returns err as it crosses; nil for nil.
func EncodeError(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Msg: err.Error()}
	for i, s := range sentinels() {
		if errors.Is(err, s) {
			e.Is = append(e.Is, i)
		}
	}
	var fe *fence.Error
	var pe *fence.PanicError
	var me *fence.MemberError
	switch {
	case errors.As(err, &fe):
		e.Fence, e.Top = encodeFence(fe), err == error(fe)
	case errors.As(err, &me):
		e.Member, e.Top = &Member{Member: me.Member, Err: EncodeError(me.Err)}, err == error(me)
	case errors.As(err, &pe):
		e.Panic, e.Top = EncodePanic(pe.Value, pe.Stack), err == error(pe)
	}
	return e
}

func encodeFence(fe *fence.Error) *FenceError {
	out := &FenceError{Op: fe.Op, Group: fe.Group, Barrier: fe.Barrier, Round: fe.Round, Mode: fe.Mode,
		Member: fe.Member, Missing: fe.Missing, Lagging: fe.Lagging, Err: EncodeError(fe.Err)}
	out.Departed = encodeDepartures(fe.Departed)
	return out
}

func encodeDepartures(ds []fence.Departure) []Departure {
	var out []Departure
	for _, d := range ds {
		out = append(out, Departure{Member: d.Member, Cause: EncodeError(d.Cause)})
	}
	return out
}

func decodeDepartures(ds []Departure) []fence.Departure {
	var out []fence.Departure
	for _, d := range ds {
		out = append(out, fence.Departure{Member: d.Member, Cause: d.Cause.Decode()})
	}
	return out
}

// EncodePanic returns a panic's value and stack as they cross.
func EncodePanic(v any, stack []byte) *Panic { return &Panic{Value: fmt.Sprint(v), Stack: stack} }

// Decode returns the error e describes: the fence, panic or member error
// itself when it was one, else an error with e's text that matches e's
// sentinels and holds its structured errors; nil for nil.
func (e *Error) Decode() error {
	if e == nil {
		return nil
	}
	var structured error
	switch {
	case e.Fence != nil:
		f := e.Fence
		structured = &fence.Error{Op: f.Op, Group: f.Group, Barrier: f.Barrier, Round: f.Round, Mode: f.Mode,
			Member: f.Member, Missing: f.Missing, Departed: decodeDepartures(f.Departed), Lagging: f.Lagging,
			Err: f.Err.Decode()}
	case e.Member != nil:
		structured = &fence.MemberError{Member: e.Member.Member, Err: e.Member.Err.Decode()}
	case e.Panic != nil:
		structured = &fence.PanicError{Value: e.Panic.Value, Stack: e.Panic.Stack}
	}
	if e.Top && structured != nil {
		return structured
	}
	r := &remoteError{msg: e.Msg}
	if structured != nil {
		r.wrapped = append(r.wrapped, structured)
	}
	known := sentinels()
	for _, i := range e.Is {
		if i >= 0 && i < len(known) {
			r.wrapped = append(r.wrapped, known[i])
		}
	}
	return r
}

// remoteError is an error decoded from its text and what it matches.
type remoteError struct {
	msg     string
	wrapped []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.wrapped }
