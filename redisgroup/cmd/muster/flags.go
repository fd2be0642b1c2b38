package main

import (
	"errors"
	"flag"
	"fmt"
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
