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
	Messages          int          `json:"messages"`
	Handled           int          `json:"handled"`
	Missing           int          `json:"missing"`
	MissingIterations int          `json:"missing_iterations"`
	FirstMissing      []markerJSON `json:"first_missing"`
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
		Messages: rep.Messages, Handled: rep.Handled,
		Missing: rep.Missing, MissingIterations: rep.MissingIterations, FirstMissing: []markerJSON{},
		Duplicates: rep.Duplicates, OutOfOrder: rep.OutOfOrder, Lost: rep.Lost,
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
	p("muster repro: %s barrier, %d members (1 consumer, %d workers)", rep.Mode, rep.Members, rep.Workers)
	p("  iterations     %d × burst %d per worker, handler delay %v", rep.Iterations, rep.Burst, rep.HandlerDelay)
	p("  markers        %d sent, %d handled", rep.Messages, rep.Handled)
	p("  missing        %d at the consumer's release (in %d of %d iterations)", rep.Missing, rep.MissingIterations, rep.Iterations)
	if len(rep.FirstMissing) > 0 {
		names := make([]string, len(rep.FirstMissing))
		for i, mk := range rep.FirstMissing {
			names[i] = mk.String()
		}
		more := ""
		if rep.Missing > len(names) {
			more = fmt.Sprintf(" … (%d more)", rep.Missing-len(names))
		}
		p("  first missing  %s%s", strings.Join(names, " "), more)
	}
	p("  duplicates     %d", rep.Duplicates)
	p("  out of order   %d", rep.OutOfOrder)
	if rep.Lost > 0 {
		p("  lost           %d (never handled)", rep.Lost)
	}
	p("  barrier        p50 %v  p99 %v  max %v (consumer: arrival to release)", round(rep.BarrierP50), round(rep.BarrierP99), round(rep.BarrierMax))
	p("  elapsed        %v", round(rep.Elapsed))
	switch {
	case rep.OK && rep.Mode == fence.Rendezvous:
		p("OK: no marker missing this time — but rendezvous does not fence; the consumer was merely fast enough")
	case rep.OK:
		p("OK: every marker was handled before the %s barrier released", rep.Mode)
	case rep.Mode == fence.Rendezvous && !rep.Violations():
		p("EXPECTED: rendezvous does not fence — the consumer was released with %d markers still unhandled (all handled later; try -mode delivery)", rep.Missing)
	default:
		p("FAIL: %s", failure(rep))
	}
}

func failure(rep repro.Report) string {
	var why []string
	if rep.Missing > 0 && rep.Mode != fence.Rendezvous {
		why = append(why, fmt.Sprintf("the %s barrier released with %d markers unhandled", rep.Mode, rep.Missing))
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
