package repro

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
)

// The demo programs' summaries of a run share their first line, the lines
// from the first hop's misses on, and the verdict at the end; between
// them, each says where the members ran and counts the markers in its own
// words.

// Headline is the first line of a summary of rep: the mode and the members.
func Headline(rep Report) string {
	relays := ""
	if rep.Hops > 0 {
		relays = fmt.Sprintf(", %d relays", rep.Hops)
	}
	return fmt.Sprintf("muster repro: %s barrier, %d members (1 consumer, %d workers%s)", rep.Mode, rep.Members, rep.Workers, relays)
}

// WriteFindings writes the lines of a summary of rep that follow the
// markers' counts: what the first hop missed, the first markers the
// consumer missed, the duplicates, the reordered and the lost markers, the
// consumer's barrier latency and the time the run took. The durations are
// rounded to three figures or so, in units no coarser than coarsest (a
// power of ten times a microsecond).
func WriteFindings(w io.Writer, rep Report, coarsest time.Duration) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	round := func(d time.Duration) time.Duration { return roundTo(d, coarsest) }
	if rep.Hops > 0 {
		p("  first hop      %d not yet handled by relay-0 at the consumer's release", rep.FirstHopMissing)
	}
	if len(rep.FirstMissing) > 0 {
		p("  first missing  %s", firstMissing(rep))
	}
	p("  duplicates     %d", rep.Duplicates)
	p("  out of order   %d", rep.OutOfOrder)
	if rep.Lost > 0 {
		p("  lost           %d (never handled)", rep.Lost)
	}
	if len(rep.PerIteration) > 0 {
		p("  barrier        p50 %v  p99 %v  max %v (consumer: arrival to release)", round(rep.BarrierP50), round(rep.BarrierP99), round(rep.BarrierMax))
	}
	p("  elapsed        %v", round(rep.Elapsed))
}

// firstMissing lists the report's first missing markers and how many more
// there were.
func firstMissing(rep Report) string {
	names := make([]string, len(rep.FirstMissing))
	for i, mk := range rep.FirstMissing {
		names[i] = mk.String()
	}
	more := ""
	if rep.Missing > len(names) {
		more = fmt.Sprintf(" … (%d more)", rep.Missing-len(names))
	}
	return strings.Join(names, " ") + more
}

// roundTo keeps three significant figures or so of d, in units from
// coarsest down to a microsecond.
func roundTo(d, coarsest time.Duration) time.Duration {
	for unit := coarsest; unit >= time.Microsecond; unit /= 10 {
		if d >= 100*unit {
			return d.Round(unit)
		}
	}
	return d
}

// Conclusion is the last line of a summary of rep, whose verdict is v: OK,
// EXPECTED (missing markers the mode does not fence), FAIL, TIMEOUT,
// INTERRUPTED or ERROR, and why. timeout is the -timeout flag; stuck says
// what stderr shows of a run that did not finish ("what it was waiting
// for").
func Conclusion(rep Report, v Verdict, timeout time.Duration, stuck string) string {
	switch v {
	case VerdictTimeout:
		return fmt.Sprintf("TIMEOUT: the run did not finish within -timeout %v; stderr shows %s", timeout, stuck)
	case VerdictInterrupted:
		return "INTERRUPTED: the run was stopped before it finished; stderr shows " + stuck
	case VerdictError:
		return "ERROR: the run failed before it finished; stderr shows why"
	case VerdictFail:
		return "FAIL: " + failure(rep)
	}
	switch {
	case rep.OK && rep.Mode == fence.Rendezvous:
		return "OK: no marker missing this time — but rendezvous does not fence; the consumer was merely fast enough"
	case rep.OK && rep.firstHopOnly():
		return "OK: no marker missing this time — but delivery fences only the first hop; the relays and the consumer were merely fast enough"
	case rep.OK:
		return fmt.Sprintf("OK: every marker was handled before the %s barrier released", rep.Mode)
	case rep.Mode == fence.Rendezvous:
		return fmt.Sprintf("EXPECTED: rendezvous does not fence — the consumer was released with %d markers still unhandled (all handled later; try -mode delivery)", rep.Missing)
	default:
		return fmt.Sprintf("EXPECTED: delivery fences only the first hop — relay-0 had handled every marker, but the consumer was released with %d still in the relay chain (all handled later; try -mode processing)", rep.Missing)
	}
}

// failure says what a finished run that failed its check got wrong.
func failure(rep Report) string {
	var why []string
	switch n := rep.FenceMissed(); {
	case n > 0 && rep.firstHopOnly():
		why = append(why, fmt.Sprintf("the %s barrier released with %d markers not handled by their first hop", rep.Mode, n))
	case n > 0:
		why = append(why, fmt.Sprintf("the %s barrier released with %d markers unhandled", rep.Mode, n))
	}
	if rep.Duplicates > 0 {
		why = append(why, fmt.Sprintf("%d markers handled twice", rep.Duplicates))
	}
	if rep.OutOfOrder > 0 {
		why = append(why, fmt.Sprintf("%d markers out of order", rep.OutOfOrder))
	}
	if rep.Lost > 0 {
		why = append(why, fmt.Sprintf("%d markers lost", rep.Lost))
	}
	return strings.Join(why, "; ")
}
