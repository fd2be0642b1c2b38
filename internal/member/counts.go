package member

// Counts of a member's outbound links, read for a processing fence's
// quiescence check: the coordinator reads the delivered counter of every
// watched link of every member, then the sent counter of every one, and the
// group was quiescent at the end of the first pass iff the two agree link by
// link (see processgroup's package documentation for the proof).

// ReadDelivered appends to dst one Target per outbound link of m, in link
// creation order, whose Seq is the link's delivered counter read now. It
// takes m's stream lock to list the links (which also guards sent), unless
// m has none; the delivered counters are atomics the recipients' readers
// publish.
func (m *Member[T]) ReadDelivered(dst []Target) []Target {
	return m.out.readCounts(dst, func(l *link[T]) uint64 { return l.progress.Delivered() })
}

// ReadSent is ReadDelivered for the links' sent counters: Seq is the link
// sequence of the last message m queued on the link. Links created since a ReadDelivered come
// after the ones it listed; links freed since (their recipient departed and
// consumed everything, see the package documentation) are missing, and the
// others keep their order.
func (m *Member[T]) ReadSent(dst []Target) []Target {
	return m.out.readCounts(dst, func(l *link[T]) uint64 { return l.sent })
}

// readCounts appends read(l) of every link as a target. A stream without
// links takes no lock: a link is listed (nLinks raised) before its first
// message is queued, so a read that finds none has missed nothing sent.
func (s *stream[T]) readCounts(dst []Target, read func(*link[T]) uint64) []Target {
	if s.nLinks.Load() == 0 {
		return dst
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.order {
		dst = append(dst, l.target(read(l)))
	}
	return dst
}
