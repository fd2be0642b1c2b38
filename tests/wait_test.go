package tests

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spawnRun spawns a member called name, in no group, running run.
func spawnRun(t *testing.T, c *processgroup.Coordinator[msg], name string, run processgroup.RunFunc[msg]) managedprocess.Member[msg] {
	t.Helper()
	m, err := c.Spawn(withWire(context.Background()), processgroup.Spec[msg]{Name: name, Run: run})
	require.NoError(t, err)
	return m
}

// memberFailures returns the failures in err (a join of *fence.MemberError,
// possibly nested), by member name.
func memberFailures(t *testing.T, err error) map[string]error {
	t.Helper()
	out := map[string]error{}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var me *fence.MemberError
		if errors.As(e, &me) {
			_, twice := out[me.Member.Name]
			assert.False(t, twice, "%s reported twice", me.Member)
			out[me.Member.Name] = me.Err
		}
	}
	walk(err)
	return out
}

// TestWaitReportsEveryFailure: Wait returns once every run function
// returned, with each failure — an error returned, a panic, runtime.Goexit,
// a handler crash — wrapped with its member's identity and joined; a run
// returning nil is not reported. Close (the first call) returns the same.
func TestWaitReportsEveryFailure(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	crasher := spawnIdle(t, c, "crasher", func(context.Context, managedprocess.Message[msg]) { panic("handler bug") })
	spawnRun(t, c, "fine", func(context.Context, managedprocess.Member[msg]) error { return nil })
	spawnRun(t, c, "erring", func(context.Context, managedprocess.Member[msg]) error { return errBoom })
	spawnRun(t, c, "panicking", func(context.Context, managedprocess.Member[msg]) error { panic("run bug") })
	spawnRun(t, c, "exiting", func(context.Context, managedprocess.Member[msg]) error { runtime.Goexit(); return nil })
	spawnRun(t, c, "sender", func(ctx context.Context, m managedprocess.Member[msg]) error {
		if err := m.SendTo(ctx, crasher.ID(), msg{}); err != nil {
			return err
		}
		<-crasher.Done() // the crash is reported before the crasher's reader exits
		return nil
	})

	err := c.Wait(ctx)
	require.Error(t, err)
	failed := memberFailures(t, err)
	assert.Len(t, failed, 4, "%v", err)
	assert.ErrorIs(t, failed["erring"], fence.ErrExited)
	assertCausedBy(t, failed["erring"], errBoom)
	var pe *fence.PanicError
	if assert.ErrorAs(t, failed["panicking"], &pe) {
		assert.Equal(t, "run bug", pe.Value)
	}
	assert.ErrorIs(t, failed["exiting"], fence.ErrGoexit)
	if assert.ErrorAs(t, failed["crasher"], &pe) {
		assert.Equal(t, "handler bug", pe.Value)
	}
	assertCausedBy(t, err, errBoom, "errors.Is sees through the join")
	assert.Contains(t, err.Error(), "muster: member erring#3 failed: muster: member exited: boom")

	again := c.Wait(ctx)
	require.Error(t, again)
	assert.Equal(t, err.Error(), again.Error(), "a second Wait reports the same")
	closed := c.Close(ctx)
	require.Error(t, closed)
	assert.Equal(t, err.Error(), closed.Error(), "Close reports the same")
	assert.NotErrorIs(t, closed, fence.ErrClosed)
	assert.ErrorIs(t, c.Close(ctx), fence.ErrClosed, "a later Close")
	assert.Equal(t, err.Error(), c.Wait(ctx).Error(), "Wait after Close")
}

// TestWaitBlocksUntilRunFunctionsReturn: Wait waits for every run function
// (also those of members spawned while it waits), not for members with
// handlers only; a Wait whose context ends first returns the context's
// error with the failures so far.
func TestWaitBlocksUntilRunFunctionsReturn(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	spawnIdle(t, c, "idle", nil)
	assert.NoError(t, c.Wait(ctx), "nothing with a run function runs")
	var nilCtx context.Context
	assert.ErrorIs(t, c.Wait(nilCtx), fence.ErrInvalidArgument)

	gates := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	gated := func(i int) processgroup.RunFunc[msg] {
		return func(ctx context.Context, _ managedprocess.Member[msg]) error {
			gate(ctx, gates[i])
			return nil
		}
	}
	spawnRun(t, c, "slow", gated(0))
	spawnRun(t, c, "erring", func(context.Context, managedprocess.Member[msg]) error { return errBoom })
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := c.Wait(short)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assertCausedBy(t, err, errBoom, "with the failures so far")

	waited := make(chan error, 1)
	go func() { waited <- c.Wait(ctx) }()
	spawnRun(t, c, "late", gated(1))
	close(gates[0])
	select {
	case err := <-waited:
		t.Fatalf("Wait returned %v while late runs", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(gates[1])
	err = within(t, waited)
	assert.Equal(t, []string{"erring"}, keys(memberFailures(t, err)))
}

// TestCloseStopsMembersWithoutFailures: members stopped by Close are not
// failures, whatever their run function returns once its context ended;
// Close returns nil when nothing failed.
func TestCloseStopsMembersWithoutFailures(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	spawnIdle(t, c, "idle", nil)
	for _, name := range []string{"returns nil", "returns ctx.Err()", "returns an error"} {
		spawnRun(t, c, name, func(ctx context.Context, _ managedprocess.Member[msg]) error {
			<-ctx.Done()
			switch name {
			case "returns nil":
				return nil
			case "returns ctx.Err()":
				return ctx.Err()
			}
			return errBoom
		})
	}
	require.NoError(t, c.Close(ctx))
	require.NoError(t, c.Wait(ctx))
}

// TestCloseStopsWaitersWithoutFailures: members whose run returns the error
// a blocked call got from Close, as runs do — a Barrier, a Send into a full
// window, an outbound fence — were stopped by Close, not failed, although
// Close fails their calls before it ends their contexts.
func TestCloseStopsWaitersWithoutFailures(t *testing.T) {
	calls := map[string]func(context.Context, managedprocess.Member[msg]) error{
		"barrier": func(ctx context.Context, m managedprocess.Member[msg]) error {
			_, err := m.Barrier(ctx, "g", "b", fence.Rendezvous)
			return err
		},
		"send": func(ctx context.Context, m managedprocess.Member[msg]) error {
			for {
				if err := m.Send(ctx, "stuck", msg{}); err != nil {
					return err
				}
			}
		},
		"outbound fence": func(ctx context.Context, m managedprocess.Member[msg]) error {
			if err := m.Send(ctx, "stuck", msg{}); err != nil {
				return err
			}
			return m.WaitForOutboundFence(ctx)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t, processgroup.WithWindow(4))
			newGroup(t, c, "g")
			spawnIdle(t, c, "stuck", func(hctx context.Context, _ managedprocess.Message[msg]) { <-hctx.Done() }, "g") // never arrives either
			for i := range 4 {
				_, err := c.Spawn(withWire(context.Background()), processgroup.Spec[msg]{Name: fmt.Sprintf("w%d", i), Groups: []string{"g"}, Run: call})
				require.NoError(t, err)
			}
			eventually(t, "all four blocked", func() bool {
				s := c.Snapshot()
				if name == "barrier" {
					return len(s.Groups) == 1 && len(s.Groups[0].Rounds) == 1 && len(s.Groups[0].Rounds[0].Arrived) == 4
				}
				blocked := 0
				for _, ms := range s.Members {
					if len(ms.Waiting) > 0 || name == "outbound fence" && len(ms.Streams) > 0 && ms.Streams[0].Delivered < ms.Streams[0].Sent {
						blocked++
					}
				}
				return blocked == 4
			})
			require.NoError(t, c.Close(ctx))
		})
	}
}

// keys returns the keys of m, in no particular order.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
