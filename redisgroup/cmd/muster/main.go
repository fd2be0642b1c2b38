// Command muster runs muster's two demos, the repro scenario and the BSP
// PageRank, across OS processes whose members form one group kept in Redis
// (package redisgroup):
//
//	muster repro -backend redis -redis-addr HOST:PORT [flags]
//	muster bsp -backend redis -redis-addr HOST:PORT [flags]
//
// They are the main module's cmd/muster demos on another backend: the
// member code is the same, written against managedprocess.Member, but every
// message and every barrier goes through Redis, and the members are spread
// over -procs processes. This process (the parent) serves the members that
// check the result — the repro's consumer, the BSP's driver and collector —
// and starts -procs - 1 child processes, this program again, which serve the
// workers (and the repro's relays) round-robin. Each process has its own
// redisgroup.Coordinator on the run's Redis key prefix (random, deleted at the
// end) and group.
//
// Run "muster repro -h" or "muster bsp -h" for the flags; usage goes to
// stdout for -h and to stderr with usage errors. Exit status: 0 when the
// run is OK (or shows only the missing markers its mode does not fence), 1
// when the check failed, a member or a process failed, or the run did not
// finish within -timeout, 2 on usage errors. With -json the object's "ok" is
// true exactly when the exit status is 0.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/muster-go/muster/internal/cli"
)

func main() {
	// The workers are this program again, serving a part of the group.
	if child, code := serveChild(); child {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runContext is the whole program minus the process: it parses args
// (without the program name), writes to stdout and stderr and returns the
// exit status. The child processes it starts write to stderr too.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	return cli.Dispatch(args, cli.Subcommands{
		"repro": func(args []string) int { return reproCommand(ctx, args, stdout, stderr) },
		"bsp":   func(args []string) int { return bspCommand(ctx, args, stdout, stderr) },
	}, usage, stdout, stderr)
}

// usage is the program's usage.
const usage = `usage: muster <subcommand> -backend redis -redis-addr HOST:PORT [flags]

muster's demos across OS processes, their group kept in Redis.

subcommands:
  repro   workers send bursts of markers to a slow consumer and meet it at a
          barrier; the consumer checks at its release that every marker was
          handled ("muster repro -h" for flags)
  bsp     PageRank on a generated graph, one superstep per delivery-fence
          barrier, checked against one process ("muster bsp -h")
  help    print this message
`

// lockedWriter serialises writes: the child processes' stderr is copied to
// it while this process writes to it too.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
