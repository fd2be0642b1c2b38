package process

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/require"
)

// bound is how long any single wait in these tests may take before the test
// fails instead of hanging.
const bound = 20 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*bound)
	t.Cleanup(cancel)
	return ctx
}

// newCoordinator returns a coordinator closed at cleanup with the group
// "g"; the test fails if Close does not return within bound.
func newCoordinator(t *testing.T, opts ...processgroup.GroupOption) *processgroup.Coordinator[msg] {
	t.Helper()
	c := processgroup.New[msg]()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		err := c.Close(ctx)
		switch {
		case errors.Is(err, fence.ErrClosed):
		case ctx.Err() != nil:
			t.Errorf("close: members still running: %v", err)
		case err != nil:
			t.Logf("close: the members' failures: %v", err)
		}
	})
	_, err := c.NewGroup("g", opts...)
	require.NoError(t, err)
	return c
}

// quickExit spares a child built with -race the second its race detector
// would otherwise sleep at exit.
const quickExit = "GORACE=atexit_sleep_ms=0"

// spawn starts a child member of "g" in role, or fails the test.
func spawn(t *testing.T, c *processgroup.Coordinator[msg], name, role string, env ...string) *processgroup.Process {
	t.Helper()
	p, err := c.SpawnProcess(testCtx(t), processgroup.ProcessSpec{Name: name, Groups: []string{"g"}, Role: role,
		Env: append(env, quickExit), Stderr: testWriter{t}, Stdout: testWriter{t}})
	require.NoError(t, err)
	return p
}

// testWriter logs a child's output lines to the test.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("child: %s", b)
	return len(b), nil
}

// eventually polls cond (state only a snapshot shows) until it holds, or
// fails the test after bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %v", what, bound)
		time.Sleep(time.Millisecond)
	}
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

// processError returns the *ProcessError in err, failing the test if there
// is none.
func processError(t *testing.T, err error) *processgroup.ProcessError {
	t.Helper()
	var pe *processgroup.ProcessError
	require.ErrorAs(t, err, &pe)
	return pe
}
