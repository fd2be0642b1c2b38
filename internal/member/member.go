package member

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// Coordinator is what a member reaches its coordinator for: resolving
// recipients, barriers and membership, and watching progress. processgroup
// implements it; it must be safe for concurrent use.
type Coordinator[T any] interface {
	// Lookup returns the running member called name, or an error wrapping
	// fence.ErrUnknownMember.
	Lookup(name string) (*Member[T], error)
	// Resolve returns the running member with identity id, or an error
	// wrapping fence.ErrUnknownMember.
	Resolve(id fence.Identity) (*Member[T], error)
	// GroupMembers appends the members of group to dst, or returns an error
	// wrapping fence.ErrUnknownGroup.
	GroupMembers(group string, dst []*Member[T]) ([]*Member[T], error)
	// Arrive, Barrier, Join and Leave are the member's calls of the same
	// names, made by m.
	Arrive(ctx context.Context, m *Member[T], group, name string, mode fence.Mode) (managedprocess.Arrival, error)
	Barrier(ctx context.Context, m *Member[T], group, name string, mode fence.Mode) (fence.Result, error)
	Join(m *Member[T], group string) error
	Leave(m *Member[T], group string) error
	// AwaitTargets blocks until every target is met or ctx ends (then it
	// returns the context's error); it backs WaitForOutboundFence.
	AwaitTargets(ctx context.Context, targets []Target) error
	// Notify receives a delivery-progress crossing: a counter whose armed
	// threshold a reader just reached. It must never block.
	Notify(watcher.Counter)
}

// Config configures a member. Zero fields take the documented defaults.
type Config[T any] struct {
	ID          fence.Identity
	Handler     managedprocess.Handler[T] // nil: messages are consumed unhandled
	Coordinator Coordinator[T]            // required for everything but the local fence
	// Window bounds the messages each sender may have queued at this member
	// and not yet consumed (handler sends are exempt); 0 means
	// DefaultWindow.
	Window int
	// OnCrash is called once, on the reader goroutine, when the handler or its
	// post-handler work panics (cause is a *fence.PanicError) or calls
	// runtime.Goexit (fence.ErrGoexit). It must not block.
	OnCrash func(m *Member[T], cause error)
	// Forward, if set, makes the member's far side handle its messages
	// instead of Handler: the reader forwards each one, and the far side
	// reports what it handled with Acknowledge (see forwarded).
	Forward Forward[T]
	// Arm, with Forward, asks the far side for an early progress report.
	Arm Arm
	// Encode, with Forward, encodes a message sent to the member (by from)
	// as a run of one, as its far side receives it; given the run another
	// member's Encode made of msg (every far side takes the same
	// encoding), it only checks that the far side can take it, and returns
	// it. A send or publish to the member calls it on the sender's
	// goroutine, before it queues anything, and fails with its error; the
	// reader forwards the run. A publish encodes once.
	Encode func(from fence.Identity, msg T, encoded *Run) (*Run, error)
}

// Member is one participant: its stream, its inbox and its reader. Its
// methods are safe for concurrent use unless they say otherwise. A Member
// must not be copied after first use.
type Member[T any] struct {
	id      fence.Identity
	handler managedprocess.Handler[T]
	coord   Coordinator[T]
	lastTo  atomic.Pointer[Member[T]] // the recipient SendTo resolved last
	onCrash func(*Member[T], error)
	inbox   *inbox[T]
	in      inbound[T] // the links to m, by their senders' streams
	out     stream[T]
	post    []func() // post-handler work; touched only by the reader goroutine
	forward Forward[T]
	fwd     *forwarded[T] // with forward: what the far side has not acknowledged
	encode  func(from fence.Identity, msg T, encoded *Run) (*Run, error)
	done    chan struct{}
	stats   counters[T]
	waiting waitingSends
	startMu sync.Mutex
	started bool
	runCtx  context.Context // Start's ctx; set before anything can call m
}

// New returns a member that accepts messages but handles none until Start.
func New[T any](cfg Config[T]) *Member[T] {
	window := cfg.Window
	if window <= 0 {
		window = DefaultWindow
	}
	m := &Member[T]{
		id:      cfg.ID,
		out:     stream[T]{owner: cfg.ID},
		handler: cfg.Handler,
		coord:   cfg.Coordinator,
		onCrash: cfg.OnCrash,
		inbox:   newInbox[T](window),
		done:    make(chan struct{}),
	}
	if cfg.Forward != nil {
		m.forward, m.fwd, m.encode = cfg.Forward, &forwarded[T]{arm: cfg.Arm}, cfg.Encode
	}
	return m
}

// ID returns the member's identity.
func (m *Member[T]) ID() fence.Identity { return m.id }

// String returns the member's identity.
func (m *Member[T]) String() string { return m.id.String() }

// Start starts the reader goroutine. Handlers receive a context derived from
// ctx; when ctx ends, the reader consumes what is queued without handling it
// and exits. Calling Start more than once is a no-op.
func (m *Member[T]) Start(ctx context.Context) {
	m.startMu.Lock()
	defer m.startMu.Unlock()
	if m.started {
		return
	}
	m.started = true
	m.runCtx = ctx
	hctx := context.WithValue(ctx, handlerKey{}, m)
	go m.read(hctx)
}

// Stop refuses further messages to m, and every later send of m, with cause
// (which should wrap fence.ErrExited, fence.ErrCrashed or fence.ErrClosed),
// and lets the reader handle what is queued, then exit. If drop is true the
// queued messages are consumed unhandled instead. Stop does not wait; Done is
// closed when the reader has exited. Calling Stop again can turn a stop into
// a drop, never the reverse.
//
// The coordinator calls Stop when a member departs; a member spawned by
// processgroup leaves by returning from its run function instead.
func (m *Member[T]) Stop(cause error, drop bool) {
	mode := modeStop
	if drop {
		mode = modeDrop
	}
	m.out.refuse(cause)
	m.inbox.close(cause, mode)
}

// Done is closed when the reader goroutine has exited (and, for a member
// with a far side, once the far side acknowledged, or was abandoned with,
// everything forwarded).
func (m *Member[T]) Done() <-chan struct{} { return m.done }

// Err returns the error sends to this member get, or nil while it runs.
func (m *Member[T]) Err() error {
	return m.inbox.err()
}

// PendingTargets appends to dst the drain targets of m's stream: for every
// recipient that has not consumed everything m sent it, the link sequence of
// the last message m addressed to it. It never waits for progress. Only m's
// own calls are sure to see its sends: a send m has not returned from, or one
// made on another goroutine without synchronisation, may be missing.
func (m *Member[T]) PendingTargets(dst []Target) []Target { return m.out.pending(dst) }

func (m *Member[T]) errorf(format string, args ...any) error {
	return fmt.Errorf("managedprocess: %s: "+format, append([]any{m.id}, args...)...)
}
