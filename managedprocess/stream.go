package managedprocess

import (
	"cmp"
	"slices"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/progress"
)

// stream is a member's outbound stream: its sequence numbers and its links.
// mu serialises a member's concurrent sends (its run goroutine and its
// handler) so that each link sees increasing sequences in queue order. A
// stream must not be copied after first use.
type stream[T any] struct {
	mu      sync.Mutex
	owner   fence.Identity
	leading uint64 // last sequence assigned
	links   map[*Member[T]]*link[T]
	dirty   []*link[T] // links that may have undelivered messages
}

// linkTo returns the link to recipient, creating it. Callers hold mu.
func (s *stream[T]) linkTo(to *Member[T]) *link[T] {
	l := s.links[to]
	if l == nil {
		if s.links == nil {
			s.links = make(map[*Member[T]]*link[T])
		}
		l = &link[T]{to: to, sender: s.owner, progress: progress.NewCounter()}
		s.links[to] = l
	}
	return l
}

// deliver queues body for every recipient under one new sequence number. It
// returns the number of recipients that accepted it and the first refusal.
// It never waits: callers wait for room first.
func (s *stream[T]) deliver(to []*Member[T], body T) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.leading + 1
	accepted := 0
	var first error
	for _, r := range to {
		l := s.linkTo(r)
		if err := r.inbox.push(entry[T]{link: l, seq: seq, body: body}); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		accepted++
		l.lastSent.Store(seq)
		if !l.dirty {
			l.dirty = true
			s.dirty = append(s.dirty, l)
		}
	}
	if accepted > 0 {
		s.leading = seq
	}
	return accepted, first
}

// pending appends to dst the targets of the links that have undelivered
// messages and forgets the others: arrival's snapshot of the stream. Its cost
// is linear in the links with traffic since the previous snapshot.
func (s *stream[T]) pending(dst []Target) []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.dirty[:0]
	for _, l := range s.dirty {
		sent := l.lastSent.Load()
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

// states lists every link's progress.
func (s *stream[T]) states() []StreamState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StreamState, 0, len(s.links))
	for r, l := range s.links {
		out = append(out, StreamState{Recipient: r.id, Sent: l.lastSent.Load(), Delivered: l.progress.Delivered()})
	}
	slices.SortFunc(out, func(a, b StreamState) int { return cmp.Compare(a.Recipient.ID, b.Recipient.ID) })
	return out
}

// leadingSeq returns the last sequence assigned.
func (s *stream[T]) leadingSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}
