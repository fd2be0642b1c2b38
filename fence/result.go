package fence

import (
	"fmt"
	"slices"
	"strings"
)

// Result describes a released round: its number, and who departed or left
// while it was open. Every member of a round receives the same Result. It
// carries only what the caller did not know: the group, barrier name and
// mode are the ones it passed. A Result is two words wide, so returning it
// costs nothing; compare Results by Round and by what Departed and Left
// return, not with ==.
type Result struct {
	// Round is the round's number, strictly increasing per (group, barrier
	// name).
	Round   uint64
	changes *changes // nil unless someone departed or left
}

type changes struct {
	departed []Departure
	left     []Identity
}

// NewResult returns the Result of round, with who departed from it and who
// left it (see Result.Departed and Result.Left). It keeps its own copies.
func NewResult(round uint64, departed []Departure, left []Identity) Result {
	r := Result{Round: round}
	if len(departed) > 0 || len(left) > 0 {
		r.changes = &changes{departed: slices.Clone(departed), left: slices.Clone(left)}
	}
	return r
}

// Departed returns a copy of the list of members that failed while the round
// was open (their run function returned an error, panicked or called
// runtime.Goexit, or a handler crashed). It is empty unless the group
// completes rounds for survivors: otherwise such a departure fails the round.
func (r Result) Departed() []Departure {
	if r.changes == nil {
		return nil
	}
	return slices.Clone(r.changes.departed)
}

// Left returns a copy of the list of members that the round expected and that
// left gracefully before arriving (their run function returned nil, or they
// called Member.Leave): the round went on without them, and what they sent
// before leaving was fenced as if they had arrived. A member that left after
// arriving is not listed: its arrival stands.
func (r Result) Left() []Identity {
	if r.changes == nil {
		return nil
	}
	return slices.Clone(r.changes.left)
}

// String returns a one-line summary such as `round 3`, followed by who
// departed and who left, if anyone.
func (r Result) String() string {
	s := fmt.Sprintf("round %d", r.Round)
	if c := r.changes; c != nil && len(c.departed) > 0 {
		s += " departed=" + joinDepartures(c.departed)
	}
	if c := r.changes; c != nil && len(c.left) > 0 {
		s += fmt.Sprintf(" left=%v", c.left)
	}
	return s
}

// Departure says which member failed while a round was open and why. Cause
// wraps ErrExited (with the run function's error) or ErrCrashed.
type Departure struct {
	Member Identity
	Cause  error
}

// String returns "member: cause".
func (d Departure) String() string { return fmt.Sprintf("%s: %v", d.Member, d.Cause) }

func joinDepartures(ds []Departure) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, "; ") + "]"
}
