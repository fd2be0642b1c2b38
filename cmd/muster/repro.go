package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/repro"
)

// reproOptions are the repro subcommand's flags.
type reproOptions struct {
	cfg     repro.Config
	json    bool
	timeout time.Duration
}

// parseRepro parses the repro flags. It returns flag.ErrHelp for -h, after
// printing the usage on stdout, and a flagError for what the flag package
// already reported on stderr.
func parseRepro(args []string, stdout, stderr io.Writer) (opts reproOptions, err error) {
	def := repro.DefaultConfig()
	fs := flag.NewFlagSet("muster repro", flag.ContinueOnError)
	// The flag package prints the usage for -h and for its errors alike:
	// hold it until Parse says which, then route it.
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	mode := fs.String("mode", def.Mode.String(), "iteration barrier mode: rendezvous, delivery or processing")
	fs.IntVar(&opts.cfg.Workers, "workers", def.Workers, "worker members sending markers (≥ 1)")
	fs.IntVar(&opts.cfg.Iterations, "iterations", def.Iterations, "iterations (≥ 1)")
	fs.IntVar(&opts.cfg.Burst, "burst", def.Burst, "markers per worker per iteration (≥ 1)")
	fs.DurationVar(&opts.cfg.HandlerDelay, "handler-delay", def.HandlerDelay, "consumer's work per marker, slept in its handler (≥ 0; the OS timer may round small values up)")
	fs.IntVar(&opts.cfg.Hops, "hops", def.Hops, fmt.Sprintf("relays each marker passes through before the consumer (0 … %d; relays forward without delay)", repro.MaxHops))
	members := fs.String("members", "children", membersUsage)
	fs.DurationVar(&opts.timeout, "timeout", 60*time.Second, "give up after this long (> 0), printing what the run was stuck on")
	fs.BoolVar(&opts.json, "json", false, "print one JSON object instead of the summary")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: muster repro [flags]

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
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			stdout.Write(printed.Bytes())
			return opts, err
		}
		stderr.Write(printed.Bytes())
		return opts, flagError{err}
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
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
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		if !isFlagPackageError(err) {
			fmt.Fprintf(stderr, "muster repro: %v\n", err)
			fmt.Fprintln(stderr, `run "muster repro -h" for usage`)
		}
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	rep, err := runScenario(ctx, opts.cfg)
	out := judge(rep, err)
	if opts.json {
		if werr := writeJSON(stdout, rep, out, err); werr != nil {
			fmt.Fprintf(stderr, "muster repro: %v\n", werr)
			return exitFail
		}
	} else {
		writeSummary(stdout, rep, out, opts.timeout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "muster repro: %v\n", err)
		if rep.Stuck != nil && !opts.json { // -json carries it in the object
			writeStuck(stderr, rep.Stuck)
		}
	}
	return out.code
}

// outcome is a run's verdict and exit status. The -json "ok" is
// code == exitOK, so the two always agree.
type outcome struct {
	verdict string // verdictOK, verdictExpected, verdictFail, verdictTimeout, verdictInterrupted or verdictError
	code    int
}

// Verdicts: the -json "verdict" field, and the summary's last line.
const (
	verdictOK          = "ok"          // the run finished and its mode's promise held
	verdictExpected    = "expected"    // the run finished; only markers its mode does not fence were missing
	verdictFail        = "fail"        // the run finished; a fence missed a marker it covers, or markers were duplicated, reordered or lost
	verdictTimeout     = "timeout"     // -timeout ended the run before it finished
	verdictInterrupted = "interrupted" // an interrupt ended the run before it finished
	verdictError       = "error"       // a member failed
)

// judge is the outcome of a run that returned rep and err. Exit status 0
// for an OK run and for a run whose only finding is the missing markers its
// mode does not fence (repro.Report.MissingExpected: a Rendezvous, or a
// DeliveryFence beyond the first hop); 1 otherwise.
func judge(rep repro.Report, err error) outcome {
	switch {
	case errors.Is(err, repro.ErrNotFinished) && errors.Is(err, context.DeadlineExceeded):
		return outcome{verdictTimeout, exitFail}
	case errors.Is(err, repro.ErrNotFinished):
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

// flagError marks errors the flag package already printed with the usage.
type flagError struct{ error }

func isFlagPackageError(err error) bool {
	var fe flagError
	return errors.As(err, &fe)
}
