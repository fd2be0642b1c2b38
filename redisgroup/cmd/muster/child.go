package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/redisgroup"
)

// errStopped is the cause a child stops its members with when its stdin
// ends before they reported: the parent failed, timed out, or is gone.
var errStopped = errors.New("stopped by the parent process")

// errReported is a child's failure that its report already carried to the
// parent: the child exits with status 1 and prints nothing more.
var errReported = errors.New("reported")

// serveChild serves a child process's part if this process was started as
// one, and reports whether it was, with its exit status; main calls it
// first (and so does a test binary's TestMain).
func serveChild() (child bool, code int) {
	s, ok := os.LookupEnv(partEnv)
	if !ok {
		return false, 0
	}
	os.Unsetenv(partEnv)
	// The parent stops its children through their stdin; an interrupt from
	// the terminal reaches it too. A parent gone must not kill a child
	// writing its report before it closed its coordinator.
	signal.Ignore(os.Interrupt, syscall.SIGPIPE)
	var p part
	err := json.Unmarshal([]byte(s), &p)
	if err == nil {
		err = servePart(p, watchControl(os.Stdin), os.Stdout)
	}
	switch {
	case errors.Is(err, errReported):
		return true, cli.ExitFail
	case err != nil:
		fmt.Fprintf(os.Stderr, "muster: process %d: %v\n", p.Proc, err)
		return true, cli.ExitFail
	}
	return true, cli.ExitOK
}

// servePart serves p's members.
func servePart(p part, ctl control, out io.Writer) error {
	switch {
	case p.Command == "repro" && p.Repro != nil:
		return serveMembers(p, ctl, out, p.Repro.share(p.Group))
	case p.Command == "bsp" && p.BSP != nil:
		return serveMembers(p, ctl, out, p.BSP.share())
	}
	return fmt.Errorf("%s holds no part of a repro or bsp run", partEnv)
}

// control is what the parent says on the child's stdin.
type control struct {
	begin chan struct{} // closed at lineGo
	quit  chan struct{} // closed when stdin ends
}

// watchControl reads the parent's lines from r until it ends.
func watchControl(r io.Reader) control {
	ctl := control{begin: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(ctl.quit)
		s := bufio.NewScanner(r)
		begun := false
		for s.Scan() {
			if s.Text() == lineGo && !begun {
				begun = true
				close(ctl.begin)
			}
		}
	}()
	return ctl
}

// share is what a child process serves of a run.
type share[T any] struct {
	members int                                        // how many
	spawn   func(ctx context.Context, g proc[T]) error // spawns them into the cast
	sent    func() int                                 // markers its repro workers sent
}

// serveMembers is a child's side of deploy: it spawns its members, prints
// lineReady, starts them at lineGo, prints lineDone and its report once
// they reported (or failed, or its stdin ended), and closes its coordinator
// once its stdin ended.
func serveMembers[T any](p part, ctl control, out io.Writer, sh share[T]) error {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		<-ctl.quit
		cancel(errStopped)
	}()
	rdb, c, err := connect[T](ctx, p.Group, sh.members, logger(os.Stderr, p.Proc))
	if err != nil {
		return err
	}
	defer rdb.Close()
	k := newCast(sh.members)
	if err := sh.spawn(ctx, proc[T]{c: c, rdb: rdb, k: k}); err != nil {
		return errors.Join(err, closeCoordinator(c))
	}
	fmt.Fprintln(out, lineReady)
	runErr := runMembers(k, ctl)
	rep := childReport{Sent: sh.sent()}
	if runErr != nil {
		rep.Err = runErr.Error()
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintf(out, "%s%s\n", lineDone, b)
	<-ctl.quit
	cerr := closeCoordinator(c)
	switch {
	case runErr != nil:
		return errReported // Close's failures are those reported
	case cerr != nil:
		return fmt.Errorf("closing the coordinator: %w", cerr)
	}
	return nil
}

// runMembers starts the cast at lineGo and waits until every member
// reported, the first failure, or the end of stdin.
func runMembers(k *cast, ctl control) error {
	select {
	case <-ctl.begin:
	case <-ctl.quit:
		return errStopped
	}
	k.begin()
	for pending := k.n; pending > 0; {
		select {
		case err := <-k.results:
			pending--
			if err != nil {
				k.halt(err, pending)
				return err
			}
		case <-ctl.quit:
			return stoppedIn(k.halt(errStopped, pending))
		}
	}
	return nil
}

// stoppedIn is the failure of members stopped by the parent, with where
// they were waiting.
func stoppedIn(reports []error) error {
	if len(reports) == 0 {
		return errStopped
	}
	return fmt.Errorf("%w; its members were waiting: %w", errStopped, errors.Join(reports...))
}

func closeCoordinator[T any](c *redisgroup.Coordinator[T]) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	return c.Close(ctx)
}
