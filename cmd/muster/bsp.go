package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/bsp"
)

// bspOptions are the bsp subcommand's flags.
type bspOptions struct {
	cfg     bsp.Config
	json    bool
	timeout time.Duration
}

// parseBSP parses the bsp flags, as parseRepro does the repro flags.
func parseBSP(args []string, stdout, stderr io.Writer) (opts bspOptions, err error) {
	def := bsp.DefaultConfig()
	fs := flag.NewFlagSet("muster bsp", flag.ContinueOnError)
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	mode := fs.String("mode", def.Mode.String(), "superstep barrier mode: delivery, processing, or rendezvous (which does not fence: the check fails)")
	members := fs.String("members", "children", membersUsage)
	fs.IntVar(&opts.cfg.Nodes, "nodes", def.Nodes, "graph nodes (≥ 1)")
	fs.IntVar(&opts.cfg.Degree, "degree", def.Degree, "successors per node (≥ 1)")
	fs.Uint64Var(&opts.cfg.Seed, "seed", def.Seed, "the graph's seed")
	fs.IntVar(&opts.cfg.Supersteps, "supersteps", def.Supersteps, "supersteps (≥ 1)")
	fs.IntVar(&opts.cfg.Workers, "workers", def.Workers, "workers (1 … nodes)")
	fs.Float64Var(&opts.cfg.Damping, "damping", def.Damping, "PageRank's damping factor (0 … 1)")
	fs.DurationVar(&opts.cfg.HandlerDelay, "handler-delay", 0, "slept per message a worker handles (≥ 0)")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "give up after this long (> 0)")
	fs.BoolVar(&opts.json, "json", false, "print one JSON object instead of the progress and summary")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: muster bsp [flags]

PageRank on a generated graph, bulk-synchronously: every superstep each worker
sends the rank flowing along its nodes' edges to the workers that own the other
ends, then meets the others at a barrier; the next superstep starts from what
arrived. The result is checked against a computation in one process. The
workers are child processes of this program unless -members inproc.

Exit status 1 when the ranks differ from the single-process result by more
than 1e-9 (as they do with -mode rendezvous, which does not fence), a member
failed or the run did not finish within -timeout; 2 on usage errors.

flags:
`)
		fs.PrintDefaults()
	}
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.Copy(stdout, &printed)
		return opts, err
	case err != nil:
		io.Copy(stderr, &printed)
		return opts, flagError{err}
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "muster bsp: unexpected argument %q\n", fs.Arg(0))
		return opts, flagError{errors.New("unexpected argument")}
	}
	if opts.cfg.Mode, err = fence.ParseMode(*mode); err != nil {
		fmt.Fprintf(stderr, "muster bsp: -mode: %v\n", err)
		return opts, flagError{err}
	}
	if opts.cfg.InProcess, err = inProcess(*members); err != nil {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
		return opts, flagError{err}
	}
	if opts.timeout <= 0 {
		fmt.Fprintln(stderr, "muster bsp: -timeout must be > 0")
		return opts, flagError{errors.New("bad -timeout")}
	}
	return opts, nil
}

// bspCommand runs the bsp subcommand and returns the exit status.
func bspCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseBSP(args, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	var progress func(int, time.Duration)
	if !opts.json {
		progress = progressPrinter(stdout, opts.cfg.Supersteps)
	}
	res, err := bsp.Run(ctx, opts.cfg, progress)
	if errors.Is(err, bsp.ErrInvalidConfig) {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
		return exitUsage
	}
	ok := err == nil && res.OK()
	if opts.json {
		writeBSPJSON(stdout, opts, res, err, ok)
	} else {
		writeBSPSummary(stdout, opts, res, ok)
	}
	if err != nil {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
	}
	if !ok {
		return exitFail
	}
	return exitOK
}

// progressPrinter returns what prints each superstep: a bar redrawn in
// place on a terminal, a line each otherwise.
func progressPrinter(w io.Writer, total int) func(int, time.Duration) {
	f, isFile := w.(*os.File)
	terminal := false
	if isFile {
		if st, err := f.Stat(); err == nil {
			terminal = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return func(step int, took time.Duration) {
		if !terminal {
			fmt.Fprintf(w, "superstep %d/%d: %v\n", step, total, took.Round(time.Microsecond))
			return
		}
		const width = 30
		done := step * width / total
		fmt.Fprintf(w, "\r[%s%s] superstep %d/%d  %v   ", strings.Repeat("#", done), strings.Repeat(".", width-done),
			step, total, took.Round(time.Microsecond))
		if step == total {
			fmt.Fprintln(w)
		}
	}
}

func writeBSPSummary(w io.Writer, opts bspOptions, res bsp.Result, ok bool) {
	verdict := "ok: the ranks match the single-process computation"
	if !ok {
		verdict = "FAIL: the ranks differ from the single-process computation"
	}
	where := "child processes"
	if opts.cfg.InProcess {
		where = "goroutines"
	}
	var mean time.Duration
	for _, d := range res.PerStep {
		mean += d
	}
	if len(res.PerStep) > 0 {
		mean /= time.Duration(len(res.PerStep))
	}
	fmt.Fprintf(w, "%d supersteps of PageRank on %d nodes by %d workers (%s), mode %v: %d messages, %v per superstep, max difference %.3g\n%s\n",
		len(res.PerStep), opts.cfg.Nodes, opts.cfg.Workers, where, opts.cfg.Mode, res.Messages,
		mean.Round(time.Microsecond), res.MaxDiff, verdict)
}

func writeBSPJSON(w io.Writer, opts bspOptions, res bsp.Result, err error, ok bool) {
	perStep := make([]float64, len(res.PerStep))
	for i, d := range res.PerStep {
		perStep[i] = float64(d.Microseconds()) / 1000
	}
	out := struct {
		OK         bool      `json:"ok"`
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
	}{OK: ok, Mode: opts.cfg.Mode.String(), Members: map[bool]string{false: "children", true: "inproc"}[opts.cfg.InProcess],
		Nodes: opts.cfg.Nodes, Workers: opts.cfg.Workers, Supersteps: len(res.PerStep), Messages: res.Messages,
		PerStepMS: perStep, MaxDiff: res.MaxDiff, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000}
	if err != nil {
		out.Error = err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
