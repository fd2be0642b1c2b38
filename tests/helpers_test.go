package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bound is how long any single wait in these tests may take before the test
// fails instead of hanging.
const bound = 10 * time.Second

// msg is the message type of these tests.
type msg struct {
	From  int // sender index (stress) or 0
	Round int // barrier round the message belongs to
	Hop   int // hop number in a handler chain
}

// testCtx returns a context bounded by twice bound, cancelled at cleanup.
// Members spawned with it are placed as MUSTER_WIRE says (see withWire).
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(withWire(context.Background()), 2*bound)
	t.Cleanup(cancel)
	return ctx
}

// withWire returns ctx with which Spawn places members as the environment
// variable MUSTER_WIRE says: unset, in process; "all", every member behind
// a loopback wire (its handler and run function reach the coordinator only
// through frames encoded to bytes and decoded on another goroutine); "mix",
// every member with an even ID behind one.
func withWire(ctx context.Context) context.Context {
	all := func(fence.Identity) bool { return true }
	switch os.Getenv("MUSTER_WIRE") {
	case "all":
		return wire.WithLoopback(ctx, wire.Placement{Behind: all})
	case "mix":
		return wire.WithLoopback(ctx, wire.Placement{Behind: func(id fence.Identity) bool { return id.ID%2 == 0 }})
	case "socket":
		return wire.WithLoopback(ctx, wire.Placement{Behind: all, Socket: true})
	}
	return ctx
}

// newCoordinator returns a coordinator closed at cleanup, which fails the
// test if members are still running then. The members' failures Close
// reports are logged: the tests that cause them check them themselves.
func newCoordinator(t *testing.T, opts ...processgroup.Option) *processgroup.Coordinator[msg] {
	t.Helper()
	c := processgroup.New[msg](opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		err := c.Close(ctx)
		switch {
		case errors.Is(err, fence.ErrClosed): // the test closed it
		case ctx.Err() != nil:
			t.Errorf("close: members still running: %v", err)
		case err != nil:
			t.Logf("close: the members' failures: %v", err)
		}
	})
	return c
}

// newGroup creates a group or fails the test.
func newGroup(t *testing.T, c *processgroup.Coordinator[msg], name string, opts ...processgroup.GroupOption) *processgroup.Group[msg] {
	t.Helper()
	g, err := c.NewGroup(name, opts...)
	require.NoError(t, err)
	return g
}

// spawnIdle spawns a handler-only member (nil Run) in groups.
func spawnIdle(t *testing.T, c *processgroup.Coordinator[msg], name string, h managedprocess.Handler[msg], groups ...string) managedprocess.Member[msg] {
	t.Helper()
	m, err := c.Spawn(withWire(context.Background()), processgroup.Spec[msg]{Name: name, Groups: groups, Handler: h})
	require.NoError(t, err)
	return m
}

// spawnCrashingWaiter spawns name into group "g": its run function waits
// at barrier "x" (a Rendezvous) with its own context and sends what the wait
// returned to out; its handler panics on any message.
func spawnCrashingWaiter(t *testing.T, ctx context.Context, c *processgroup.Coordinator[msg], name string, out chan<- error) managedprocess.Member[msg] {
	t.Helper()
	m, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: name, Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[msg]) { panic("kaboom") },
		Run: func(rctx context.Context, m managedprocess.Member[msg]) error {
			_, err := m.Barrier(rctx, "g", "x", fence.Rendezvous)
			out <- err
			return nil
		}})
	require.NoError(t, err)
	return m
}

// within receives from ch or fails the test after bound.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("no value within %v", bound)
		panic("unreachable")
	}
}

// eventually polls cond (for state only observable through snapshots) and
// fails the test after bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", bound, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitAll waits for wg; after bound it calls stop (which must make the
// goroutines return), waits for them again and fails the test, so that no
// goroutine reports to t after the test ended.
func waitAll(t *testing.T, wg *sync.WaitGroup, stop func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(bound):
	}
	stop()
	select {
	case <-done:
	case <-time.After(bound):
	}
	t.Fatalf("goroutines did not finish within %v", bound)
}

// outcome is what a barrier call returned.
type outcome struct {
	res fence.Result
	err error
}

// goBarrier runs m.Barrier at g on its own goroutine and returns its outcome channel.
func goBarrier(ctx context.Context, g *processgroup.Group[msg], m managedprocess.Member[msg], name string, mode fence.Mode) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := m.Barrier(ctx, g.Name(), name, mode)
		ch <- outcome{res, err}
	}()
	return ch
}

// goWait runs a.Wait on its own goroutine and returns its outcome channel.
func goWait(ctx context.Context, a managedprocess.Arrival) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := a.Wait(ctx)
		ch <- outcome{res, err}
	}()
	return ch
}

// arrive calls m.Arrive at g or fails the test.
func arrive(t *testing.T, ctx context.Context, g *processgroup.Group[msg], m managedprocess.Member[msg], name string, mode fence.Mode) managedprocess.Arrival {
	t.Helper()
	a, err := m.Arrive(ctx, g.Name(), name, mode)
	require.NoError(t, err)
	return a
}

// fenceErr asserts err is a *fence.Error wrapping sentinel and returns it.
func fenceErr(t *testing.T, err error, sentinel error) *fence.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel)
	var fe *fence.Error
	require.ErrorAs(t, err, &fe)
	return fe
}

// names returns the names of ids.
func names(ids []fence.Identity) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.Name)
	}
	return out
}

// departedNames returns the names of the departed members.
func departedNames(ds []fence.Departure) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Member.Name)
	}
	return out
}

// gate blocks until open is closed or ctx ends (so that Close never waits on
// a test's gate).
func gate(ctx context.Context, open <-chan struct{}) bool {
	select {
	case <-open:
		return true
	case <-ctx.Done():
		return false
	}
}

// groupSnap returns the snapshot of group name.
func groupSnap(c *processgroup.Coordinator[msg], name string) processgroup.GroupSnapshot {
	for _, g := range c.Snapshot().Groups {
		if g.Name == name {
			return g
		}
	}
	return processgroup.GroupSnapshot{}
}

// memberSnap reports whether a member called name runs, and its snapshot.
func memberSnap(c *processgroup.Coordinator[msg], name string) (processgroup.MemberSnapshot, bool) {
	for _, m := range c.Snapshot().Members {
		if m.ID.Name == name {
			return m, true
		}
	}
	return processgroup.MemberSnapshot{}, false
}

var errBoom = errors.New("boom")

// assertCausedBy asserts that err is a failure caused by target, an error a
// run function returned. In process errors.Is finds target itself; from a
// member behind the wire (MUSTER_WIRE) a user's error crosses as its text,
// as it would from another process, so there its text must be in err's.
func assertCausedBy(t *testing.T, err, target error, msgAndArgs ...any) {
	t.Helper()
	if os.Getenv("MUSTER_WIRE") != "" && !errors.Is(err, target) {
		assert.ErrorContains(t, err, target.Error(), msgAndArgs...)
		return
	}
	assert.ErrorIs(t, err, target, msgAndArgs...)
}

// assertPanicValue asserts that a PanicError's value is want: itself in
// process, its text from a member behind the wire.
func assertPanicValue(t *testing.T, want, got any) {
	t.Helper()
	if os.Getenv("MUSTER_WIRE") != "" && got != want {
		assert.Equal(t, fmt.Sprint(want), got)
		return
	}
	assert.Equal(t, want, got)
}

// behindWire reports whether the suite runs with members behind the
// loopback wire (MUSTER_WIRE), where every message costs two frames each
// way: the stress tests run fewer rounds there.
func behindWire() bool { return os.Getenv("MUSTER_WIRE") != "" }

// settle makes a call of m. Behind a wire (MUSTER_WIRE) a send returns once
// the message is on its way; a later call of the sender is served after it
// was queued, and after the sender saw what the coordinator told it before
// (a link revoked by its recipient's departure). In process a send has
// queued its message when it returns, and settle changes nothing.
func settle(m managedprocess.Member[msg]) { _ = m.Err() }
