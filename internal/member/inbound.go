package member

import (
	"slices"
	"sync"
)

// inbound indexes the links that end at a member, so that its departure can
// free them in their senders' streams at once (see ReleaseLinks) instead of
// leaving them to each sender's amortized sweep. Links are added when a
// sender creates one, under the sender's stream lock; the index is never
// locked around a stream lock, so the two orders cannot deadlock.
type inbound[T any] struct {
	mu       sync.Mutex
	links    map[*link[T]]struct{}
	released bool // the member departed: links created since are left to the sweep
}

// add indexes l, unless the member already released its links.
func (in *inbound[T]) add(l *link[T]) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.released {
		return
	}
	if in.links == nil {
		in.links = make(map[*link[T]]struct{})
	}
	in.links[l] = struct{}{}
}

// remove drops l from the index.
func (in *inbound[T]) remove(l *link[T]) {
	in.mu.Lock()
	delete(in.links, l)
	in.mu.Unlock()
}

// release empties the index for good and returns what it held.
func (in *inbound[T]) release() []*link[T] {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.released = true
	out := make([]*link[T], 0, len(in.links))
	for l := range in.links {
		out = append(out, l)
	}
	in.links = nil
	return out
}

// ReleaseLinks frees the links of m, which departed and whose reader
// finished (Done is closed): each link to m is removed from its sender's
// stream, and each link from m from its recipient's index. Links created
// later (a send to m after this) are freed by their sender's sweep. It
// must be called once Done is closed; calling it again does nothing.
func (m *Member[T]) ReleaseLinks() {
	for _, l := range m.in.release() {
		l.from.forget(l)
	}
	for _, l := range m.out.allLinks() {
		l.to.in.remove(l)
	}
}

// forget removes l, which is settled (its recipient departed and consumed
// everything sent on it), from the stream, keeping the other links in
// order (see sweep).
func (s *stream[T]) forget(l *link[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links[l.to.id.ID] != l || !l.settled() {
		return
	}
	delete(s.links, l.to.id.ID)
	if s.last == l {
		s.last = nil
	}
	is := func(x *link[T]) bool { return x == l }
	s.setOrder(slices.DeleteFunc(s.order, is))
	if l.dirty {
		s.setDirty(slices.DeleteFunc(s.dirty, is))
	}
	s.swept = min(s.swept, len(s.order))
}

// allLinks returns the stream's links.
func (s *stream[T]) allLinks() []*link[T] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*link[T](nil), s.order...)
}
