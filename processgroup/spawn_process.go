//go:build unix

package processgroup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
)

// SpawnProcess starts a member as a child process: the program at
// spec.Path, or this one again, which serves spec.Role through ServeChild.
// The member joins spec.Groups before anything runs, as with Spawn, and
// behaves in its groups as a goroutine member does; it reaches the
// coordinator only through socket pairs the child inherits, one per
// direction, which no other process can connect to. Messages it receives
// and sends cross encoded by the coordinator's codec (see WithCodec).
//
// SpawnProcess returns once the child started; ctx only gates the start.
// The child is supervised from then on: if it exits, is killed or sends a
// frame out of protocol before its member departed, the member fails with a
// *ProcessError naming it, its exit status or signal and its last lines of
// standard error, and the child is killed with its process group. Once the
// member departed (its body returned, it crashed, or the coordinator
// closed), the child has spec.Grace to exit before it is killed. Close
// returns only after every child was reaped.
//
// Errors are Spawn's, and fence.ErrInvalidArgument for a spec without a
// role or with a negative duration or limit, or an executable that cannot
// be found; if the child cannot be started, SpawnProcess returns the error
// and the member fails with it. It is not available on every system: where
// it is not, it fails with an error wrapping errors.ErrUnsupported.
func (c *Coordinator[T]) SpawnProcess(ctx context.Context, spec ProcessSpec) (*Process, error) {
	if err := c.checkSpawn(ctx, Spec[T]{Name: spec.Name, Window: spec.Window}); err != nil {
		return nil, err
	}
	if err := spec.check(); err != nil {
		return nil, err
	}
	if c.codecErr != nil {
		return nil, fmt.Errorf("processgroup: spawn process %q: %w", spec.Name, c.codecErr)
	}
	path, err := executable(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("processgroup: spawn process %q: %w", spec.Name, err)
	}
	conn, childEnds, err := wire.SocketForChild()
	if err != nil {
		return nil, fmt.Errorf("processgroup: spawn process %q: %w", spec.Name, err)
	}
	for _, f := range childEnds {
		defer f.Close() // the child has its own copies once started
	}
	p := newProcess(c, spec)
	rec, err := c.register(Spec[T]{Name: spec.Name, Groups: spec.Groups, Window: c.processWindow(spec.Window)}, p.connector(conn))
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.rec = rec
	mctx, cancel := context.WithCancelCause(c.ctx)
	rec.cancel = cancel
	rec.m.Start(mctx)
	p.ep.start(mctx)
	context.AfterFunc(mctx, p.graceAfterDeparture)
	p.conn.Start() // what the child sends is handled by the member set up above
	err = p.start(path, childEnds)
	go c.supervise(mctx, rec, p.ep.runFar)
	if err != nil {
		return nil, fmt.Errorf("processgroup: spawn process %q: %w", spec.Name, err)
	}
	c.cfg.logger.Debug("member spawned", "member", rec.m.ID(), "groups", spec.Groups, "pid", p.handle.pid)
	return p.handle, nil
}

// executable returns the path of the program to run: path, looked up if it
// has no slash, or this program.
func executable(path string) (string, error) {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("this program's path: %v: %w", err, fence.ErrInvalidArgument)
		}
		return self, nil
	}
	found, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, fence.ErrInvalidArgument)
	}
	return found, nil
}

// process supervises one child: it starts it, forwards its output, kills
// it when told, and reaps it.
type process[T any] struct {
	c      *Coordinator[T]
	spec   ProcessSpec
	rec    *memberRecord[T]
	ep     *wireEnd[T]
	conn   *wire.SocketPipe
	handle *Process
	out    outputs

	kill    context.CancelCauseFunc // kills the child's process group (via exec.Cmd.Cancel)
	killCtx context.Context
	exited  chan struct{} // closed once the child was reaped

	mu     sync.Mutex
	reason error // the first reason the child was killed for

}

func newProcess[T any](c *Coordinator[T], spec ProcessSpec) *process[T] {
	p := &process[T]{c: c, spec: spec, handle: &Process{done: make(chan struct{})}, exited: make(chan struct{})}
	p.killCtx, p.kill = context.WithCancelCause(context.Background())
	return p
}

// connector returns the wire end of the member, over conn.
func (p *process[T]) connector(conn *wire.Conn) connector[T] {
	return func(id fence.Identity) (*wireEnd[T], error) {
		ep := newEnd(p.c)
		p.ep, p.handle.id = ep, id
		ep.limit = orDefault(p.spec.FrameLimit, DefaultFrameLimit)
		p.conn = wire.NewSocketConn(conn, ep.receive, nil, p.spec.FrameLimit, p.fail)
		ep.toFar, ep.fromFar = p.conn, p.conn
		ep.refused = p.fail
		ep.disconnect = p.disconnect
		ep.onLost = p.lost
		return ep, nil
	}
}

// start starts the child on the coordinator's forker (see fork), and its
// watchers. If the child does not start, the member is lost with the error.
func (p *process[T]) start(path string, childEnds [2]*os.File) error {
	if err := p.c.addProcess(); err != nil { // closed since register
		p.startFailed(err)
		return err
	}
	cmd := exec.CommandContext(p.killCtx, path, p.spec.Args...)
	cmd.Dir = p.spec.Dir
	cmd.Env = append(append(os.Environ(), p.spec.Env...), childConfig{
		Version: childVersion, FD: childFD, OutFD: childFD + 1, Role: p.spec.Role, Member: p.handle.id, Codec: p.c.codec.Name(),
		FrameLimit:    orDefault(p.spec.FrameLimit, DefaultFrameLimit),
		LifelineGrace: orDefault(p.spec.Lifeline.Grace, DefaultLifelineGrace),
		LifelineCode:  orDefault(p.spec.Lifeline.ExitCode, DefaultLifelineExitCode),
	}.env())
	cmd.ExtraFiles = childEnds[:] // childFD and the next
	cmd.SysProcAttr = childAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	err := p.out.open(cmd)
	if err == nil {
		err = p.c.fork(cmd)
		p.out.started()
	}
	if err != nil {
		p.out.close()
		p.startFailed(err)
		p.c.procs.Done()
		return err
	}
	p.handle.pid = cmd.Process.Pid
	p.out.forward(&p.c.outMu, p.c.cfg.logger, p.handle.id, p.spec.Stdout, p.spec.Stderr)
	go p.reap(cmd)
	go p.watchConn()
	return nil
}

// startFailed loses the member of a child that did not start.
func (p *process[T]) startFailed(err error) {
	p.handle.err = &ProcessError{Member: p.handle.id, ExitCode: -1, Err: fmt.Errorf("start: %w", err)}
	close(p.exited)
	close(p.handle.done)
	p.ep.lose(p.handle.err)
	p.conn.Abort()
}

// fail kills the child for reason; the first reason is the one reported.
func (p *process[T]) fail(reason error) {
	p.mu.Lock()
	if p.reason == nil {
		p.reason = reason
	}
	p.mu.Unlock()
	p.kill(reason)
}

// killedFor returns the first reason fail was given, or nil.
func (p *process[T]) killedFor() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// lost fails the member with cause, unless it retired or Close began (a
// child stopped by Close, or refused its start by it, is not a failure).
func (p *process[T]) lost(cause error) {
	if p.ep.retired.Load() || p.c.isClosed() {
		return
	}
	p.c.crashed(p.rec, cause)
}

// watchConn kills a child that ended its connection while its member still
// runs and does not exit within a moment: it is no longer a member.
func (p *process[T]) watchConn() {
	ended := p.conn.Ended()
	<-ended
	if p.ep.retired.Load() {
		return // the end of the connection Close began
	}
	select {
	case <-p.exited:
	case <-time.After(connLinger):
		p.fail(errConnClosed)
	}
}

// connLinger is how long a child that closed its connection while its
// member runs may take to exit before it is killed.
const connLinger = time.Second

var errConnClosed = fmt.Errorf("it closed its connection: %w", ErrBadFrame)

// reap waits for the child to exit, kills what is left of its process group,
// collects its last lines of output and reports how it ended: to the member
// (lost, if it still ran) and to the handle.
func (p *process[T]) reap(cmd *exec.Cmd) {
	err := cmd.Wait()
	killGroup(cmd.Process.Pid) // its own children; an error means none are left
	p.out.drain(outputDrain)
	p.handle.err = p.exitError(cmd.ProcessState, err)
	close(p.exited)
	p.kill(nil)
	close(p.handle.done)
	if p.handle.err == nil {
		p.ep.lose(&ProcessError{Member: p.handle.id, Pid: p.handle.pid, Err: errExitedEarly})
	} else {
		p.ep.lose(p.handle.err)
	}
	p.c.procs.Done()
}

// outputDrain bounds how long reap waits for a child's output to end after
// it exited (its own children may hold its standard error open).
const outputDrain = 100 * time.Millisecond

// exitError returns the child's ProcessError, or nil if it exited with
// status 0 and was not killed for a reason.
func (p *process[T]) exitError(state *os.ProcessState, waitErr error) error {
	e := &ProcessError{Member: p.handle.id, Pid: p.handle.pid, ExitCode: -1, Stderr: p.out.tail(), Err: p.killedFor()}
	if state == nil {
		if e.Err == nil {
			e.Err = waitErr
		}
		return e
	}
	e.ExitCode = state.ExitCode()
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
	}
	if e.ExitCode == 0 && e.Err == nil {
		return nil
	}
	if e.Err == nil && !p.ep.retired.Load() && !p.c.isClosed() {
		e.Err = errExitedEarly
	}
	return e
}

// graceAfterDeparture gives a child whose member departed (its context
// ended: the body returned, it failed, or the coordinator closed) its grace
// period to exit, then kills it.
func (p *process[T]) graceAfterDeparture() {
	grace := orDefault(p.spec.Grace, DefaultGrace)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.fail(fmt.Errorf("it did not exit within its grace period of %v", grace))
	}
}

// disconnect ends the connection once close queued its last frame, and
// waits for the child to be reaped (see graceAfterDeparture); then the
// connection closes.
func (p *process[T]) disconnect() {
	p.conn.Flush()
	<-p.exited
	p.conn.Abort()
	p.conn.Close()
}
