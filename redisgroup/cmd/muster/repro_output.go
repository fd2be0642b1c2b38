package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muster-go/muster/internal/repro"
)

// reproJSON is the -json output: the backend's fields, the main program's
// (internal/repro's ReportJSON), and where the members were stopped
// instead of the main program's coordinator snapshot.
type reproJSON struct {
	Backend   string `json:"backend"`
	Procs     int    `json:"procs"`
	Placement string `json:"placement"`
	repro.ReportJSON
	// Waiting is, for a run that failed or did not finish, where the
	// members were when they were stopped.
	Waiting []string `json:"waiting,omitempty"`
}

// writeReproJSON writes the run's JSON object; err is the run's error.
func writeReproJSON(w io.Writer, opts reproOptions, rep repro.Report, res deployed, v repro.Verdict, err error) {
	out := reproJSON{
		Backend: "redis", Procs: opts.procs, Placement: placement(reproParts(opts.cfg, groupConf{}, opts.procs)),
		ReportJSON: repro.NewReportJSON(rep, v, "processes", err),
	}
	for _, s := range res.stuck {
		out.Waiting = append(out.Waiting, s.Error())
	}
	_ = json.NewEncoder(w).Encode(out)
}

// writeReproSummary writes the run's summary, partial when the run did not
// finish, ending with its verdict.
func writeReproSummary(w io.Writer, opts reproOptions, rep repro.Report, v repro.Verdict) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	released := len(rep.PerIteration)
	p("%s in %d processes on Redis %s", repro.Headline(rep), opts.procs, opts.addr)
	p("  processes      %s", placement(reproParts(opts.cfg, groupConf{}, opts.procs)))
	p("  iterations     %d × burst %d per worker, handler delay %v", rep.Iterations, rep.Burst, rep.HandlerDelay)
	if released < rep.Iterations {
		p("  released       %d of %d iterations before the run stopped", released, rep.Iterations)
		p("  markers        %d of %d sent (as the processes reported), %d handled", rep.Sent, rep.Messages, rep.Handled)
	} else {
		p("  markers        %d sent, %d handled", rep.Sent, rep.Handled)
	}
	if released > 0 {
		p("  missing        %d at the consumer's release (in %d of the %d iterations released)", rep.Missing, rep.MissingIterations, released)
	}
	repro.WriteFindings(w, rep, time.Second)
	p("%s", repro.Conclusion(rep, v, opts.timeout, "where the members were waiting"))
}

// writeStuck writes where the members were when a run that failed or did
// not finish stopped them.
func writeStuck(w io.Writer, stuck []error) {
	if len(stuck) == 0 {
		return
	}
	fmt.Fprintln(w, "where the members were when the run stopped them:")
	for _, err := range stuck {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}
