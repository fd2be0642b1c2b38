package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/repro"
)

// The repro's output follows the main module's cmd/muster, whose code is in
// its package main and cannot be shared: the same verdicts, summary lines
// and JSON fields, with the processes and Redis added.

// outcome is a run's verdict and exit status. The -json "ok" is
// code == exitOK, so the two always agree.
type outcome struct {
	verdict string
	code    int
}

// Verdicts: the -json "verdict" field, and the summary's last line.
const (
	verdictOK          = "ok"          // the run finished and its mode's promise held
	verdictExpected    = "expected"    // the run finished; only markers its mode does not fence were missing
	verdictFail        = "fail"        // the run finished; a fence missed a marker it covers, or markers were duplicated, reordered or lost
	verdictTimeout     = "timeout"     // -timeout ended the run before it finished
	verdictInterrupted = "interrupted" // an interrupt ended the run before it finished
	verdictError       = "error"       // a member or a process failed
)

// judge is the outcome of a run that returned rep and err: exit status 0
// for an OK run and for one whose only finding is the missing markers its
// mode does not fence, 1 otherwise.
func judge(rep repro.Report, err error) outcome {
	switch {
	case errors.Is(err, errNotFinished) && errors.Is(err, context.DeadlineExceeded):
		return outcome{verdictTimeout, exitFail}
	case errors.Is(err, errNotFinished):
		return outcome{verdictInterrupted, exitFail}
	case err != nil:
		return outcome{verdictError, exitFail}
	case rep.OK:
		return outcome{verdictOK, exitOK}
	case rep.MissingExpected():
		return outcome{verdictExpected, exitOK}
	default:
		return outcome{verdictFail, exitFail}
	}
}

// reproJSON is the -json output: the main program's fields (but its
// coordinator snapshot), and the backend's.
type reproJSON struct {
	Backend           string       `json:"backend"`
	Procs             int          `json:"procs"`
	Placement         string       `json:"placement"`
	Mode              string       `json:"mode"`
	Members           int          `json:"members"`
	Workers           int          `json:"workers"`
	WorkersAt         string       `json:"workers_at"`
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
	// Waiting is, for a run that failed or did not finish, where the
	// members were when they were stopped.
	Waiting []string `json:"waiting,omitempty"`
}

type markerJSON struct {
	Worker    int `json:"worker"`
	Iteration int `json:"iteration"`
	Seq       int `json:"seq"`
}

// writeReproJSON writes the run's JSON object; err is the run's error.
func writeReproJSON(w io.Writer, opts reproOptions, rep repro.Report, res deployed, oc outcome, err error) {
	out := reproJSON{
		Backend: "redis", Procs: opts.procs, Placement: placement(reproParts(opts.cfg, groupConf{}, opts.procs)),
		Mode: rep.Mode.String(), Members: rep.Members, Workers: rep.Workers, WorkersAt: "processes",
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
	for _, s := range res.stuck {
		out.Waiting = append(out.Waiting, s.Error())
	}
	_ = json.NewEncoder(w).Encode(out)
}

// writeReproSummary writes the run's summary, partial when the run did not
// finish, ending with its verdict.
func writeReproSummary(w io.Writer, opts reproOptions, rep repro.Report, oc outcome) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	relays := ""
	if rep.Hops > 0 {
		relays = fmt.Sprintf(", %d relays", rep.Hops)
	}
	released := len(rep.PerIteration)
	p("muster repro: %s barrier, %d members (1 consumer, %d workers%s) in %d processes on Redis %s", rep.Mode, rep.Members, rep.Workers, relays, opts.procs, opts.addr)
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
	p("%s", verdict(rep, oc, opts.timeout))
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

// verdict is the summary's last line.
func verdict(rep repro.Report, oc outcome, timeout time.Duration) string {
	firstHopOnly := rep.Mode == fence.DeliveryFence && rep.Hops > 0
	switch {
	case oc.verdict == verdictTimeout:
		return fmt.Sprintf("TIMEOUT: the run did not finish within -timeout %v; stderr shows where the members were waiting", timeout)
	case oc.verdict == verdictInterrupted:
		return "INTERRUPTED: the run was stopped before it finished; stderr shows where the members were waiting"
	case oc.verdict == verdictError:
		return "ERROR: the run failed before it finished; stderr shows why"
	case oc.verdict == verdictFail:
		return "FAIL: " + failure(rep)
	case rep.OK && rep.Mode == fence.Rendezvous:
		return "OK: no marker missing this time — but rendezvous does not fence; the consumer was merely fast enough"
	case rep.OK && firstHopOnly:
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
func failure(rep repro.Report) string {
	var why []string
	if n := rep.FenceMissed(); n > 0 {
		what := "unhandled"
		if rep.Mode == fence.DeliveryFence && rep.Hops > 0 {
			what = "not handled by their first hop"
		}
		why = append(why, fmt.Sprintf("the %s barrier released with %d markers %s", rep.Mode, n, what))
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
	for unit := time.Second; unit >= time.Microsecond; unit /= 10 {
		if d >= 100*unit {
			return d.Round(unit)
		}
	}
	return d
}
