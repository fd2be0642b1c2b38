package bsp

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Report is a run as the demo programs report it: their summary, or their
// -json object.
type Report struct {
	Config Config
	Result Result
	Err    error // the run's; nil if it finished

	// Where says where the workers ran, in the summary: "child
	// processes", "goroutines", "3 processes on Redis HOST:PORT".
	Where string
	// Members says it in the JSON: "children", "inproc" or "processes".
	Members string
	// Backend and Procs are, for a program that spreads the members over
	// processes, where the group's state lives and how many processes
	// there were; the JSON leaves them out when they are zero.
	Backend string
	Procs   int
}

// OK reports whether the run finished and its ranks match the
// single-process computation. A program exits with status 0 exactly then,
// and its -json "ok" says so.
func (r Report) OK() bool { return r.Err == nil && r.Result.OK() }

// Write writes the report on w: as one JSON object if asJSON, else as the
// summary.
func (r Report) Write(w io.Writer, asJSON bool) {
	if asJSON {
		r.writeJSON(w)
	} else {
		r.writeSummary(w)
	}
}

// writeSummary writes the two lines of the summary: what ran, and the
// verdict.
func (r Report) writeSummary(w io.Writer) {
	verdict := "ok: the ranks match the single-process computation"
	if !r.OK() {
		verdict = "FAIL: the ranks differ from the single-process computation"
	}
	var mean time.Duration
	for _, d := range r.Result.PerStep {
		mean += d
	}
	if len(r.Result.PerStep) > 0 {
		mean /= time.Duration(len(r.Result.PerStep))
	}
	fmt.Fprintf(w, "%d supersteps of PageRank on %d nodes by %d workers (%s), mode %v: %d messages, %v per superstep, max difference %.3g\n%s\n",
		len(r.Result.PerStep), r.Config.Nodes, r.Config.Workers, r.Where, r.Config.Mode, r.Result.Messages,
		mean.Round(time.Microsecond), r.Result.MaxDiff, verdict)
}

// reportJSON is the -json object.
type reportJSON struct {
	OK         bool      `json:"ok"`
	Backend    string    `json:"backend,omitempty"`
	Procs      int       `json:"procs,omitempty"`
	Mode       string    `json:"mode"`
	Members    string    `json:"members"`
	Nodes      int       `json:"nodes"`
	Workers    int       `json:"workers"`
	Supersteps int       `json:"supersteps"`
	Messages   int       `json:"messages"`
	PerStepMS  []float64 `json:"per_superstep_ms"`
	MaxDiff    float64   `json:"max_diff"`
	ElapsedMS  float64   `json:"elapsed_ms"`
	Error      string    `json:"error,omitempty"`
}

// writeJSON writes the -json object, indented.
func (r Report) writeJSON(w io.Writer) {
	res := r.Result
	perStep := make([]float64, len(res.PerStep))
	for i, d := range res.PerStep {
		perStep[i] = milliseconds(d)
	}
	out := reportJSON{OK: r.OK(), Backend: r.Backend, Procs: r.Procs, Mode: r.Config.Mode.String(), Members: r.Members,
		Nodes: r.Config.Nodes, Workers: r.Config.Workers, Supersteps: len(res.PerStep), Messages: res.Messages,
		PerStepMS: perStep, MaxDiff: res.MaxDiff, ElapsedMS: milliseconds(res.Elapsed)}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// milliseconds is d in milliseconds, to the microsecond.
func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
