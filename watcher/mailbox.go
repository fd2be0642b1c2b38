package watcher

import "sync"

// batch is the input the loop takes from the mailbox in one iteration.
type batch[R comparable] struct {
	submits  []submission[R]
	targets  []Target // submits[i] owns targets[lo:hi]
	notifies []Counter
	drops    []R
}

// submission is one Submit call; its targets live in the batch's arena so
// that the caller's slice is neither retained nor aliased.
type submission[R comparable] struct {
	round  R
	lo, hi int
}

// reset empties b, releasing the pointers it held but keeping its arrays.
func (b *batch[R]) reset() {
	clear(b.submits)
	clear(b.targets)
	clear(b.notifies)
	clear(b.drops)
	b.submits, b.targets = b.submits[:0], b.targets[:0]
	b.notifies, b.drops = b.notifies[:0], b.drops[:0]
}

// mailbox is where callers leave input for the loop. Every method is safe for
// concurrent use and never blocks beyond a short critical section.
type mailbox[R comparable] struct {
	mu     sync.Mutex
	closed bool
	in     batch[R]
	wake   chan struct{} // capacity 1: a pending signal coalesces the rest
}

func newMailbox[R comparable]() *mailbox[R] {
	return &mailbox[R]{wake: make(chan struct{}, 1)}
}

func (m *mailbox[R]) submit(r R, targets []Target) {
	m.put(func(b *batch[R]) {
		lo := len(b.targets)
		b.targets = append(b.targets, targets...)
		b.submits = append(b.submits, submission[R]{round: r, lo: lo, hi: len(b.targets)})
	})
}

func (m *mailbox[R]) notify(ctr Counter) {
	m.put(func(b *batch[R]) { b.notifies = append(b.notifies, ctr) })
}

func (m *mailbox[R]) drop(r R) {
	m.put(func(b *batch[R]) { b.drops = append(b.drops, r) })
}

// put applies add to the pending batch unless the mailbox is closed, then
// signals the loop without blocking.
func (m *mailbox[R]) put(add func(*batch[R])) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	add(&m.in)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// take swaps the pending batch with spare, which the caller has finished
// with, and returns the pending one.
func (m *mailbox[R]) take(spare *batch[R]) {
	spare.reset()
	m.mu.Lock()
	m.in, *spare = *spare, m.in
	m.mu.Unlock()
}

// close makes every later put a no-op.
func (m *mailbox[R]) close() {
	m.mu.Lock()
	m.closed = true
	m.in.reset()
	m.mu.Unlock()
}
