package process

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawEnv makes a child write what it names to its connection instead of
// serving a role, then wait for the coordinator to kill it.
const rawEnv = "TEST_RAW"

// rawChild writes the bytes kind names to the inherited connection.
func rawChild(kind string) {
	switch kind { // these use descriptor 3 itself: an *os.File for it would close it when collected
	case "hubpeer": // the bare hub barrier's child (see hubRounds): send, arrive, wait for the release
		block := make([]byte, hubBlock(envInt(envHubK)))
		for {
			if writeFull(3, block) != nil {
				os.Exit(0)
			}
			if readFull(3, block) != nil {
				os.Exit(0)
			}
		}
	case "framer": // the throughput reference's child: TEST_COUNT frames of 64 bytes
		writeFrames(3, envInt(envCount))
		os.Exit(0)
	case "counter": // the relay reference's last child: read TEST_COUNT frames, then answer
		if relayFrames(3, -1, envInt(envCount)) == nil {
			writeFull(3, []byte{1})
		}
		os.Exit(0)
	}
	in, conn := os.NewFile(3, "connection-in"), os.NewFile(4, "connection-out") // a child reads 3 and writes 4
	defer runtime.KeepAlive(in)
	defer runtime.KeepAlive(conn)
	frame := func(f *wire.Frame) []byte {
		b, err := wire.AppendFramed(nil, f)
		if err != nil {
			panic(err)
		}
		return b
	}
	switch kind {
	case "garbage":
		conn.Write([]byte("\x00\x00\x00\x05hello"))
	case "oversized":
		conn.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
	case "forged-answer": // an answer to a delivery it never got
		conn.Write(frame(&wire.Frame{Op: wire.OpHandled}))
	case "forged-release": // a reply, which only the coordinator sends
		conn.Write(frame(&wire.Frame{Op: wire.OpReply, Call: 1}))
	case "backwards": // call numbers that go backwards
		conn.Write(frame(&wire.Frame{Op: wire.OpSnapshot, Call: 2}))
		conn.Write(frame(&wire.Frame{Op: wire.OpSnapshot, Call: 1}))
	case "forged-undecodable": // a message it never got reported as one that does not decode
		conn.Write(frame(&wire.Frame{Op: wire.OpUndecodable, From: fence.Identity{ID: 1, Name: "p"}, Seq: 1}))
	case "blames-coordinator": // a payload the coordinator encoded reported as one that does not decode
		for {
			f, err := wire.ReadFramed(in, wire.DefaultFrameLimit)
			if err != nil {
				panic(err)
			}
			if f.Op == wire.OpDeliver {
				conn.Write(frame(&wire.Frame{Op: wire.OpUndecodable, From: f.From, Seq: f.Seq}))
				break
			}
		}
	case "ungranted": // a send to a member it never resolved
		conn.Write(frame(&wire.Frame{Op: wire.OpPost, To: &fence.Identity{ID: 1, Name: "p"}, Count: 1, Body: wire.AppendMessage(nil, []byte(`{}`))}))
	case "undecodable": // a payload its recipient, another child, cannot decode
		conn.Write(frame(&wire.Frame{Op: wire.OpResolve, Call: 1, Name: "victim"}))
		reply := replyTo(in, 1)
		conn.Write(frame(&wire.Frame{Op: wire.OpPost, To: reply.To, Count: 1, Body: wire.AppendMessage(nil, []byte(`{nope`))}))
	case "beyond-credit": // one send more than its credit allows
		conn.Write(frame(&wire.Frame{Op: wire.OpResolve, Call: 1, Name: "q"}))
		reply := replyTo(in, 1)
		for range reply.Count + 1 {
			conn.Write(frame(&wire.Frame{Op: wire.OpPost, To: reply.To, Count: 1, Body: wire.AppendMessage(nil, []byte(`{}`))}))
		}
	case "run-beyond-credit": // one run of one message more than its credit allows
		conn.Write(frame(&wire.Frame{Op: wire.OpResolve, Call: 1, Name: "q"}))
		reply := replyTo(in, 1)
		var run []byte
		for range reply.Count + 1 {
			run = wire.AppendMessage(run, []byte(`{}`))
		}
		conn.Write(frame(&wire.Frame{Op: wire.OpPost, To: reply.To, Count: reply.Count + 1, Body: run}))
	case "short-run": // a run of fewer messages than its count
		conn.Write(frame(&wire.Frame{Op: wire.OpResolve, Call: 1, Name: "q"}))
		reply := replyTo(in, 1)
		conn.Write(frame(&wire.Frame{Op: wire.OpPost, To: reply.To, Count: 2, Body: wire.AppendMessage(nil, []byte(`{}`))}))
	case "half":
		b := frame(&wire.Frame{Op: wire.OpSnapshot, Call: 1})
		conn.Write(b[:len(b)/2])
		syscall.Shutdown(4, syscall.SHUT_WR) // the end of the stream, inside a frame
	}
	time.Sleep(time.Hour) // until killed
}

// replyTo reads frames from conn until the reply to call.
func replyTo(conn io.Reader, call uint64) *wire.Frame {
	for {
		f, err := wire.ReadFramed(conn, wire.DefaultFrameLimit)
		if err != nil {
			panic(err)
		}
		if f.Op == wire.OpReply && f.Call == call {
			return f
		}
	}
}

// TestProcessBadInput: a child that sends garbage, an oversized frame, a
// frame it may not send, or half a frame is disconnected and killed with a
// *ProcessError naming it and matching ErrBadFrame; a round it was expected
// in fails with that error, and the other members go on.
func TestProcessBadInput(t *testing.T) {
	for _, kind := range []string{"garbage", "oversized", "forged-answer", "forged-release", "forged-undecodable", "backwards", "half", "ungranted", "beyond-credit", "run-beyond-credit", "short-run"} {
		t.Run(kind, func(t *testing.T) {
			c := newCoordinator(t)
			pq := newPair(t, c)
			waiting, _ := pq.open(t, c)
			child, err := c.SpawnProcess(testCtx(t), processgroup.ProcessSpec{Name: "bad", Groups: []string{"g"}, Role: "any",
				Env: []string{rawEnv + "=" + kind, quickExit}, FrameLimit: 1 << 20})
			require.NoError(t, err)
			err = within(t, waiting)
			pe := processError(t, err)
			assert.Equal(t, "bad", pe.Member.Name)
			assert.ErrorIs(t, err, processgroup.ErrBadFrame)
			assert.Equal(t, syscall.SIGKILL, pe.Signal, "the child is killed")
			t.Log(err)
			within(t, child.Done())

			// The others go on, in the next round.
			ok, q := pq.open(t, c)
			spawn(t, c, "a", "arriver")
			q()
			require.NoError(t, within(t, ok))
		})
	}
}

// spawnBad spawns "bad", a child of the raw kind that speaks out of
// protocol.
func spawnBad(t *testing.T, c *processgroup.Coordinator[msg], kind string) *processgroup.Process {
	t.Helper()
	p, err := c.SpawnProcess(testCtx(t), processgroup.ProcessSpec{Name: "bad", Role: "any",
		Env: []string{rawEnv + "=" + kind, quickExit}})
	require.NoError(t, err)
	return p
}

// badFrameError waits for the child "bad" to end and returns its
// *ProcessError, which must name it and match ErrBadFrame.
func badFrameError(t *testing.T, bad *processgroup.Process) *processgroup.ProcessError {
	t.Helper()
	within(t, bad.Done())
	pe := processError(t, bad.Err())
	assert.Equal(t, "bad", pe.Member.Name)
	assert.ErrorIs(t, pe, processgroup.ErrBadFrame)
	return pe
}

// TestProcessUndecodablePayloadBetweenChildren: the coordinator relays what
// one child sends another without decoding it, so a payload the recipient
// cannot decode reaches it. The recipient's handler does not run for it,
// and its sender is to blame: the sender is disconnected and killed with a
// *ProcessError matching ErrBadFrame that names the recipient, while the
// recipient goes on handling what others send it.
func TestProcessUndecodablePayloadBetweenChildren(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	victim := spawn(t, c, "victim", "handler")
	pe := badFrameError(t, spawnBad(t, c, "undecodable"))
	assert.Contains(t, pe.Error(), "a message for victim#")
	assert.Contains(t, pe.Error(), "does not decode there")
	assert.Equal(t, syscall.SIGKILL, pe.Signal, "the sender is killed")

	replies, answered := make(chan msg, 1), make(chan struct{})
	_, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "asker",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) {
			replies <- m.Body
			close(answered)
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if err := m.Send(ctx, "victim", msg{Hop: 41}); err != nil {
				return err
			}
			select { // stays a member until the reply came
			case <-answered:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}})
	require.NoError(t, err)
	select {
	case <-victim.Done():
		t.Fatalf("the recipient ended: %v", victim.Err())
	default:
	}
	err = c.Wait(ctx)
	assert.Equal(t, 42, within(t, replies).Hop, "the recipient goes on")
	assert.ErrorIs(t, err, processgroup.ErrBadFrame, "the sender's failure is reported")
	var crash *fence.PanicError
	assert.False(t, errors.As(err, &crash), "nothing crashed: %v", err)
}

// TestProcessUndecodableFromTheCoordinator: a child that says a payload the
// coordinator encoded for it (a goroutine member's message) does not decode
// is the one at fault, and is disconnected; the sender goes on.
func TestProcessUndecodableFromTheCoordinator(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	bad := spawnBad(t, c, "blames-coordinator")
	p := member(t, c, "p")
	require.NoError(t, p.Send(ctx, "bad", msg{}))
	pe := badFrameError(t, bad)
	assert.Contains(t, pe.Error(), "encoded by the coordinator, does not decode")
	require.NoError(t, p.Err(), "the sender goes on")
}

// coordinatorEnv makes the test binary a coordinator that spawns three
// children, prints their pids and waits to be killed.
const coordinatorEnv = "TEST_COORDINATOR"

func coordinatorProcess() {
	os.Unsetenv(coordinatorEnv)
	c := processgroup.New[msg]()
	var pids []string
	for i := range 3 {
		p, err := c.SpawnProcess(context.Background(), processgroup.ProcessSpec{Name: fmt.Sprint("s", i), Role: "sleeper"})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		pids = append(pids, strconv.Itoa(p.Pid()))
	}
	fmt.Println("pids", strings.Join(pids, " "))
	time.Sleep(time.Hour) // until killed
}

// TestProcessCoordinatorKilled: when the coordinator's process dies by
// SIGKILL, all its children are gone within a second.
func TestProcessCoordinatorKilled(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := execCommand(ctx, self, coordinatorEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	fields := strings.Fields(line)
	require.Equal(t, "pids", fields[0], line)
	var pids []int
	for _, f := range fields[1:] {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 3)
	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	cmd.Wait()
	for _, pid := range pids {
		for alive(pid) {
			require.Less(t, time.Since(killed), time.Second, "child %d outlived its coordinator by a second", pid)
			time.Sleep(time.Millisecond) // the process table shows it only by polling
		}
	}
	t.Logf("all children gone %v after their coordinator was killed", time.Since(killed))
}

// alive reports whether pid is a process that has not exited (a zombie
// waiting to be reaped by init has exited).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: believe kill
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
