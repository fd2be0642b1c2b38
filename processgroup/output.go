package processgroup

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
)

// outputs carries a child's standard output and error to where its spec
// says, line by line, and keeps its last lines of standard error.
type outputs struct {
	rOut, wOut, rErr, wErr *os.File
	readers                sync.WaitGroup
	ended                  [2]chan struct{} // each pipe's reader returned

	mu    sync.Mutex
	lines []string // the last StderrTail lines of standard error
}

// open makes the pipes the child writes its output to.
func (o *outputs) open(cmd *exec.Cmd) error {
	var err error
	if o.rOut, o.wOut, err = os.Pipe(); err != nil {
		return err
	}
	if o.rErr, o.wErr, err = os.Pipe(); err != nil {
		o.rOut.Close()
		o.wOut.Close()
		o.rOut = nil
		return err
	}
	cmd.Stdout, cmd.Stderr = o.wOut, o.wErr
	return nil
}

// started closes this process's copies of the pipes' write ends.
func (o *outputs) started() {
	if o.wOut != nil {
		o.wOut.Close()
		o.wErr.Close()
	}
}

// close closes the read ends of pipes nothing reads.
func (o *outputs) close() {
	if o.rOut != nil {
		o.rOut.Close()
		o.rErr.Close()
	}
}

// forward reads both pipes until they end, each line to its writer (under
// mu, so children can share one), or to logger if its writer is nil.
func (o *outputs) forward(mu *sync.Mutex, logger *slog.Logger, id fence.Identity, stdout, stderr io.Writer) {
	o.ended = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	o.readers.Add(2)
	go o.copyLines(o.rOut, mu, logger, id, "stdout", stdout, o.ended[0], false)
	go o.copyLines(o.rErr, mu, logger, id, "stderr", stderr, o.ended[1], true)
}

func (o *outputs) copyLines(r io.Reader, mu *sync.Mutex, logger *slog.Logger, id fence.Identity,
	stream string, w io.Writer, done chan struct{}, keep bool) {
	defer o.readers.Done()
	defer close(done)
	br := bufio.NewReaderSize(r, lineBuffer)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			o.emit(line, mu, logger, id, stream, w, keep)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return // the end of the stream, or drain closed it
		}
	}
}

// lineBuffer bounds a forwarded line: a longer one comes in pieces of this
// size, each forwarded as a line. It is what each of a child's two output
// streams costs the coordinator while the child runs.
const lineBuffer = 4 << 10

// emit writes one line (a line longer than lineBuffer comes in pieces, each
// written as a line).
func (o *outputs) emit(line []byte, mu *sync.Mutex, logger *slog.Logger, id fence.Identity,
	stream string, w io.Writer, keep bool) {
	text := line
	if n := len(text); n > 0 && text[n-1] == '\n' {
		text = text[:n-1]
	}
	if keep {
		o.mu.Lock()
		if len(o.lines) == StderrTail {
			o.lines = append(o.lines[:0], o.lines[1:]...)
		}
		o.lines = append(o.lines, string(text))
		o.mu.Unlock()
	}
	if w == nil {
		logger.Info("child output", "member", id, "stream", stream, "line", string(text))
		return
	}
	mu.Lock()
	defer mu.Unlock()
	w.Write(append(text[:len(text):len(text)], '\n')) // a failing writer must not stall the child: its error is dropped
}

// drain waits up to d for both pipes to end (the child exited; its own
// children may still hold them), then closes them and waits for their
// readers.
func (o *outputs) drain(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ended := range o.ended {
		select {
		case <-ended:
		case <-t.C:
		}
	}
	o.close()
	o.readers.Wait()
}

// tail returns the last lines of standard error, oldest first.
func (o *outputs) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines...)
}
