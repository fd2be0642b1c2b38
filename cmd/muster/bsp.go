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
)

// bspOptions are the bsp subcommand's flags.
type bspOptions struct {
	cfg     bsp.Config
	json    bool
	timeout time.Duration
}

// parseBSP parses the bsp flags, as parseRepro does the repro flags.
func parseBSP(args []string, stdout, stderr io.Writer) (opts bspOptions, err error) {
	fs := flag.NewFlagSet("muster bsp", flag.ContinueOnError)
	mode := fs.String("mode", bsp.DefaultConfig().Mode.String(), "superstep barrier mode: delivery, processing, or rendezvous (which does not fence: the check fails)")
	members := fs.String("members", "children", membersUsage)
	opts.cfg.AddFlags(fs)
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "give up after this long (> 0)")
	fs.BoolVar(&opts.json, "json", false, "print one JSON object instead of the progress and summary")
	cli.SetUsage(fs, `usage: muster bsp [flags]

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
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return opts, err
	}
	if opts.cfg.Mode, err = fence.ParseMode(*mode); err != nil {
		return opts, fmt.Errorf("-mode: %w", err)
	}
	if opts.cfg.InProcess, err = inProcess(*members); err != nil {
		return opts, err
	}
	if opts.timeout <= 0 {
		return opts, errors.New("-timeout must be > 0")
	}
	return opts, nil
}

// bspCommand runs the bsp subcommand and returns the exit status. Its usage
// errors take one line (cli.TerseUsageStatus), bsp.Run's refusal of the
// config too.
func bspCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseBSP(args, stdout, stderr)
	if err != nil {
		return cli.TerseUsageStatus("bsp", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	var progress func(int, time.Duration)
	if !opts.json {
		progress = bsp.ProgressPrinter(stdout, opts.cfg.Supersteps)
	}
	res, err := bsp.Run(ctx, opts.cfg, progress)
	if errors.Is(err, bsp.ErrInvalidConfig) {
		return cli.TerseUsageStatus("bsp", err, stderr)
	}
	rep := bsp.Report{Config: opts.cfg, Result: res, Err: err,
		Where: "child processes", Members: "children"}
	if opts.cfg.InProcess {
		rep.Where, rep.Members = "goroutines", "inproc"
	}
	rep.Write(stdout, opts.json)
	if err != nil {
		fmt.Fprintf(stderr, "muster bsp: %v\n", err)
	}
	return cli.Status(rep.OK())
}
