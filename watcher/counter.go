package watcher

// push adds a pending entry to cs.
func (cs *counterState[R]) push(e entry[R]) {
	if len(cs.pending) == 0 || e.seq < cs.min {
		cs.min = e.seq
	}
	cs.pending = append(cs.pending, e)
}

// satisfy removes the entries with seq <= d, appending their rounds to met,
// and recomputes the minimum of the rest.
func (cs *counterState[R]) satisfy(d uint64, met []R) []R {
	kept := cs.pending[:0]
	for _, e := range cs.pending {
		if e.seq <= d {
			met = append(met, e.round)
			continue
		}
		if len(kept) == 0 || e.seq < cs.min {
			cs.min = e.seq
		}
		kept = append(kept, e)
	}
	cs.truncate(kept)
	return met
}

// remove drops every entry of round r and reports whether there was one.
func (cs *counterState[R]) remove(r R) bool {
	kept := cs.pending[:0]
	for _, e := range cs.pending {
		if e.round == r {
			continue
		}
		if len(kept) == 0 || e.seq < cs.min {
			cs.min = e.seq
		}
		kept = append(kept, e)
	}
	removed := len(kept) < len(cs.pending)
	cs.truncate(kept)
	return removed
}

// truncate makes kept, a prefix of cs.pending's array, the pending entries,
// zeroing the rest so that no round is retained.
func (cs *counterState[R]) truncate(kept []entry[R]) {
	clear(cs.pending[len(kept):])
	cs.pending = kept
}
