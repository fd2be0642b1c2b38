package member

import (
	"errors"
	"sync"
	"sync/atomic"
)

// readerMode says what the reader does with queued messages.
type readerMode uint32

const (
	modeRun  readerMode = iota // handle messages
	modeStop                   // handle what is queued, then exit
	modeDrop                   // consume what is queued without handling, then exit
)

// entry is one queued item: a message, a run of messages already encoded
// for a member behind a wire (raw set), or a local fence marker (a link
// whose marker is set).
type entry[T any] struct {
	link *link[T]
	seq  uint64 // in the sender's stream (a run's first message's)
	n    uint64 // in the link: its progress once consumed (a run's last message's)
	body T
	raw  *Run // messages encoded, instead of body, for a member behind a wire (see Run); a pointer, to keep entries small
}

// count returns how many messages e is: a run's, else one (a marker too).
func (e *entry[T]) count() uint64 {
	if e.raw != nil {
		return uint64(e.raw.Count)
	}
	return 1
}

// marker is a local delivery fence, queued in every lane: it is reached once
// everything queued before it in every lane was consumed. err is set before
// done is closed when messages before it were dropped rather than handled.
type marker struct {
	lanes int // lanes whose copy the reader has not reached; reader only
	done  chan struct{}
	err   error
}

// reach records that the reader reached the marker's copy in one lane, with
// err if the messages before it were dropped; the last copy releases the
// waiter.
func (mk *marker) reach(err error) {
	if err != nil && mk.err == nil {
		mk.err = err
	}
	if mk.lanes--; mk.lanes == 0 {
		close(mk.done)
	}
}

// Lanes is how many queues an inbox has. A sender always uses the same lane,
// so its messages stay in order; senders in different lanes do not contend
// for one lock. Sixteen lanes keep 64 senders to one member near the cost of
// a channel each (a delivery fence round with 100 messages from each costs
// about 10 % less than with four lanes), for about 1.5 KB more per member.
const Lanes = 16

// inbox.ready holds a bit per lane: this fails to compile past 32 lanes.
const _ uint32 = 1 << (Lanes - 1)

// laneOf is the lane of the sender numbered id.
func laneOf(id uint64) int { return int(id % Lanes) }

// lane is one FIFO of an inbox. Senders append under mu; the reader swaps
// the whole queue out at once, so a batch costs it one lock.
type lane[T any] struct {
	mu     sync.Mutex
	items  []entry[T]
	closed error    // non-nil: sends are refused with it
	_      [64]byte // keeps lanes off each other's cache lines
}

// inbox is a member's set of incoming queues, bounded by its senders'
// windows. It must not be copied after first use.
type inbox[T any] struct {
	lanes  [Lanes]lane[T]
	window int // each sender's window at this inbox, for the reader's buffers
	wake   chan struct{}
	// sleeping, ready and mode are on three cache lines: senders read
	// sleeping for every message and raise a bit of ready when a lane was
	// empty; the reader clears bits of ready for every batch it takes and
	// reads mode for every message it handles. Sharing one line, the three
	// moved it between the cores for every batch (the padding keeps the
	// inbox in the 2 KiB size class).
	sleeping atomic.Bool // the reader is about to wait, or waits, on wake
	_        [64]byte
	ready    atomic.Uint32 // bit i: lane i is not empty; changed under lane i's lock
	_        [64]byte

	ctl    sync.Mutex // serialises close
	mode   atomic.Uint32
	closed atomic.Pointer[error]

	_    [64]byte // next is the reader's: keep it off the line senders read
	next int      // the lane the reader looks at first
}

func newInbox[T any](window int) *inbox[T] {
	return &inbox[T]{window: window, wake: make(chan struct{}, 1)}
}

// idleSpins is how many times the reader and a blocked sender yield before
// parking.
const idleSpins = 4

// errFull is a bounded send's answer when its window is full.
var errFull = errors.New("member: window full")

// err returns the close error, or nil while the inbox is open.
func (ib *inbox[T]) err() error {
	if p := ib.closed.Load(); p != nil {
		return *p
	}
	return nil
}

// readerMode returns the current mode.
func (ib *inbox[T]) readerMode() readerMode { return readerMode(ib.mode.Load()) }

// dropping reports whether the reader must drop what it has not handled.
func (ib *inbox[T]) dropping() bool { return ib.readerMode() == modeDrop }

// queued counts the messages waiting in every lane, and each local fence
// once (its copy in lane 0).
func (ib *inbox[T]) queued() int {
	n := 0
	for i := range ib.lanes {
		ln := &ib.lanes[i]
		ln.mu.Lock()
		for _, e := range ln.items {
			if e.link.marker == nil || i == 0 {
				n += int(e.count())
			}
		}
		ln.mu.Unlock()
	}
	return n
}
