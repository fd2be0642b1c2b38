package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/redisgroup"
)

// deployFlags are the flags both subcommands share: the backend, where Redis
// is, how many processes the members are spread over, the output and the
// time limit.
type deployFlags struct {
	backend   string
	addr      string
	procs     int
	heartbeat time.Duration
	timeout   time.Duration
	json      bool
	mode      string
}

// register defines the shared flags on fs; timeout and mode are the
// subcommand's defaults.
func (d *deployFlags) register(fs *flag.FlagSet, timeout time.Duration, mode fence.Mode, modeUsage string) {
	fs.StringVar(&d.backend, "backend", "redis", "where the group's state lives: redis (the only backend of this program)")
	fs.StringVar(&d.addr, "redis-addr", "localhost:6379", "the Redis server, HOST:PORT")
	fs.IntVar(&d.procs, "procs", 3, "OS processes the members are spread over (≥ 2): this one and procs-1 child processes")
	fs.DurationVar(&d.heartbeat, "heartbeat", redisgroup.DefaultHeartbeat, "how long a member's heartbeat lives in Redis unrenewed (> 0): a process gone that long fails its members")
	fs.DurationVar(&d.timeout, "timeout", timeout, "give up after this long (> 0)")
	fs.BoolVar(&d.json, "json", false, "print one JSON object instead of the summary")
	fs.StringVar(&d.mode, "mode", mode.String(), modeUsage)
}

// check validates the shared flags, after the subcommand's own: spread is
// how many members the child processes share, what names them.
func (d *deployFlags) check(spread int, what string) error {
	switch {
	case d.backend != "redis":
		return fmt.Errorf("-backend %q: this program runs on redis only (the main module's cmd/muster runs in-process)", d.backend)
	case d.addr == "":
		return errors.New("-redis-addr is empty")
	case d.procs < 2:
		return fmt.Errorf("-procs must be at least 2 (this process and a child), got %d", d.procs)
	case d.procs-1 > spread:
		return fmt.Errorf("-procs %d: %d child processes but only %d %s to spread over them", d.procs, d.procs-1, spread, what)
	case d.heartbeat <= 0:
		return fmt.Errorf("-heartbeat must be positive, got %v", d.heartbeat)
	case d.timeout <= 0:
		return fmt.Errorf("-timeout must be positive, got %v", d.timeout)
	}
	return nil
}

// parseMode returns the -mode flag's mode.
func (d *deployFlags) parseMode() (fence.Mode, error) {
	mode, err := fence.ParseMode(d.mode)
	if err != nil {
		return mode, fmt.Errorf("-mode: %w", err)
	}
	return mode, nil
}

// usageError is a bad command line; printed says whether the flag package
// already reported it, with the usage, on stderr.
type usageError struct {
	err     error
	printed bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseFlags parses args into fs. For -h it prints the usage on stdout and
// returns flag.ErrHelp; for the flag package's errors it prints them and
// the usage on stderr and returns a printed usageError.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	// The flag package prints the usage for -h and for its errors alike:
	// hold it until Parse says which, then route it.
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = stdout.Write(printed.Bytes())
		return err
	case err != nil:
		_, _ = stderr.Write(printed.Bytes())
		return usageError{err: err, printed: true}
	case fs.NArg() > 0:
		return usageError{err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// usageStatus reports a parse error of subcommand cmd on stderr, unless the
// flag package did, and returns the exit status: exitOK for -h.
func usageStatus(cmd string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	if !errors.As(err, &ue) || !ue.printed {
		fmt.Fprintf(stderr, "muster %s: %v\n", cmd, err)
		fmt.Fprintf(stderr, "run \"muster %s -h\" for usage\n", cmd)
	}
	return exitUsage
}

// setUsage makes fs print text, then its flags' defaults.
func setUsage(fs *flag.FlagSet, text string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		fs.PrintDefaults()
	}
}
