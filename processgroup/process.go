package processgroup

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
)

// ProcessSpec describes a member that runs as a child process (see
// Coordinator.SpawnProcess). Zero fields take the documented defaults.
type ProcessSpec struct {
	// Name, Groups and Window are those of Spec, except that a zero Window
	// takes DefaultProcessWindow unless WithWindow set one.
	Name   string
	Groups []string
	Window int

	// Role names the member's handler and run function in the child: the
	// key of ServeChild's roles there. Required.
	Role string
	// Path is the executable to run, which must call ServeChild with a
	// role of that name. Empty runs this program again (os.Executable).
	Path string
	// Args are the child's arguments, after its name.
	Args []string
	// Env is added to this process's environment for the child.
	Env []string
	// Dir is the child's working directory; empty keeps this process's.
	Dir string

	// Stdout and Stderr receive the child's output, line by line (each
	// Write is one line with its newline; a line longer than 4 KiB comes
	// in pieces). Nil logs each line to the
	// coordinator's logger (WithLogger) at level Info, with the member and
	// the stream. The member's connection is a socket of its own, so
	// nothing a child prints can disturb it.
	Stdout, Stderr io.Writer

	// Grace is how long the child has to exit once its member departed or
	// the coordinator closed, before it is killed (with its process
	// group). 0 takes DefaultGrace; negative is refused.
	Grace time.Duration
	// Lifeline says how the child ends if the coordinator's process dies.
	Lifeline Lifeline
	// FrameLimit bounds the frames the child and the coordinator send each
	// other, in bytes. A send or publish of the child's whose frame would be
	// longer fails with fence.ErrInvalidArgument, sending nothing; a longer
	// frame that arrives all the same (from a child that does not check)
	// disconnects the child. A message sent to the child must fit its limit
	// too: a goroutine member's send or publish of one that does not fails
	// with fence.ErrInvalidArgument, sending nothing (so does a child's
	// publish); one another child sent that does not fit is not sent, and
	// the child is killed with an error that names the sender and matches
	// fence.ErrInvalidArgument.
	// 0 takes DefaultFrameLimit; negative, or over 4 GiB - 1 (the longest a
	// frame can be), is refused.
	FrameLimit int
}

// Lifeline says how a child process ends when its coordinator's process is
// gone (its connection ends, or, on Linux, the parent-death signal
// SIGTERM arrives): the member's context is cancelled with
// ErrCoordinatorLost, and after Grace the process exits with ExitCode,
// whatever its code is doing. Zero fields take DefaultLifelineGrace and
// DefaultLifelineExitCode.
type Lifeline struct {
	Grace    time.Duration
	ExitCode int
}

// Defaults of ProcessSpec and Lifeline.
const (
	DefaultGrace            = 5 * time.Second
	DefaultLifelineGrace    = 500 * time.Millisecond
	DefaultLifelineExitCode = 3
	DefaultFrameLimit       = wire.DefaultFrameLimit
)

// ErrCoordinatorLost is the cause a child member's context ends with when
// its coordinator's process is gone.
var ErrCoordinatorLost = errors.New("processgroup: the coordinator is gone")

// ErrBadFrame is matched by the error of a child that sent a frame out of
// protocol (malformed, too long, or an operation it may not make then):
// the child is disconnected and killed.
var ErrBadFrame = wire.ErrBadFrame

// ProcessError is how a child member failed: it exited, was killed, or was
// disconnected for what it sent (Err). It matches fence.ErrCrashed and Err.
type ProcessError struct {
	Member fence.Identity
	Pid    int
	// ExitCode is the child's exit status; -1 if a signal ended it.
	ExitCode int
	// Signal is the signal that ended the child, or 0.
	Signal syscall.Signal
	// Stderr holds the child's last lines on standard error, oldest first
	// (at most StderrTail).
	Stderr []string
	// Err is what went wrong first: the process ended while its member
	// ran, it did not start, it outlived its grace period, or what the
	// coordinator refused from it (wrapping ErrBadFrame). Nil for a child
	// that exited with a non-zero status after its member departed.
	Err error
}

// StderrTail is how many of a failed child's last lines of standard error
// its ProcessError keeps.
const StderrTail = 10

func (e *ProcessError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "processgroup: member %v (pid %d) ", e.Member, e.Pid)
	switch {
	case e.Signal != 0:
		fmt.Fprintf(&b, "killed by signal %v", e.Signal)
	default:
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.Stderr) > 0 {
		fmt.Fprintf(&b, "; stderr: %s", strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

func (e *ProcessError) Unwrap() []error {
	if e.Err == nil {
		return []error{fence.ErrCrashed}
	}
	return []error{fence.ErrCrashed, e.Err}
}

// errExitedEarly is a ProcessError's Err for a child that exited while its
// member had not departed.
var errExitedEarly = errors.New("the process ended while its member was running")

// Process is a member running as a child process, as its coordinator sees
// it.
type Process struct {
	id   fence.Identity
	pid  int
	done chan struct{}
	err  error // set before done is closed
}

// ID returns the member's identity.
func (p *Process) ID() fence.Identity { return p.id }

// Pid returns the child's process ID.
func (p *Process) Pid() int { return p.pid }

// Done returns a channel closed once the child exited and was reaped, and
// its process group was killed.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the child ended, once Done is closed (nil before): nil if
// it exited with status 0, otherwise a *ProcessError. A child killed by
// Close after its grace period ended by signal.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

func (s *ProcessSpec) check() error {
	invalid := func(what string, args ...any) error {
		return fmt.Errorf("processgroup: spawn process %q: %s: %w", s.Name, fmt.Sprintf(what, args...), fence.ErrInvalidArgument)
	}
	switch {
	case s.Role == "":
		return invalid("no role")
	case s.Grace < 0:
		return invalid("negative grace %v", s.Grace)
	case s.Lifeline.Grace < 0:
		return invalid("negative lifeline grace %v", s.Lifeline.Grace)
	case s.FrameLimit < 0:
		return invalid("negative frame limit %d", s.FrameLimit)
	case uint64(s.FrameLimit) > math.MaxUint32:
		return invalid("frame limit %d over the longest frame a length prefix says, %d", s.FrameLimit, uint64(math.MaxUint32))
	}
	return nil
}

func orDefault[V comparable](v, def V) V {
	var zero V
	if v == zero {
		return def
	}
	return v
}

// forkRequest asks the goroutine that starts child processes to start cmd.
type forkRequest struct {
	cmd *exec.Cmd
	err chan error
}
