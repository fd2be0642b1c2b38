package processgroup

import "github.com/muster-go/muster/internal/member"

// The release rule of a processing fence: a termination-detection double
// pass (a per-link form of Mattern's four-counter method).
//
// The watched links of a round are the outbound links of its members that
// have not departed from it by failing (goneFlag), except links to a member
// that did. A member that left gracefully (leftFlag) stays watched.
// A link carries two counters that only grow: sent, raised before a message
// becomes visible to its recipient's reader, and delivered, raised only after
// the message's handler and post-handler work returned (or the message was
// dropped). The check reads every watched link's delivered counter, then every
// watched link's sent counter (links created meanwhile included, as having
// delivered nothing), and finds the round quiet iff they agree link by link.
//
// Why that is a consistent cut: let t1 be the end of the first pass and t2 >=
// t1 the start of the second. For each link, delivered-read <= delivered(t1)
// <= sent(t1) <= sent(t2) <= sent-read. Equal ends force equality throughout:
// at t1 no message was in flight on any watched link and no handler of a
// watched message was running (its message would not count as delivered yet,
// and the sends it made before returning are counted in sent). Nothing can
// then be sent on a watched link except by a member's own goroutines (not its
// handlers) or a handler of a message from outside the watched set.

// checkQuiet runs the double pass over r's watched links. It reports whether
// r was quiet; otherwise it leaves in r.targets the links whose delivered
// counter lagged behind the sent value the second pass read, for the watcher
// to wait on before the next check. Callers hold the group's mu, which fixes
// r's departures for the whole check.
func (r *round[T]) checkQuiet() bool {
	for {
		r.scratch = r.readCounts(r.scratch[:0], (*member.Member[T]).ReadDelivered)
		r.targets = r.readCounts(r.targets[:0], (*member.Member[T]).ReadSent)
		quiet := r.compareCounts()
		if quiet || len(r.targets) > 0 {
			return quiet
		}
		// Not quiet, yet nothing lags now: a link seen by the first pass
		// was gone from the second. Look again.
	}
}

// readCounts appends read(m) for every member of r that has not departed
// from it, in view order.
func (r *round[T]) readCounts(dst []member.Target, read func(*member.Member[T], []member.Target) []member.Target) []member.Target {
	for i, m := range r.view.members {
		if !r.is(i, goneFlag) {
			dst = read(m, dst)
		}
	}
	return dst
}

// compareCounts matches the second pass (r.targets, sent values) with the
// first (r.scratch, delivered values), both in member then link creation
// order, a link the first pass missed counting as having delivered nothing.
// It keeps in r.targets the watched links whose counts differ and reports
// whether there were none and every link of the first pass was matched.
func (r *round[T]) compareCounts() bool {
	first, i := r.scratch, 0
	keep := r.targets[:0]
	for _, sent := range r.targets {
		var delivered uint64 // a link created after the first pass read its member
		if i < len(first) && first[i].SameLink(sent) {
			delivered = first[i].Seq
			i++
		}
		if delivered != sent.Seq && !r.involvesDeparted(sent.Target) {
			keep = append(keep, sent)
		}
	}
	clear(r.targets[len(keep):])
	clear(first)
	r.targets = keep
	return len(keep) == 0 && i == len(first)
}
