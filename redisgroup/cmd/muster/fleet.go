package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/muster-go/muster/internal/repro"
)

// partEnv holds a child process's part, as JSON; its presence is what makes
// serveChild serve.
const partEnv = "MUSTER_REDISGROUP_PART"

// The children's protocol, one line each way at a time: a child prints
// lineReady once its members are registered in the group, the parent writes
// lineGo once every process is ready, and the child prints lineDone and its
// childReport once its members' bodies reported. Then the parent closes the
// child's stdin; the child closes its coordinator and exits. A child whose
// stdin ends earlier (the parent failed, timed out, or is gone) stops its
// members, reports and exits too.
const (
	lineReady = "ready"
	lineGo    = "go"
	lineDone  = "done "
)

// exitGrace bounds how long the parent waits for its children to exit once
// it closed their stdin; then it kills them.
const exitGrace = closeGrace + stopGrace + 5*time.Second

// part is what a child process serves: its share of the members of one run.
type part struct {
	Command string     `json:"command"` // "repro" or "bsp"
	Proc    int        `json:"proc"`    // 1 … procs-1: the parent is process 0
	Group   groupConf  `json:"group"`
	Repro   *reproPart `json:"repro,omitempty"`
	BSP     *bspPart   `json:"bsp,omitempty"`
}

// childReport is what a child reports after lineDone.
type childReport struct {
	Err  string `json:"error,omitempty"` // its members' first failure, or where they were stopped
	Sent int    `json:"sent"`            // markers its repro workers sent
}

// child is a child process.
type child struct {
	proc   int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's; read once exited is closed
	killed bool
}

// event is a line a child printed, or its exit.
type event struct {
	proc int
	line string
	exit bool
	err  error // with exit: cmd.Wait's
}

// fleet is the parent's child processes.
type fleet struct {
	kids   []*child
	events chan event
	gone   chan struct{} // closed once the fleet shut down: nobody reads events
	sent   int           // what the children reported sending
}

func newFleet() *fleet { return &fleet{events: make(chan event), gone: make(chan struct{})} }

// start starts a child process, this program again, serving each part.
// Their stderr goes to stderr.
func (f *fleet) start(parts []part, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to start its child processes: %w", err)
	}
	for _, p := range parts {
		if err := f.start1(exe, p, stderr); err != nil {
			return fmt.Errorf("starting process %d: %w", p.Proc, err)
		}
	}
	return nil
}

func (f *fleet) start1(exe string, p part, stderr io.Writer) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), partEnv+"="+string(b))
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	k := &child{proc: p.Proc, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	f.kids = append(f.kids, k)
	go f.watch(k, stdout)
	return nil
}

// watch turns the child's output into events, and reaps it.
func (f *fleet) watch(k *child, stdout io.Reader) {
	s := bufio.NewScanner(stdout)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		f.emit(event{proc: k.proc, line: s.Text()})
	}
	_, _ = io.Copy(io.Discard, stdout) // after a line too long: Wait must not cut the child off
	k.err = k.cmd.Wait()
	close(k.exited)
	f.emit(event{proc: k.proc, exit: true, err: k.err})
}

func (f *fleet) emit(e event) {
	select {
	case f.events <- e:
	case <-f.gone:
	}
}

// awaitReady waits until every child printed lineReady.
func (f *fleet) awaitReady(ctx context.Context) error {
	for ready := 0; ready < len(f.kids); {
		select {
		case e := <-f.events:
			switch {
			case e.exit:
				return exitedBefore(e, "was ready")
			case e.line == lineReady:
				ready++
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the processes to be ready: %w", repro.ErrNotFinished, context.Cause(ctx))
		}
	}
	return nil
}

// broadcast writes line to every child.
func (f *fleet) broadcast(line string) error {
	for _, k := range f.kids {
		if _, err := fmt.Fprintln(k.stdin, line); err != nil {
			return fmt.Errorf("writing to process %d: %w", k.proc, err)
		}
	}
	return nil
}

// quit closes the children's stdin: they stop their members and exit.
func (f *fleet) quit() {
	for _, k := range f.kids {
		_ = k.stdin.Close()
	}
}

// take returns the report of a lineDone event, and adds what it sent to
// the fleet's count; ok is false for other lines.
func (f *fleet) take(e event) (rep childReport, ok bool, err error) {
	s, ok := strings.CutPrefix(e.line, lineDone)
	if !ok {
		return rep, false, nil
	}
	if err := json.Unmarshal([]byte(s), &rep); err != nil {
		return rep, true, fmt.Errorf("process %d reported %q: %w", e.proc, s, err)
	}
	f.sent += rep.Sent
	return rep, true, nil
}

// shutdown makes the children exit and waits for them, killing those that
// have not exited within exitGrace. It returns the failures they reported
// meanwhile (where their members were stopped), and how each child that
// did not exit with status 0 ended.
func (f *fleet) shutdown() (late, exits []error) {
	f.quit()
	deadline := time.NewTimer(exitGrace)
	defer deadline.Stop()
	for _, k := range f.kids {
		for waiting := true; waiting; {
			select {
			case <-k.exited:
				waiting = false
			case e := <-f.events:
				if rep, ok, _ := f.take(e); ok && rep.Err != "" {
					late = append(late, fmt.Errorf("process %d: %s", e.proc, rep.Err))
				}
			case <-deadline.C:
				f.kill()
			}
		}
	}
	close(f.gone)
	for _, k := range f.kids {
		switch {
		case k.killed:
			exits = append(exits, fmt.Errorf("process %d did not exit within %v and was killed", k.proc, exitGrace))
		case k.err != nil:
			exits = append(exits, fmt.Errorf("process %d: %s", k.proc, status(k.err)))
		}
	}
	return late, exits
}

// kill kills the children still running.
func (f *fleet) kill() {
	for _, k := range f.kids {
		select {
		case <-k.exited:
		default:
			k.killed = true
			_ = k.cmd.Process.Kill()
		}
	}
}

// exitedBefore is the error of a child's exit event e that came before it
// did what.
func exitedBefore(e event, what string) error {
	var ee *exec.ExitError
	if errors.As(e.err, &ee) && ee.Exited() || e.err == nil {
		return fmt.Errorf("process %d exited before it %s (%s); its stderr says why", e.proc, what, status(e.err))
	}
	return fmt.Errorf("process %d ended before it %s (%s)", e.proc, what, status(e.err))
}

// status describes how a child ended: cmd.Wait's error.
func status(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.String()
	default:
		return err.Error()
	}
}
