package member

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

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
// it (see sweep): it is then removed from links, order, dirty and last in an
// amortized sweep, run when a new link is created and the stream has twice
// the links the previous sweep left (at least linkSweepFloor). order only
// ever grows by appending and shrinks by removal, never reordering: the
// quiescence check matches two reads of it by position.
type stream[T any] struct {
	mu      sync.Mutex
	owner   fence.Identity
	leading uint64 // last sequence assigned
	links   map[*Member[T]]*link[T]
	order   []*link[T]     // every kept link, in creation order
	last    *link[T]       // the most recent link used: most sends repeat a recipient
	dirty   []*link[T]     // links that may have undelivered messages
	coord   Coordinator[T] // the owner's coordinator: links only to its members
	refused error          // non-nil once the owner departed: every send fails with it
	swept   int            // len(order) after the previous sweep
}

// linkTo returns the link to recipient, creating it, or nil if recipient
// is a member of another coordinator. Callers hold mu.
func (s *stream[T]) linkTo(to *Member[T]) *link[T] {
	if s.last != nil && s.last.to == to {
		return s.last
	}
	l := s.links[to]
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
	if to.coord != s.coord {
		return nil // its progress would reach another coordinator's watcher
	}
	if len(s.order) >= max(2*s.swept, linkSweepFloor) {
		s.sweep()
	}
	if s.links == nil {
		s.links = make(map[*Member[T]]*link[T])
	}
	l := &link[T]{to: to, sender: s.owner, lane: laneOf(s.owner.ID), progress: progress.NewCounter()}
	s.links[to] = l
	s.order = append(s.order, l)
	return l
}

// lastTo returns the recipient of the link used last, or nil.
func (s *stream[T]) lastTo() *Member[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return nil
	}
	return s.last.to
}

// sendOne queues body for one recipient as the next message of the stream.
// With bounded set it refuses with errFull, taking no sequence, when the
// recipient's inbox is full. It never waits.
func (s *stream[T]) sendOne(to *Member[T], body *T, bounded bool) error {
	s.mu.Lock()
	if s.refused != nil {
		err := s.refused
		s.mu.Unlock()
		return err
	}
	l := s.linkTo(to)
	if l == nil {
		s.mu.Unlock()
		return errForeign
	}
	seq := s.leading + 1
	err := to.inbox.push(l, seq, body, bounded)
	if err == nil {
		s.sent(l, seq)
	}
	s.mu.Unlock()
	return err
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

// sendAll queues body for every recipient under one new sequence number,
// all or none: with bounded set, while a recipient's lane is full it queues
// nothing and returns that recipient. Recipients that refuse it (they
// departed) are skipped. to must be ordered by ID: their lanes are locked
// together, in that order, so two publishers never wait on each other. It
// never waits for room. Once the stream's owner departed it queues nothing
// and returns the refusal, as sendOne does.
func (s *stream[T]) sendAll(to []*Member[T], body *T, bounded bool) (full *Member[T], err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != nil {
		return nil, s.refused
	}
	lane := laneOf(s.owner.ID)
	for _, r := range to {
		r.inbox.lanes[lane].mu.Lock()
	}
	if bounded {
		full = fullAmong(to, lane)
	}
	if full == nil {
		seq := s.leading + 1
		for _, r := range to {
			if r.inbox.refuses(&r.inbox.lanes[lane], false) != nil {
				continue
			}
			if l := s.linkTo(r); l != nil { // nil: another coordinator's (never from the own directory)
				r.inbox.appendLocked(l, seq, body)
				s.sent(l, seq)
			}
		}
	}
	for _, r := range to {
		r.inbox.lanes[lane].mu.Unlock()
		if full == nil {
			r.inbox.wakeReader()
		}
	}
	return full, nil
}

// fullAmong returns the first recipient whose lane is full. Callers hold the
// lanes' locks.
func fullAmong[T any](to []*Member[T], lane int) *Member[T] {
	for _, r := range to {
		if r.inbox.refuses(&r.inbox.lanes[lane], true) == errFull {
			return r
		}
	}
	return nil
}

// sent records that seq was queued on l (push raised l.sent). Callers
// hold mu.
func (s *stream[T]) sent(l *link[T], seq uint64) {
	s.leading = seq
	if !l.dirty {
		l.dirty = true
		s.dirty = append(s.dirty, l)
	}
}

// pending appends to dst the targets of the links that have undelivered
// messages and forgets the others: arrival's snapshot of the stream. Its cost
// is linear in the links with traffic since the previous snapshot.
func (s *stream[T]) pending(dst []Target) []Target {
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
	s.dirty = keep
	return dst
}

// states lists the progress of every kept link.
func (s *stream[T]) states() []managedprocess.StreamState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]managedprocess.StreamState, 0, len(s.links))
	for r, l := range s.links {
		out = append(out, managedprocess.StreamState{Recipient: r.id, Sent: l.sent, Delivered: l.progress.Delivered()})
	}
	slices.SortFunc(out, func(a, b managedprocess.StreamState) int { return cmp.Compare(a.Recipient.ID, b.Recipient.ID) })
	return out
}

// leadingSeq returns the last sequence assigned.
func (s *stream[T]) leadingSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}
