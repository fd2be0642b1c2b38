package member

import "slices"

// linkSweepFloor is the number of links below which a stream never sweeps.
const linkSweepFloor = 64

// settled reports whether nothing can change on l any more and nothing is
// pending on it: its recipient's inbox is closed (no send can raise sent
// again), its reader exited (delivered is final) and delivered equals sent.
// Once true it stays true.
func (l *link[T]) settled() bool {
	if l.to.Err() == nil {
		return false
	}
	select {
	case <-l.to.Done():
	default:
		return false
	}
	return l.progress.Delivered() == l.sent
}

// sweep frees the settled links: it removes them from links, order, dirty
// and last, keeping the other links in creation order (a stable filter: the
// quiescence check matches two reads of order by position, a removed link
// only making it look again). A recorded drain target keeps its own pointer
// to the counter, and a settled link's counter already covers it. Callers
// hold mu.
func (s *stream[T]) sweep() {
	keep := s.order[:0]
	for _, l := range s.order {
		if !l.settled() {
			keep = append(keep, l)
			continue
		}
		delete(s.links, l.to.id.ID)
		if s.last == l {
			s.last = nil
		}
	}
	clear(s.order[len(keep):])
	s.setOrder(keep)
	s.swept = len(keep)
	s.setDirty(slices.DeleteFunc(s.dirty, func(l *link[T]) bool { return s.links[l.to.id.ID] != l }))
	if cap(s.order) > 4*max(len(s.order), linkSweepFloor) {
		s.shrink()
	}
}

// shrink reallocates order and links to the size of the kept links, so that
// a stream that once had many live links does not keep their room. Callers
// hold mu.
func (s *stream[T]) shrink() {
	s.order = slices.Clone(s.order)
	s.links = make(map[uint64]*link[T], len(s.order))
	for _, l := range s.order {
		s.links[l.to.id.ID] = l
	}
}
