package processgroup

import (
	"context"
	"fmt"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/watcher"
)

// Coordinator is the embedded runtime: it spawns members, holds the groups
// and their rounds, and runs the progress watcher. Its methods are safe for
// concurrent use. A Coordinator must not be copied after first use.
type Coordinator[T any] struct {
	cfg      config
	codec    managedprocess.Codec[T] // for members behind wires (see WithCodec)
	codecErr error                   // why cfg's codec is not one for T
	ctx      context.Context         // the coordinator's lifetime; cancelled by Close with cause fence.ErrClosed
	cancel   context.CancelCauseFunc
	watcher  *watcher.Watcher[*drain[T]]
	// drainBuf is onDrained's buffer for the targets it returns; only the
	// watcher's goroutine touches it.
	drainBuf []watcher.Target
	running  sync.WaitGroup // one per member supervisor goroutine
	exits    exitLog        // members with a run function still running, and failures

	mu      sync.RWMutex
	closed  bool
	nextID  uint64
	members map[string]*memberRecord[T]
	groups  map[string]*Group[T]
	// groupIndex is groups for lookups without the lock: a sync.Map of
	// name to *Group[T], written with groups (groups are never removed).
	groupIndex sync.Map

	closeOnce sync.Once
	closeDone chan struct{}

	// Child processes (see SpawnProcess): forks feeds the goroutine that
	// starts them (nil until the first), procs counts those not yet reaped,
	// outMu serializes their output to the writers their specs give.
	forks chan forkRequest
	procs sync.WaitGroup
	outMu sync.Mutex

	// holders are the members behind wires holding credit on links to
	// each member, to revoke when it departs.
	holders holders[T]
}

// memberRecord is the coordinator's view of one running member.
type memberRecord[T any] struct {
	m      *member.Member[T]
	port   *port[T] // how m reaches the coordinator
	cancel context.CancelCauseFunc
	groups map[*Group[T]]struct{} // guarded by the coordinator's mu
	wire   *wireEnd[T]            // the member is behind a loopback wire; nil if not
}

// New returns a running coordinator. Close it to stop its goroutines.
func New[T any](opts ...Option) *Coordinator[T] {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Coordinator[T]{
		cfg:       newConfig(opts),
		ctx:       ctx,
		cancel:    cancel,
		members:   make(map[string]*memberRecord[T]),
		groups:    make(map[string]*Group[T]),
		closeDone: make(chan struct{}),
	}
	c.codec, c.codecErr = codecFor[T](c.cfg)
	c.watcher = watcher.Start(c.onDrained)
	return c
}

// errClosed returns fence.ErrClosed wrapped for op.
func errClosed(op string) error { return fmt.Errorf("processgroup: %s: %w", op, fence.ErrClosed) }
