package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/bsp"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// The names internal/bsp's workers use, which it does not export: its
// group, barriers, collector and driver, its worker role, and the
// environment variable its worker reads its share from.
const (
	bspGroup      = "bsp"
	bspStart      = "start"
	bspBarrier    = "superstep"
	bspCollector  = "bsp-collector"
	bspDriver     = "bsp-driver"
	bspWorkerRole = "bsp-worker"
	bspWorkerEnv  = "MUSTER_BSP_WORKER"
)

// bspOptions are the bsp subcommand's flags.
type bspOptions struct {
	cfg bsp.Config
	deployFlags
}

// parseBSP parses the bsp flags (see parseFlags).
func parseBSP(args []string, stdout, stderr io.Writer) (opts bspOptions, err error) {
	def := bsp.DefaultConfig()
	fs := flag.NewFlagSet("muster bsp", flag.ContinueOnError)
	opts.register(fs, 5*time.Minute, def.Mode, "superstep barrier mode: delivery, processing, or rendezvous (which does not fence: the check fails)")
	fs.IntVar(&opts.cfg.Nodes, "nodes", def.Nodes, "graph nodes (≥ 1)")
	fs.IntVar(&opts.cfg.Degree, "degree", def.Degree, "successors per node (≥ 1)")
	fs.Uint64Var(&opts.cfg.Seed, "seed", def.Seed, "the graph's seed")
	fs.IntVar(&opts.cfg.Supersteps, "supersteps", def.Supersteps, "supersteps (≥ 1)")
	fs.IntVar(&opts.cfg.Workers, "workers", def.Workers, "workers (1 … nodes)")
	fs.Float64Var(&opts.cfg.Damping, "damping", def.Damping, "PageRank's damping factor (0 … 1)")
	fs.DurationVar(&opts.cfg.HandlerDelay, "handler-delay", 0, "slept per message a worker handles (≥ 0)")
	setUsage(fs, `usage: muster bsp -backend redis -redis-addr HOST:PORT [flags]

PageRank on a generated graph, bulk-synchronously, across OS processes, the
group kept in Redis: every superstep each worker sends the rank flowing along
its nodes' edges to the workers that own the other ends, then meets the others
at a barrier; the next superstep starts from what arrived. The result is
checked against a computation in one process.

The driver, which meets the workers at every superstep, and the collector of
the final ranks run in this process; the workers (internal/bsp's own) run in
-procs - 1 child processes (this program again), dealt round-robin. Every
process has its own coordinator of group "bsp" on a random key prefix,
deleted at the end.

Exit status 1 when the ranks differ from the single-process result by more
than 1e-9 (as they do with -mode rendezvous, which does not fence), a member
or a process failed or the run did not finish within -timeout; 2 on usage
errors.

flags:
`)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return opts, err
	}
	if opts.cfg.Mode, err = opts.parseMode(); err != nil {
		return opts, err
	}
	if err := validateBSP(opts.cfg); err != nil {
		return opts, err
	}
	return opts, opts.check(opts.cfg.Workers, "workers")
}

// validateBSP refuses what bsp.Run refuses (its check is unexported).
func validateBSP(c bsp.Config) error {
	switch {
	case c.Nodes < 1, c.Degree < 1, c.Supersteps < 1, c.Workers < 1:
		return errors.New("-nodes, -degree, -supersteps and -workers must be at least 1")
	case c.Workers > c.Nodes:
		return fmt.Errorf("more workers (%d) than nodes (%d)", c.Workers, c.Nodes)
	case c.Damping < 0 || c.Damping > 1:
		return fmt.Errorf("-damping %v outside 0 … 1", c.Damping)
	case c.HandlerDelay < 0:
		return fmt.Errorf("-handler-delay must not be negative, got %v", c.HandlerDelay)
	}
	return nil
}

// bspCommand runs "muster bsp".
func bspCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseBSP(args, stdout, stderr)
	if err != nil {
		return usageStatus("bsp", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	var progress func(int, time.Duration)
	if !opts.json {
		progress = progressPrinter(stdout, opts.cfg.Supersteps)
	}
	res, dep, err := runBSP(ctx, opts, progress, stderr)
	ok := err == nil && res.OK()
	if opts.json {
		writeBSPJSON(stdout, opts, res, err, ok)
	} else {
		writeBSPSummary(stdout, opts, res, ok)
	}
	if err != nil {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
		writeStuck(stderr, dep.stuck)
	}
	if !ok {
		return exitFail
	}
	return exitOK
}

// runBSP runs the job across opts.procs processes, as bsp.Run does in one,
// and checks the ranks against bsp.Reference.
func runBSP(ctx context.Context, opts bspOptions, progress func(int, time.Duration), stderr io.Writer) (bsp.Result, deployed, error) {
	cfg := opts.cfg
	start := time.Now()
	gc := newGroupConf(opts.deployFlags, bspGroup)
	d := &driver{cfg: cfg, progress: progress, reports: make(chan bsp.Msg, cfg.Workers), ranks: make([][]float64, cfg.Workers)}
	dep, err := deploy(ctx, deployment[bsp.Msg]{group: gc, parts: bspParts(cfg, gc, opts.procs), local: 2, spawn: d.spawn}, stderr)
	// The driver's goroutine has exited.
	res := bsp.Result{Supersteps: cfg.Supersteps, Messages: cfg.Supersteps * cfg.Workers * cfg.Workers, PerStep: d.perStep}
	if err != nil {
		return res, dep, err
	}
	res.MaxDiff = maxDiff(cfg, d.ranks, bsp.Reference(bsp.NewGraph(cfg.Nodes, cfg.Degree, cfg.Seed), cfg.Supersteps, cfg.Damping))
	res.Elapsed = time.Since(start)
	return res, dep, nil
}

// maxDiff is the largest difference between the workers' ranks and want:
// worker w reports the ranks of its nodes w, w+W, w+2W, …
func maxDiff(cfg bsp.Config, ranks [][]float64, want []float64) float64 {
	diff := 0.0
	for w, rs := range ranks {
		for i, r := range rs {
			diff = math.Max(diff, math.Abs(r-want[w+i*cfg.Workers]))
		}
	}
	return diff
}

// bspPart is a child process's share of a job.
type bspPart struct {
	Config  bsp.Config `json:"config"`
	Workers []int      `json:"workers"` // the indices of the workers it serves
}

// bspParts deals the workers round-robin over procs-1 child processes.
func bspParts(cfg bsp.Config, gc groupConf, procs int) []part {
	parts := make([]part, procs-1)
	for i := range parts {
		parts[i] = part{Command: "bsp", Proc: i + 1, Group: gc, BSP: &bspPart{Config: cfg}}
	}
	for w := range cfg.Workers {
		p := parts[w%len(parts)].BSP
		p.Workers = append(p.Workers, w)
	}
	return parts
}

// share is what the child process serving p runs: bsp's workers.
func (p *bspPart) share() share[bsp.Msg] {
	return share[bsp.Msg]{
		members: len(p.Workers),
		sent:    func() int { return 0 },
		spawn: func(ctx context.Context, g proc[bsp.Msg]) error {
			for _, w := range p.Workers {
				role, err := bspWorker(p.Config, w)
				if err != nil {
					return err
				}
				if err := g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bsp.WorkerName(w), Groups: []string{bspGroup},
					Handler: role.Handler, Run: role.Run}); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// bspWorker returns worker i of the job cfg describes: internal/bsp's own
// worker, the role its child processes serve (bsp.Roles), which reads its
// share from the environment when the role is made, encoded as bsp encodes
// it: the config's fields and the index.
func bspWorker(cfg bsp.Config, i int) (processgroup.Role[bsp.Msg], error) {
	b, err := json.Marshal(struct {
		bsp.Config
		Index int `json:"index"`
	}{cfg, i})
	if err != nil {
		return processgroup.Role[bsp.Msg]{}, err
	}
	if err := os.Setenv(bspWorkerEnv, string(b)); err != nil {
		return processgroup.Role[bsp.Msg]{}, err
	}
	defer os.Unsetenv(bspWorkerEnv)
	role, ok := bsp.Roles()[bspWorkerRole]
	if !ok {
		return role, fmt.Errorf("internal/bsp has no role %q", bspWorkerRole)
	}
	return role, nil
}

// driver is the job's driver and collector, in the parent process: the
// driver meets the workers at the start and at every superstep, the
// collector receives their final ranks.
type driver struct {
	cfg      bsp.Config
	progress func(step int, took time.Duration) // nil: none
	reports  chan bsp.Msg                       // the collector's
	perStep  []time.Duration                    // written by the driver's run goroutine, read once the coordinator closed
	ranks    [][]float64                        // by worker, likewise
}

// spawn spawns the collector, outside the group, and the driver.
func (d *driver) spawn(ctx context.Context, g proc[bsp.Msg]) error {
	collect := func(hctx context.Context, m managedprocess.Message[bsp.Msg]) {
		select {
		case d.reports <- m.Body:
		case <-hctx.Done():
		}
	}
	if err := g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bspCollector, Handler: collect}); err != nil {
		return err
	}
	return g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bspDriver, Groups: []string{bspGroup}, Run: d.run})
}

// run is the driver's body: the start, the supersteps, then the workers'
// final ranks.
func (d *driver) run(ctx context.Context, m managedprocess.Member[bsp.Msg]) error {
	if _, err := m.Barrier(ctx, bspGroup, bspStart, fence.Rendezvous); err != nil {
		return fmt.Errorf("driver, start: %w", err)
	}
	for step := 1; step <= d.cfg.Supersteps; step++ {
		t := time.Now()
		if _, err := m.Barrier(ctx, bspGroup, bspBarrier, d.cfg.Mode); err != nil {
			return fmt.Errorf("driver, superstep %d: %w", step, err)
		}
		d.perStep = append(d.perStep, time.Since(t))
		if d.progress != nil {
			d.progress(step, time.Since(t))
		}
	}
	for range d.cfg.Workers {
		select {
		case msg := <-d.reports:
			if msg.From < 0 || msg.From >= d.cfg.Workers || !msg.Final ||
				len(msg.Ranks) != (d.cfg.Nodes-msg.From+d.cfg.Workers-1)/d.cfg.Workers {
				return fmt.Errorf("collector: worker %d of %d reported %d ranks", msg.From, d.cfg.Workers, len(msg.Ranks))
			}
			d.ranks[msg.From] = msg.Ranks
		case <-ctx.Done():
			return fmt.Errorf("collector, waiting for the workers' ranks: %w", context.Cause(ctx))
		}
	}
	return nil
}

// progressPrinter returns what prints each superstep: a bar redrawn in
// place on a terminal, a line each otherwise.
func progressPrinter(w io.Writer, total int) func(int, time.Duration) {
	terminal := false
	if f, ok := w.(*os.File); ok {
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
	var mean time.Duration
	for _, d := range res.PerStep {
		mean += d
	}
	if len(res.PerStep) > 0 {
		mean /= time.Duration(len(res.PerStep))
	}
	fmt.Fprintf(w, "%d supersteps of PageRank on %d nodes by %d workers (%d processes on Redis %s), mode %v: %d messages, %v per superstep, max difference %.3g\n%s\n",
		len(res.PerStep), opts.cfg.Nodes, opts.cfg.Workers, opts.procs, opts.addr, opts.cfg.Mode, res.Messages,
		mean.Round(time.Microsecond), res.MaxDiff, verdict)
}

func writeBSPJSON(w io.Writer, opts bspOptions, res bsp.Result, err error, ok bool) {
	perStep := make([]float64, len(res.PerStep))
	for i, d := range res.PerStep {
		perStep[i] = float64(d.Microseconds()) / 1000
	}
	out := struct {
		OK         bool      `json:"ok"`
		Backend    string    `json:"backend"`
		Procs      int       `json:"procs"`
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
	}{OK: ok, Backend: "redis", Procs: opts.procs, Mode: opts.cfg.Mode.String(), Members: "processes",
		Nodes: opts.cfg.Nodes, Workers: opts.cfg.Workers, Supersteps: len(res.PerStep), Messages: res.Messages,
		PerStepMS: perStep, MaxDiff: res.MaxDiff, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000}
	if err != nil {
		out.Error = err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
