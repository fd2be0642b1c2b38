package processgroup

import (
	"context"

	"github.com/muster-go/muster/managedprocess"
)

// RunFunc is a member's body. It runs on its own goroutine; ctx is cancelled
// when the coordinator closes or the member crashes, with the reason as its
// cause. When RunFunc returns the member departs, and its reader handles the
// messages already queued (with the handlers' context cancelled), then
// stops. Returning nil is graceful: the member leaves its groups as by
// Member.Leave, so rounds it had not arrived at go on without it, and what it
// sent stays fenced. Returning an error is a failure: the open rounds that
// expect the member fail (or complete for the survivors) with
// fence.ErrExited wrapping the error, and Coordinator.Wait reports it. Once
// ctx ended (a close or a crash), what RunFunc returns is ignored.
type RunFunc[T any] func(ctx context.Context, m managedprocess.Member[T]) error

// Spec describes a member to spawn. Zero fields take the documented defaults.
type Spec[T any] struct {
	// Name is unique among running members; required.
	Name string
	// Groups are joined before the member starts, atomically with its start,
	// as by Member.Join: the member is expected in every round of those
	// groups that is still arriving. They must exist.
	Groups []string
	// Run is the member's body. Nil means the member only handles messages
	// and runs until the coordinator closes.
	Run RunFunc[T]
	// Handler handles incoming messages; nil consumes them unhandled.
	Handler managedprocess.Handler[T]
	// Window bounds, for each sender, the messages it may have queued at
	// this member that its handler has not finished with: a send outside a
	// handler that would exceed it waits for room (see managedprocess).
	// Each sender has its own window, so one sender's backlog never takes
	// another's room. 0 takes the coordinator's default (WithWindow,
	// DefaultWindow); negative is refused by Spawn.
	Window int
}
