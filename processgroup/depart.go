package processgroup

import (
	"errors"

	"github.com/muster-go/muster/fence"
)

// depart removes a member from the coordinator and its groups, settles the
// open rounds it belonged to — gracefully (managedprocess.Member.Leave's rules) or as a
// failure with cause — and stops its inbox with cause: a member that exited
// handles what is queued; one that crashed or was closed drops it. It is
// idempotent (only the first call settles rounds) and never waits for the
// member's goroutines.
func (c *Coordinator[T]) depart(rec *memberRecord[T], cause error, graceful bool) {
	c.mu.Lock()
	if c.members[rec.m.ID().Name] == rec {
		delete(c.members, rec.m.ID().Name)
	}
	groups := make([]*Group[T], 0, len(rec.groups))
	for g := range rec.groups {
		groups = append(groups, g)
	}
	clear(rec.groups)
	c.mu.Unlock()

	for _, g := range groups {
		if graceful {
			g.leave(rec.m)
		} else {
			g.remove(rec.m, cause)
		}
	}
	c.revokeLinksTo(rec.m.ID()) // before Stop: a post read before it is queued, one after is dropped
	rec.m.Stop(cause, dropsQueued(cause))
	if len(groups) > 0 {
		c.cfg.logger.Info("member departed", "member", rec.m.ID(), "cause", cause)
	}
}

// dropsQueued reports whether a member departing with cause drops what is
// queued for it instead of handling it: it crashed, or the coordinator
// closed. An exit is not a crash even when the error its run function
// returned wraps another member's crash.
func dropsQueued(cause error) bool {
	if errors.Is(cause, fence.ErrExited) {
		return false
	}
	return errors.Is(cause, fence.ErrCrashed) || errors.Is(cause, fence.ErrClosed)
}

// revokeLinksTo tells every member behind a wire that holds credit on a
// link to id, which departed, that the link is gone: its sends resolve the
// recipient again, and fail as a send to a departed member does.
func (c *Coordinator[T]) revokeLinksTo(id fence.Identity) {
	for ep := range c.holders.take(id.ID) {
		ep.revokeRecipient(id.ID)
	}
}
