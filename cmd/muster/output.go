package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muster-go/muster/internal/repro"
)

// reproJSON is the -json output: one object, also when the run failed or
// did not finish (then partial, with error and, for a run that did not
// finish, stuck). OK is true exactly when the exit status is 0.
type reproJSON struct {
	repro.ReportJSON
	Stuck *stuckJSON `json:"stuck,omitempty"`
}

// stuckJSON is repro.Stuck: each barrier diagnosis, and the coordinator's
// snapshot, one string per line.
type stuckJSON struct {
	Barriers []string `json:"barriers"`
	Snapshot []string `json:"snapshot"`
}

// writeJSON writes the run's JSON object; err is the run's error.
func writeJSON(w io.Writer, rep repro.Report, v repro.Verdict, err error) error {
	out := reproJSON{ReportJSON: repro.NewReportJSON(rep, v, workersAt(rep), err)}
	if rep.Stuck != nil {
		out.Stuck = &stuckJSON{Barriers: []string{}, Snapshot: snapshotLines(rep.Stuck)}
		for _, b := range rep.Stuck.Barriers {
			out.Stuck.Barriers = append(out.Stuck.Barriers, b.Error())
		}
	}
	return json.NewEncoder(w).Encode(out)
}

// workersAt is the -json "workers_at": children or inproc.
func workersAt(rep repro.Report) string {
	if rep.InProcess {
		return "inproc"
	}
	return "children"
}

// writeSummary writes the run's summary, partial when the run did not
// finish, ending with its verdict; timeout is the -timeout flag.
func writeSummary(w io.Writer, rep repro.Report, v repro.Verdict, timeout time.Duration) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("%s", repro.Headline(rep))
	p("  workers        %s", map[bool]string{false: "child processes of this program", true: "goroutines (-members inproc)"}[rep.InProcess])
	p("  iterations     %d × burst %d per worker, handler delay %v", rep.Iterations, rep.Burst, rep.HandlerDelay)
	if rep.Hops > 0 {
		p("  hops           %d per marker: worker → relay-0 → … → relay-%d → consumer", rep.Hops, rep.Hops-1)
	}
	if released := len(rep.PerIteration); released < rep.Iterations {
		p("  released       %d of %d iterations before the run stopped", released, rep.Iterations)
		p("  markers        %d of %d sent, %d handled", rep.Sent, rep.Messages, rep.Handled)
		if released > 0 {
			p("  missing        %d at the consumer's release (in %d of the %d iterations released)", rep.Missing, rep.MissingIterations, released)
		}
	} else {
		p("  markers        %d sent, %d handled", rep.Sent, rep.Handled)
		p("  missing        %d at the consumer's release (in %d of %d iterations)", rep.Missing, rep.MissingIterations, rep.Iterations)
	}
	repro.WriteFindings(w, rep, 100*time.Millisecond)
	p("%s", repro.Conclusion(rep, v, timeout, "what it was waiting for"))
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
