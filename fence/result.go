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
	// Departed lists members that left or died while the round was open.
	// It is empty unless the group completes rounds for survivors.
	Departed []Departure
}

// String returns a one-line summary such as `workers/phase#3 delivery`.
func (r Result) String() string {
	s := fmt.Sprintf("%s/%s#%d %s", r.Group, r.Barrier, r.Round, r.Mode)
	if len(r.Departed) > 0 {
		s += " departed=" + joinDepartures(r.Departed)
	}
	return s
}

// Departure says which member left a round and why. Cause wraps one of
// ErrLeft, ErrExited or ErrCrashed.
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
