package member

import "github.com/muster-go/muster/fence"

// Released is what the coordinator tells a member whose Barrier call was
// released: the round's number and, only when someone departed or left while
// the round was open, who. The member builds the fence.Result from it and
// the call's own group, barrier name and mode. It is kept two words wide on
// purpose: it crosses several calls, and a Result would be copied at each.
type Released struct {
	Round   uint64
	Changes *Changes // nil when nobody departed or left
}

// Changes lists who departed from or left a round while it was open.
type Changes struct {
	Departed []fence.Departure
	Left     []fence.Identity
}

// Result is the fence.Result of the Barrier call (group, name, mode) that
// was released with rel.
func (rel Released) Result(group, name string, mode fence.Mode) fence.Result {
	res := fence.Result{Group: group, Barrier: name, Round: rel.Round, Mode: mode}
	if c := rel.Changes; c != nil {
		res.Departed, res.Left = c.Departed, c.Left
	}
	return res
}
