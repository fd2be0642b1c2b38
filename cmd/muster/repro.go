package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/internal/repro"
)

// reproOptions are the repro subcommand's flags.
type reproOptions struct {
	cfg     repro.Config
	json    bool
	timeout time.Duration
}

// parseRepro parses the repro flags, with cli.Parse: it returns
// flag.ErrHelp for -h, after printing the usage on stdout, and a printed
// cli.UsageError for what the flag package already reported on stderr.
func parseRepro(args []string, stdout, stderr io.Writer) (opts reproOptions, err error) {
	def := repro.DefaultConfig()
	fs := flag.NewFlagSet("muster repro", flag.ContinueOnError)
	mode := fs.String("mode", def.Mode.String(), "iteration barrier mode: rendezvous, delivery or processing")
	fs.IntVar(&opts.cfg.Workers, "workers", def.Workers, "worker members sending markers (≥ 1)")
	fs.IntVar(&opts.cfg.Iterations, "iterations", def.Iterations, "iterations (≥ 1)")
	fs.IntVar(&opts.cfg.Burst, "burst", def.Burst, "markers per worker per iteration (≥ 1)")
	fs.DurationVar(&opts.cfg.HandlerDelay, "handler-delay", def.HandlerDelay, "consumer's work per marker, slept in its handler (≥ 0; the OS timer may round small values up)")
	fs.IntVar(&opts.cfg.Hops, "hops", def.Hops, fmt.Sprintf("relays each marker passes through before the consumer (0 … %d; relays forward without delay)", repro.MaxHops))
	members := fs.String("members", "children", membersUsage)
	fs.DurationVar(&opts.timeout, "timeout", 60*time.Second, "give up after this long (> 0), printing what the run was stuck on")
	fs.BoolVar(&opts.json, "json", false, "print one JSON object instead of the summary")
	cli.SetUsage(fs, `usage: muster repro [flags]

Workers send bursts of markers to a slow consumer, then meet it at a barrier in
the chosen mode; when the consumer's barrier returns it checks that every marker
of the iteration was already handled. Without -hops, delivery and processing
must miss none; rendezvous does not fence and is expected to miss some (exit 0
either way).

With -hops N every marker goes worker → relay-0 → … → relay-(N-1) → consumer,
each relay a group member whose handler forwards it. The relays arrive before
the markers are sent, so delivery fences only the first hop and is expected to
miss markers still in the chain (exit 0 if relay-0 had handled them all);
processing waits until the group is quiescent and must miss none.

The workers are child processes of this program unless -members inproc; the
consumer and the relays run in it, where the check is.

Exit status 1 when a fence missed a marker it covers, a marker was handled
twice, out of order or never, a member failed, or the run did not finish
within -timeout (then, after the partial summary, stderr shows what the
members were waiting for and the coordinator's state). With -json, "ok" is true
exactly when the exit status is 0, and "verdict" says why: ok, expected, fail,
timeout, interrupted or error.

flags:
`)
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return opts, err
	}
	if opts.cfg.Mode, err = fence.ParseMode(*mode); err != nil {
		return opts, err
	}
	if opts.cfg.InProcess, err = inProcess(*members); err != nil {
		return opts, err
	}
	if opts.timeout <= 0 {
		return opts, fmt.Errorf("-timeout must be positive, got %v", opts.timeout)
	}
	if err := opts.cfg.Validate(); err != nil {
		return opts, err
	}
	return opts, nil
}

// reproCommand runs "muster repro".
func reproCommand(ctx context.Context, runScenario runner, args []string, stdout, stderr io.Writer) int {
	opts, err := parseRepro(args, stdout, stderr)
	if err != nil {
		return cli.UsageStatus("repro", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	rep, err := runScenario(ctx, opts.cfg)
	v := repro.Judge(rep, err)
	if opts.json {
		if werr := writeJSON(stdout, rep, v, err); werr != nil {
			fmt.Fprintf(stderr, "muster repro: %v\n", werr)
			return cli.ExitFail
		}
	} else {
		writeSummary(stdout, rep, v, opts.timeout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "muster repro: %v\n", err)
		if rep.Stuck != nil && !opts.json { // -json carries it in the object
			writeStuck(stderr, rep.Stuck)
		}
	}
	return cli.Status(v.OK())
}
