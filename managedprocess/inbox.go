package managedprocess

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
)

// readerMode says what the reader does with queued messages.
type readerMode uint8

const (
	modeRun  readerMode = iota // handle messages
	modeStop                   // handle what is queued, then exit
	modeDrop                   // consume what is queued without handling, then exit
)

// entry is one queued item: a message, or a local fence marker (a link
// whose marker is set).
type entry[T any] struct {
	link *link[T]
	seq  uint64
	body T
}

// marker is a local delivery fence: it is reached once everything queued
// before it was consumed. err is set before done is closed when the messages
// before it were dropped rather than handled.
type marker struct {
	done chan struct{}
	err  error
}

// inbox is a member's bounded FIFO of incoming messages. Senders append under
// mu; the reader swaps the whole queue out at once, so a batch costs it one
// lock. It must not be copied after first use.
type inbox[T any] struct {
	mu       sync.Mutex
	items    []entry[T]
	capacity int
	sleeping bool // the reader waits on wake
	wake     chan struct{}
	space    chan struct{} // closed when room frees; nil while no sender waits
	mode     readerMode
	closed   error // non-nil: sends are refused with it

	// dropping mirrors mode == modeDrop for the reader, which reads it
	// between messages; the padding keeps it off the line senders write.
	_        [64]byte
	dropping atomic.Bool
}

func newInbox[T any](capacity int) *inbox[T] {
	return &inbox[T]{capacity: capacity, wake: make(chan struct{}, 1)}
}

// idleSpins is how many times the reader and a blocked sender yield before
// parking.
const idleSpins = 4

// errFull is push's answer to a bounded push into a full inbox.
var errFull = errors.New("managedprocess: inbox full")

// full reports whether a bounded send must wait. Callers hold mu.
func (ib *inbox[T]) full() bool { return len(ib.items) >= ib.capacity }

// waitRoom blocks until the inbox has room, the inbox is closed (push then
// reports it) or ctx ends.
func (ib *inbox[T]) waitRoom(ctx context.Context) error {
	for spin := 0; ; spin++ {
		ib.mu.Lock()
		if !ib.full() || ib.closed != nil {
			ib.mu.Unlock()
			return nil
		}
		if ib.space == nil {
			ib.space = make(chan struct{})
		}
		space := ib.space
		ib.mu.Unlock()
		if spin < idleSpins {
			runtime.Gosched() // the reader usually makes room within a few rounds
			continue
		}
		select {
		case <-space:
		case <-ctx.Done():
			return fence.ContextError(ctx)
		}
	}
}

// push appends a message and wakes the reader if it sleeps. It returns the
// inbox's close error once it is closed, and errFull if bounded is set and
// the inbox is full; either leaves the inbox unchanged.
func (ib *inbox[T]) push(l *link[T], seq uint64, body *T, bounded bool) error {
	ib.mu.Lock()
	if ib.closed != nil {
		ib.mu.Unlock()
		return ib.closed
	}
	if bounded && ib.full() {
		ib.mu.Unlock()
		return errFull
	}
	n := len(ib.items)
	if n == cap(ib.items) {
		ib.items = slices.Grow(ib.items, 1)
	}
	ib.items = ib.items[:n+1]
	e := &ib.items[n] // zero: fresh memory, or cleared by the reader
	e.link, e.seq, e.body = l, seq, *body
	ib.wakeReader()
	ib.mu.Unlock()
	return nil
}

// pushMarker appends a local fence marker, ignoring the bound.
func (ib *inbox[T]) pushMarker(mk *marker) error {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.closed != nil {
		return ib.closed
	}
	ib.items = append(ib.items, entry[T]{link: &link[T]{marker: mk}})
	ib.wakeReader()
	return nil
}

// wakeReader signals a sleeping reader. Callers hold mu.
func (ib *inbox[T]) wakeReader() {
	if ib.sleeping {
		ib.sleeping = false
		select {
		case ib.wake <- struct{}{}:
		default:
		}
	}
}

// close refuses further sends with cause and tells the reader to finish in
// mode. A later close never softens an earlier one (drop beats stop).
func (ib *inbox[T]) close(cause error, mode readerMode) {
	ib.mu.Lock()
	if ib.closed == nil {
		ib.closed = cause
	}
	if mode > ib.mode {
		ib.mode = mode
		ib.dropping.Store(mode == modeDrop)
	}
	ib.releaseSenders()
	ib.wakeReader()
	ib.mu.Unlock()
}

// releaseSenders wakes senders waiting for room. Callers hold mu.
func (ib *inbox[T]) releaseSenders() {
	if ib.space != nil {
		close(ib.space)
		ib.space = nil
	}
}

// take returns the queued entries, reusing buf for the next queue, and the
// reader mode. It blocks while the queue is empty and the mode is modeRun,
// until a send or close wakes it, or ctx ends (then the mode is modeDrop).
// An empty batch with a mode other than modeRun means the reader is done.
func (ib *inbox[T]) take(ctx context.Context, buf []entry[T]) ([]entry[T], readerMode) {
	ib.mu.Lock()
	for spin := 0; len(ib.items) == 0 && ib.mode == modeRun; spin++ {
		if spin < idleSpins {
			// A busy sender usually refills the queue within a few
			// scheduler rounds; parking would cost both sides a wake-up.
			ib.mu.Unlock()
			runtime.Gosched()
			ib.mu.Lock()
			continue
		}
		ib.sleeping = true
		ib.mu.Unlock()
		select {
		case <-ib.wake:
		case <-ctx.Done():
			ib.close(context.Cause(ctx), modeDrop)
		}
		ib.mu.Lock()
	}
	batch := ib.items
	ib.items = buf[:0]
	ib.releaseSenders()
	mode := ib.mode
	ib.mu.Unlock()
	return batch, mode
}
