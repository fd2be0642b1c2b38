// Command muster is muster's runnable demo.
//
//	muster bsp [flags]     PageRank across child processes, one superstep per fenced barrier
//	muster repro [flags]   run the delivery-fence repro scenario
//
// Run "muster bsp -h" or "muster repro -h" for the flags; "muster -h" and "muster repro -h"
// print their usage on stdout. Exit status: 0 when the run is OK (or when
// -mode rendezvous, or -mode delivery with -hops, shows the missing markers
// it is expected to show), 1 when a fence missed a marker it covers, when a
// member failed or when the run did not finish within -timeout (it then
// prints what it was stuck on), 2 on usage errors, which go to stderr. With
// -json the object's "ok" is true exactly when the exit status is 0.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/muster-go/muster/internal/bsp"
	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/internal/repro"
	"github.com/muster-go/muster/processgroup"
)

func main() {
	// The repro and bsp workers are this program again, in a child role.
	if child, err := repro.ServeChild(context.Background()); child {
		exitChild(err)
		return
	}
	if child, err := processgroup.ServeChild(context.Background(), bsp.Roles()); child {
		exitChild(err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitChild ends a child that could not serve its role.
func exitChild(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "muster: child:", err)
		os.Exit(cli.ExitFail)
	}
}

// run is the whole program minus the process: it parses args (without the
// program name), writes to stdout and stderr and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, repro.Run, args, stdout, stderr)
}

// runner runs the repro scenario: repro.Run, or a stand-in in tests.
type runner func(context.Context, repro.Config) (repro.Report, error)

// runWith is runContext with the scenario's runner.
func runWith(ctx context.Context, runScenario runner, args []string, stdout, stderr io.Writer) int {
	return cli.Dispatch(args, cli.Subcommands{
		"bsp":   func(args []string) int { return bspCommand(ctx, args, stdout, stderr) },
		"repro": func(args []string) int { return reproCommand(ctx, runScenario, args, stdout, stderr) },
	}, usage, stdout, stderr)
}

// usage is the program's usage.
const usage = `usage: muster <subcommand> [flags]

subcommands:
  bsp     PageRank on a generated graph across child processes, one superstep
          per delivery-fence barrier, checked against one process ("muster bsp -h")
  repro   run the delivery-fence repro: workers send bursts of markers to a slow
          consumer and meet it at a barrier; the consumer checks at its release
          that every marker was handled ("muster repro -h" for flags)
  help    print this message
`
