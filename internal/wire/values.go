package wire

import (
	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Result is a fence.Result.
type Result struct {
	Round    uint64           `json:"round"`
	Departed []Departure      `json:"departed,omitempty"`
	Left     []fence.Identity `json:"left,omitempty"`
}

// EncodeResult returns r as it crosses.
func EncodeResult(r fence.Result) *Result {
	return &Result{Round: r.Round, Departed: encodeDepartures(r.Departed()), Left: r.Left()}
}

// Decode returns the result r describes; the zero Result for nil.
func (r *Result) Decode() fence.Result {
	if r == nil {
		return fence.Result{}
	}
	return fence.NewResult(r.Round, decodeDepartures(r.Departed), r.Left)
}

// State is a managedprocess.State.
type State struct {
	ID       fence.Identity               `json:"id"`
	Leading  uint64                       `json:"leading"`
	Streams  []managedprocess.StreamState `json:"streams,omitempty"`
	Queued   int                          `json:"queued"`
	Handling *managedprocess.Handling     `json:"handling,omitempty"`
	Waiting  []managedprocess.WaitingSend `json:"waiting,omitempty"`
	Handled  uint64                       `json:"handled"`
	Dropped  uint64                       `json:"dropped"`
	Err      *Error                       `json:"err,omitempty"`
}

// EncodeState returns s as it crosses.
func EncodeState(s managedprocess.State) *State {
	return &State{ID: s.ID, Leading: s.Leading, Streams: s.Streams, Queued: s.Queued, Handling: s.Handling,
		Waiting: s.Waiting, Handled: s.Handled, Dropped: s.Dropped, Err: EncodeError(s.Err)}
}

// Decode returns the state s describes.
func (s *State) Decode() managedprocess.State {
	if s == nil {
		return managedprocess.State{}
	}
	return managedprocess.State{ID: s.ID, Leading: s.Leading, Streams: s.Streams, Queued: s.Queued,
		Handling: s.Handling, Waiting: s.Waiting, Handled: s.Handled, Dropped: s.Dropped, Err: s.Err.Decode()}
}
