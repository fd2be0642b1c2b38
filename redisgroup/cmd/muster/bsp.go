package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/bsp"
	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// bspOptions are the bsp subcommand's flags.
type bspOptions struct {
	cfg bsp.Config
	deployFlags
}

// parseBSP parses the bsp flags (see cli.Parse).
func parseBSP(args []string, stdout, stderr io.Writer) (opts bspOptions, err error) {
	fs := flag.NewFlagSet("muster bsp", flag.ContinueOnError)
	opts.register(fs, 5*time.Minute, bsp.DefaultConfig().Mode, "superstep barrier mode: delivery, processing, or rendezvous (which does not fence: the check fails)")
	opts.cfg.AddFlags(fs)
	cli.SetUsage(fs, `usage: muster bsp -backend redis -redis-addr HOST:PORT [flags]

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
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
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
		return cli.UsageStatus("bsp", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	var progress func(int, time.Duration)
	if !opts.json {
		progress = bsp.ProgressPrinter(stdout, opts.cfg.Supersteps)
	}
	res, dep, err := runBSP(ctx, opts, progress, stderr)
	rep := bsp.Report{Config: opts.cfg, Result: res, Err: err,
		Where: fmt.Sprintf("%d processes on Redis %s", opts.procs, opts.addr), Members: "processes",
		Backend: "redis", Procs: opts.procs}
	rep.Write(stdout, opts.json)
	if err != nil {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
		writeStuck(stderr, dep.stuck)
	}
	return cli.Status(rep.OK())
}

// runBSP runs the job across opts.procs processes, as bsp.Run does in one,
// and checks the ranks against bsp.Reference (bsp.MaxDiff).
func runBSP(ctx context.Context, opts bspOptions, progress func(int, time.Duration), stderr io.Writer) (bsp.Result, deployed, error) {
	cfg := opts.cfg
	start := time.Now()
	gc := newGroupConf(opts.deployFlags, bsp.GroupName)
	d := &driver{cfg: cfg, progress: progress, reports: make(chan bsp.Msg, cfg.Workers), ranks: make([][]float64, cfg.Workers)}
	dep, err := deploy(ctx, deployment[bsp.Msg]{group: gc, parts: bspParts(cfg, gc, opts.procs), local: 2, spawn: d.spawn}, stderr)
	// The driver's goroutine has exited.
	res := bsp.Result{Supersteps: cfg.Supersteps, Messages: cfg.Supersteps * cfg.Workers * cfg.Workers, PerStep: d.perStep}
	if err != nil {
		return res, dep, err
	}
	res.MaxDiff = bsp.MaxDiff(cfg, d.ranks)
	res.Elapsed = time.Since(start)
	return res, dep, nil
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
				role := bsp.WorkerRole(p.Config, w)
				if err := g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bsp.WorkerName(w), Groups: []string{bsp.GroupName},
					Handler: role.Handler, Run: role.Run}); err != nil {
					return err
				}
			}
			return nil
		},
	}
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
	if err := g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bsp.CollectorName, Handler: collect}); err != nil {
		return err
	}
	return g.spawn(ctx, processgroup.Spec[bsp.Msg]{Name: bsp.DriverName, Groups: []string{bsp.GroupName}, Run: d.run})
}

// run is the driver's body: the start, the supersteps, then the workers'
// final ranks.
func (d *driver) run(ctx context.Context, m managedprocess.Member[bsp.Msg]) error {
	if _, err := m.Barrier(ctx, bsp.GroupName, bsp.StartBarrier, fence.Rendezvous); err != nil {
		return fmt.Errorf("driver, start: %w", err)
	}
	for step := 1; step <= d.cfg.Supersteps; step++ {
		t := time.Now()
		if _, err := m.Barrier(ctx, bsp.GroupName, bsp.SuperstepBarrier, d.cfg.Mode); err != nil {
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
