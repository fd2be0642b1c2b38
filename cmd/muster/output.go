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

// reproJSON is the -json output: one object.
type reproJSON struct {
	Mode              string       `json:"mode"`
	Members           int          `json:"members"`
	Workers           int          `json:"workers"`
	Iterations        int          `json:"iterations"`
	Burst             int          `json:"burst"`
	HandlerDelayUS    int64        `json:"handler_delay_us"`
	Hops              int          `json:"hops"`
	Messages          int          `json:"messages"`
	Handled           int          `json:"handled"`
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
	OK                bool         `json:"ok"`
}

type markerJSON struct {
	Worker    int `json:"worker"`
	Iteration int `json:"iteration"`
	Seq       int `json:"seq"`
}

func writeJSON(w io.Writer, rep repro.Report) error {
	out := reproJSON{
		Mode: rep.Mode.String(), Members: rep.Members, Workers: rep.Workers,
		Iterations: rep.Iterations, Burst: rep.Burst, HandlerDelayUS: rep.HandlerDelay.Microseconds(),
		Hops: rep.Hops, Messages: rep.Messages, Handled: rep.Handled,
		Missing: rep.Missing, MissingIterations: rep.MissingIterations, FirstMissing: []markerJSON{},
		FirstHopMissing: rep.FirstHopMissing, Duplicates: rep.Duplicates, OutOfOrder: rep.OutOfOrder, Lost: rep.Lost,
		BarrierP50US: rep.BarrierP50.Microseconds(), BarrierP99US: rep.BarrierP99.Microseconds(),
		BarrierMaxUS: rep.BarrierMax.Microseconds(), ElapsedMS: rep.Elapsed.Milliseconds(),
		Fences: rep.Mode.Drains(), OK: rep.OK,
	}
	for _, mk := range rep.FirstMissing {
		out.FirstMissing = append(out.FirstMissing, markerJSON{Worker: mk.Worker, Iteration: mk.Iteration, Seq: mk.Seq})
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

func writeSummary(w io.Writer, rep repro.Report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	relays := ""
	if rep.Hops > 0 {
		relays = fmt.Sprintf(", %d relays", rep.Hops)
	}
	p("muster repro: %s barrier, %d members (1 consumer, %d workers%s)", rep.Mode, rep.Members, rep.Workers, relays)
	p("  iterations     %d × burst %d per worker, handler delay %v", rep.Iterations, rep.Burst, rep.HandlerDelay)
	if rep.Hops > 0 {
		p("  hops           %d per marker: worker → relay-0 → … → relay-%d → consumer", rep.Hops, rep.Hops-1)
	}
	p("  markers        %d sent, %d handled", rep.Messages, rep.Handled)
	p("  missing        %d at the consumer's release (in %d of %d iterations)", rep.Missing, rep.MissingIterations, rep.Iterations)
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
	p("  barrier        p50 %v  p99 %v  max %v (consumer: arrival to release)", round(rep.BarrierP50), round(rep.BarrierP99), round(rep.BarrierMax))
	p("  elapsed        %v", round(rep.Elapsed))
	p("%s", verdict(rep))
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
// does not fence) or FAIL.
func verdict(rep repro.Report) string {
	switch {
	case rep.OK && rep.Mode == fence.Rendezvous:
		return "OK: no marker missing this time — but rendezvous does not fence; the consumer was merely fast enough"
	case rep.OK && firstHopOnly(rep):
		return "OK: no marker missing this time — but delivery fences only the first hop; the relays and the consumer were merely fast enough"
	case rep.OK:
		return fmt.Sprintf("OK: every marker was handled before the %s barrier released", rep.Mode)
	case rep.MissingExpected() && rep.Mode == fence.Rendezvous:
		return fmt.Sprintf("EXPECTED: rendezvous does not fence — the consumer was released with %d markers still unhandled (all handled later; try -mode delivery)", rep.Missing)
	case rep.MissingExpected():
		return fmt.Sprintf("EXPECTED: delivery fences only the first hop — relay-0 had handled every marker, but the consumer was released with %d still in the relay chain (all handled later; try -mode processing)", rep.Missing)
	default:
		return "FAIL: " + failure(rep)
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
