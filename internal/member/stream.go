package member

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/progress"
	"github.com/muster-go/muster/managedprocess"
)

// stream is a member's outbound stream: its sequence numbers and its links.
// mu serialises a member's concurrent sends (its run goroutine and its
// handler) so that each link sees increasing sequences in queue order. A
// stream must not be copied after first use.
//
// A link lives until its recipient departed and consumed everything sent on
// it: it is then removed from links, order, dirty and last by the
// recipient's ReleaseLinks, or, if it was made after that, by an amortized
// sweep, run when a new link is created and the stream has twice the links
// the previous sweep left (at least linkSweepFloor). order only
// ever grows by appending and shrinks by removal, never reordering: the
// quiescence check matches two reads of it by position.
type stream[T any] struct {
	mu      sync.Mutex
	owner   fence.Identity
	leading uint64              // last sequence assigned
	links   map[uint64]*link[T] // by recipient ID
	order   []*link[T]          // every kept link, in creation order
	nLinks  atomic.Int32        // len(order), for readCounts to skip the lock when 0
	last    *link[T]            // the most recent link used: most sends repeat a recipient
	dirty   []*link[T]          // links that may have undelivered messages
	nDirty  atomic.Int32        // len(dirty), for pending to skip the lock when 0
	refused error               // non-nil once the owner departed: every send fails with it
	swept   int                 // len(order) after the previous sweep
}

// linkTo returns the link to recipient, creating it. Recipients come from
// the owner's coordinator (they are resolved through it). Callers hold mu.
func (s *stream[T]) linkTo(to *Member[T]) *link[T] {
	if s.last != nil && s.last.to == to { // inlined into the send
		return s.last
	}
	return s.findLink(to)
}

// findLink is linkTo for a recipient other than the last one. Callers
// hold mu.
func (s *stream[T]) findLink(to *Member[T]) *link[T] {
	l := s.links[to.id.ID]
	if l == nil {
		l = s.newLink(to)
	}
	s.last = l
	return l
}

// newLink creates the link to recipient, sweeping the links to departed
// members first when the stream doubled since the previous sweep. Callers
// hold mu.
func (s *stream[T]) newLink(to *Member[T]) *link[T] {
	if len(s.order) >= max(2*s.swept, linkSweepFloor) {
		s.sweep()
	}
	if s.links == nil {
		s.links = make(map[uint64]*link[T])
	}
	l := &link[T]{to: to, from: s, sender: s.owner, lane: laneOf(s.owner.ID), progress: progress.NewCounter()}
	l.watch = l.watched()
	l.credit.window = uint64(to.inbox.window)
	to.in.add(l)
	s.links[to.id.ID] = l
	s.setOrder(append(s.order, l))
	return l
}

// sendOne queues body (or the run raw, if not nil) for one recipient as the
// next message (messages) of the stream. With bounded set it refuses with
// errFull, taking no sequence, while the window of the link is full, and
// returns the link and its last sequence to wait on (see waitRoom). It
// never waits.
func (s *stream[T]) sendOne(to *Member[T], body *T, raw *Run, bounded bool) (full *link[T], sent uint64, err error) {
	s.mu.Lock()
	if s.refused != nil {
		err = s.refused
		s.mu.Unlock()
		return nil, 0, err
	}
	l := s.linkTo(to)
	if bounded && l.full() {
		sent = l.sent
		s.mu.Unlock()
		return l, sent, errFull
	}
	seq := s.leading + 1
	if err = to.inbox.push(l, seq, body, raw); err == nil {
		last := seq
		if raw != nil {
			last += uint64(raw.Count) - 1
		}
		s.sent(l, last)
	}
	s.mu.Unlock()
	return nil, 0, err
}

// queueNow queues body for to as the next message of the stream, and
// reports true, if it can at once: the stream's owner has not departed,
// the window of the link has room and the recipient's inbox is open.
// Otherwise it queues nothing and reports false, and sendOne says why. It
// is sendOne's common case in one pass, with nothing else to return.
func (s *stream[T]) queueNow(to *Member[T], body *T) bool {
	s.mu.Lock()
	if s.refused != nil {
		s.mu.Unlock()
		return false
	}
	l := s.linkTo(to)
	if l.full() {
		s.mu.Unlock()
		return false
	}
	seq := s.leading + 1
	ib, ln := to.inbox, &to.inbox.lanes[l.lane] // push, by hand: the compiler does not inline it
	ln.mu.Lock()
	open := ln.closed == nil
	if open {
		ib.appendLocked(l, seq, body, nil)
	}
	ln.mu.Unlock()
	if open {
		ib.wakeReader()
		s.sent(l, seq)
	}
	s.mu.Unlock()
	return open
}

// refuse makes every later send of the stream fail with an error wrapping
// cause: its member departed.
func (s *stream[T]) refuse(cause error) {
	s.mu.Lock()
	if s.refused == nil {
		s.refused = fmt.Errorf("sender departed: %w", cause)
	}
	s.mu.Unlock()
}

// sendAll queues body for every recipient under one new sequence number
// (for to[i], runs[i] instead, if runs has one), all or none: with bounded
// set, while the window of a link to one of them is full it queues nothing
// and returns that link and its last sequence to wait on. Recipients that refuse the message (they departed) are skipped.
// It never waits for room. Once the stream's owner departed it queues
// nothing and returns the refusal, as sendOne does. The stream lock makes
// the message appear in every link at once to arrivals and quiescence
// checks, which read the links under it.
func (s *stream[T]) sendAll(to []*Member[T], body *T, runs []*Run, bounded bool) (full *link[T], sent uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != nil {
		return nil, 0, s.refused
	}
	if bounded {
		for _, r := range to {
			if l := s.linkTo(r); l.full() {
				return l, l.sent, errFull
			}
		}
	}
	seq := s.leading + 1
	var zero T
	for i, r := range to {
		b, run := body, (*Run)(nil)
		if runs != nil && runs[i] != nil {
			b, run = &zero, runs[i]
		}
		if l := s.linkTo(r); r.inbox.push(l, seq, b, run) == nil {
			s.sent(l, seq)
		}
	}
	return nil, 0, nil
}

// sent records that the messages up to seq were queued on l (push raised
// l.sent). Callers hold mu.
func (s *stream[T]) sent(l *link[T], seq uint64) {
	s.leading = seq
	if !l.dirty {
		l.dirty = true
		s.setDirty(append(s.dirty, l))
	}
}

// pending appends to dst the targets of the links that have undelivered
// messages and forgets the others: arrival's snapshot of the stream. Its cost
// is linear in the links with traffic since the previous snapshot, and a
// stream without any takes no lock: every send the owner made before the
// arrival raised nDirty first.
func (s *stream[T]) pending(dst []Target) []Target {
	if s.nDirty.Load() == 0 {
		return dst
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.dirty[:0]
	for _, l := range s.dirty {
		sent := l.sent
		if l.progress.Delivered() >= sent {
			l.dirty = false
			continue
		}
		keep = append(keep, l)
		dst = append(dst, l.target(sent))
	}
	clear(s.dirty[len(keep):])
	s.setDirty(keep)
	return dst
}

// states lists the progress of every kept link.
func (s *stream[T]) states() []managedprocess.StreamState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]managedprocess.StreamState, 0, len(s.links))
	for _, l := range s.links {
		out = append(out, managedprocess.StreamState{Recipient: l.to.id, Sent: l.sent, Delivered: l.progress.Delivered()})
	}
	slices.SortFunc(out, func(a, b managedprocess.StreamState) int { return cmp.Compare(a.Recipient.ID, b.Recipient.ID) })
	return out
}

// setOrder replaces the list of kept links. Callers hold mu.
func (s *stream[T]) setOrder(order []*link[T]) {
	s.order = order
	s.nLinks.Store(int32(len(order)))
}

// setDirty replaces the dirty list. Callers hold mu.
func (s *stream[T]) setDirty(dirty []*link[T]) {
	s.dirty = dirty
	s.nDirty.Store(int32(len(dirty)))
}

// leadingSeq returns the last sequence assigned.
func (s *stream[T]) leadingSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}
