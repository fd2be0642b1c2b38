package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/repro"
)

// reproJSON is the -json output: one object, also when the run failed or
// did not finish (then partial, with error and, for a run that did not
// finish, stuck). OK is true exactly when the exit status is 0.
type reproJSON struct {
	Mode              string       `json:"mode"`
	Members           int          `json:"members"`
	Workers           int          `json:"workers"`
	WorkersAt         string       `json:"workers_at"` // "children" or "inproc"
	Iterations        int          `json:"iterations"`
	Burst             int          `json:"burst"`
	HandlerDelayUS    int64        `json:"handler_delay_us"`
	Hops              int          `json:"hops"`
	Messages          int          `json:"messages"`
	Sent              int          `json:"sent"`
	Handled           int          `json:"handled"`
	Released          int          `json:"released_iterations"`
	Missing           int          `json:"missing"`
	MissingIterations int          `json:"missing_iterations"`
	FirstMissing      []markerJSON `json:"first_missing"`
	FirstHopMissing   int          `json:"first_hop_missing"`
	Duplicates        int          `json:"duplicates"`
	OutOfOrder        int          `json:"out_of_order"`
	Lost              int          `json:"lost"`
	BarrierP50US      int64        `json:"barrier_p50_us"`
	BarrierP99US      int64        `json:"barrier_p99_us"`
	BarrierMaxUS      int64        `json:"barrier_max_us"`
	ElapsedMS         int64        `json:"elapsed_ms"`
	Fences            bool         `json:"fences"`
	Verdict           string       `json:"verdict"`
	OK                bool         `json:"ok"`
	Error             string       `json:"error,omitempty"`
	Stuck             *stuckJSON   `json:"stuck,omitempty"`
}

// stuckJSON is repro.Stuck: each barrier diagnosis, and the coordinator's
// snapshot, one string per line.
type stuckJSON struct {
	Barriers []string `json:"barriers"`
	Snapshot []string `json:"snapshot"`
}

type markerJSON struct {
	Worker    int `json:"worker"`
	Iteration int `json:"iteration"`
	Seq       int `json:"seq"`
}

// writeJSON writes the run's JSON object; err is the run's error.
func writeJSON(w io.Writer, rep repro.Report, oc outcome, err error) error {
	out := reproJSON{
		Mode: rep.Mode.String(), Members: rep.Members, Workers: rep.Workers, WorkersAt: map[bool]string{false: "children", true: "inproc"}[rep.InProcess],
		Iterations: rep.Iterations, Burst: rep.Burst, HandlerDelayUS: rep.HandlerDelay.Microseconds(),
		Hops: rep.Hops, Messages: rep.Messages, Sent: rep.Sent, Handled: rep.Handled, Released: len(rep.PerIteration),
		Missing: rep.Missing, MissingIterations: rep.MissingIterations, FirstMissing: []markerJSON{},
		FirstHopMissing: rep.FirstHopMissing, Duplicates: rep.Duplicates, OutOfOrder: rep.OutOfOrder, Lost: rep.Lost,
		BarrierP50US: rep.BarrierP50.Microseconds(), BarrierP99US: rep.BarrierP99.Microseconds(),
		BarrierMaxUS: rep.BarrierMax.Microseconds(), ElapsedMS: rep.Elapsed.Milliseconds(),
		Fences: rep.Mode.Drains(), Verdict: oc.verdict, OK: oc.code == exitOK,
	}
	for _, mk := range rep.FirstMissing {
		out.FirstMissing = append(out.FirstMissing, markerJSON{Worker: mk.Worker, Iteration: mk.Iteration, Seq: mk.Seq})
	}
	if err != nil {
		out.Error = err.Error()
	}
	if rep.Stuck != nil {
		out.Stuck = &stuckJSON{Barriers: []string{}, Snapshot: snapshotLines(rep.Stuck)}
		for _, b := range rep.Stuck.Barriers {
			out.Stuck.Barriers = append(out.Stuck.Barriers, b.Error())
		}
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// writeSummary writes the run's summary, partial when the run did not
// finish, ending with its verdict; timeout is the -timeout flag.
func writeSummary(w io.Writer, rep repro.Report, oc outcome, timeout time.Duration) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	relays := ""
	if rep.Hops > 0 {
		relays = fmt.Sprintf(", %d relays", rep.Hops)
	}
	released := len(rep.PerIteration)
	partial := released < rep.Iterations
	p("muster repro: %s barrier, %d members (1 consumer, %d workers%s)", rep.Mode, rep.Members, rep.Workers, relays)
	p("  workers        %s", map[bool]string{false: "child processes of this program", true: "goroutines (-members inproc)"}[rep.InProcess])
	p("  iterations     %d × burst %d per worker, handler delay %v", rep.Iterations, rep.Burst, rep.HandlerDelay)
	if rep.Hops > 0 {
		p("  hops           %d per marker: worker → relay-0 → … → relay-%d → consumer", rep.Hops, rep.Hops-1)
	}
	if partial {
		p("  released       %d of %d iterations before the run stopped", released, rep.Iterations)
		p("  markers        %d of %d sent, %d handled", rep.Sent, rep.Messages, rep.Handled)
		if released > 0 {
			p("  missing        %d at the consumer's release (in %d of the %d iterations released)", rep.Missing, rep.MissingIterations, released)
		}
	} else {
		p("  markers        %d sent, %d handled", rep.Sent, rep.Handled)
		p("  missing        %d at the consumer's release (in %d of %d iterations)", rep.Missing, rep.MissingIterations, rep.Iterations)
	}
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
	if released > 0 {
		p("  barrier        p50 %v  p99 %v  max %v (consumer: arrival to release)", round(rep.BarrierP50), round(rep.BarrierP99), round(rep.BarrierMax))
	}
	p("  elapsed        %v", round(rep.Elapsed))
	p("%s", verdict(rep, oc, timeout))
}

// writeStuck writes what a run that did not finish was waiting for: each
// round's diagnosis from its members' barrier calls, then the coordinator's
// snapshot (members with their streams, queues and running handlers; the open
// rounds).
func writeStuck(w io.Writer, st *repro.Stuck) {
	fmt.Fprintln(w, "stuck: the members were waiting in")
	for _, b := range st.Barriers {
		fmt.Fprintf(w, "  %v\n", b)
	}
	if len(st.Barriers) == 0 {
		fmt.Fprintln(w, "  no barrier (see the snapshot)")
	}
	fmt.Fprintln(w, "the coordinator when the run stopped:")
	for _, line := range snapshotLines(st) {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// snapshotLines is the stuck run's snapshot, one string per line.
func snapshotLines(st *repro.Stuck) []string {
	return strings.Split(strings.TrimSuffix(st.Snapshot.String(), "\n"), "\n")
}

// firstMissing lists the report's first missing markers and how many more
// there were.
func firstMissing(rep repro.Report) string {
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

// firstHopOnly reports whether the run's fence covers only the markers'
// first hop: a DeliveryFence with relays.
func firstHopOnly(rep repro.Report) bool { return rep.Mode == fence.DeliveryFence && rep.Hops > 0 }

// verdict is the summary's last line: OK, EXPECTED (missing markers the mode
// does not fence), FAIL, TIMEOUT, INTERRUPTED or ERROR.
func verdict(rep repro.Report, oc outcome, timeout time.Duration) string {
	switch oc.verdict {
	case verdictTimeout:
		return fmt.Sprintf("TIMEOUT: the run did not finish within -timeout %v; stderr shows what it was waiting for", timeout)
	case verdictInterrupted:
		return "INTERRUPTED: the run was stopped before it finished; stderr shows what it was waiting for"
	case verdictError:
		return "ERROR: the run failed before it finished; stderr shows why"
	case verdictFail:
		return "FAIL: " + failure(rep)
	}
	switch {
	case rep.OK && rep.Mode == fence.Rendezvous:
		return "OK: no marker missing this time — but rendezvous does not fence; the consumer was merely fast enough"
	case rep.OK && firstHopOnly(rep):
		return "OK: no marker missing this time — but delivery fences only the first hop; the relays and the consumer were merely fast enough"
	case rep.OK:
		return fmt.Sprintf("OK: every marker was handled before the %s barrier released", rep.Mode)
	case rep.Mode == fence.Rendezvous:
		return fmt.Sprintf("EXPECTED: rendezvous does not fence — the consumer was released with %d markers still unhandled (all handled later; try -mode delivery)", rep.Missing)
	default:
		return fmt.Sprintf("EXPECTED: delivery fences only the first hop — relay-0 had handled every marker, but the consumer was released with %d still in the relay chain (all handled later; try -mode processing)", rep.Missing)
	}
}

func failure(rep repro.Report) string {
	var why []string
	switch n := rep.FenceMissed(); {
	case n > 0 && firstHopOnly(rep):
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

// round keeps three significant figures or so for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	default:
		return d
	}
}
