package fence

import (
	"fmt"
	"strings"
)

// Result describes a released round. Every member of a round receives the
// same Result.
type Result struct {
	Group   string
	Barrier string
	Round   uint64
	Mode    Mode
	// Departed lists members that failed while the round was open (their
	// run function returned an error, panicked or called runtime.Goexit, or
	// a handler crashed). It is empty unless the group completes rounds for
	// survivors: otherwise such a departure fails the round.
	Departed []Departure
	// Left lists members that the round expected and that left gracefully
	// before arriving (their run function returned nil, or they called Member.Leave):
	// the round went on without them, and what they sent before leaving was
	// fenced as if they had arrived. A member that left after arriving is
	// not listed: its arrival stands.
	Left []Identity
}

// String returns a one-line summary such as `workers/phase#3 delivery`,
// followed by who departed and who left, if anyone.
func (r Result) String() string {
	s := fmt.Sprintf("%s/%s#%d %s", r.Group, r.Barrier, r.Round, r.Mode)
	if len(r.Departed) > 0 {
		s += " departed=" + joinDepartures(r.Departed)
	}
	if len(r.Left) > 0 {
		s += fmt.Sprintf(" left=%v", r.Left)
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
