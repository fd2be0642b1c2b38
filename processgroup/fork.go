//go:build unix

package processgroup

import (
	"os/exec"
	"runtime"
)

// addProcess counts one more child process for the fork goroutine to
// outlive, starting that goroutine with the first one. It fails once the
// coordinator closed.
func (c *Coordinator[T]) addProcess() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed("spawn process")
	}
	if c.forks == nil {
		c.forks = make(chan forkRequest)
		c.running.Add(1)
		go c.forkLoop(c.forks)
	}
	c.procs.Add(1)
	return nil
}

// fork starts cmd on the fork goroutine, and fails with fence.ErrClosed if
// the coordinator closed first.
func (c *Coordinator[T]) fork(cmd *exec.Cmd) error {
	c.mu.RLock()
	forks := c.forks
	c.mu.RUnlock()
	req := forkRequest{cmd: cmd, err: make(chan error, 1)}
	select {
	case forks <- req:
		return <-req.err
	case <-c.ctx.Done():
		return errClosed("spawn process")
	}
}

// forkLoop starts every child process from one goroutine locked to its
// thread, which it never unlocks: on Linux a child's parent-death signal
// fires when the thread that started it ends, and the Go runtime ends a
// thread only when the goroutine locked to it returns. It returns once the
// coordinator closed and every child it started was reaped.
func (c *Coordinator[T]) forkLoop(forks <-chan forkRequest) {
	defer c.running.Done()
	runtime.LockOSThread()
	for {
		select {
		case req := <-forks:
			req.err <- req.cmd.Start()
		case <-c.ctx.Done():
			c.procs.Wait()
			return
		}
	}
}
