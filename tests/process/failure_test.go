package process

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The core failure suite's cases, with the failing member a child process:
// its failure crosses the socket with the same error types and identities.

// departedNames returns the names of departures.
func departedNames(ds []fence.Departure) []string {
	var names []string
	for _, d := range ds {
		names = append(names, d.Member.Name)
	}
	return names
}

// fenceError returns the *fence.Error in err, failing the test unless err
// also matches target.
func fenceError(t *testing.T, err, target error) *fence.Error {
	t.Helper()
	require.ErrorIs(t, err, target)
	var fe *fence.Error
	require.ErrorAs(t, err, &fe)
	return fe
}

// TestProcessHandlerPanics: a child's handler that panics crashes its
// member: the round it was expected in fails with ErrCrashed carrying the
// panic's value and stack, naming it as departed, and its process ends.
func TestProcessHandlerPanics(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	child := spawn(t, c, "P", "panicsInHandler")
	a := member(t, c, "a")
	arr, err := a.Arrive(ctx, "g", "b", fence.DeliveryFence) // P, which never arrives, keeps the round open
	require.NoError(t, err)
	for hop := 1; hop <= 3; hop++ {
		require.NoError(t, a.Send(ctx, "P", msg{Hop: hop}))
	}
	_, err = arr.Wait(ctx)
	fe := fenceError(t, err, fence.ErrCrashed)
	var pe *fence.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "kaboom", pe.Value)
	assert.NotEmpty(t, pe.Stack)
	assert.Equal(t, []string{"P"}, departedNames(fe.Departed))
	assert.Empty(t, fe.Missing, "P departed: it is listed under Departed, not also under Missing")
	within(t, child.Done())
}

// crashHop is the message at which the role panicsAtHop panics, of the
// streamHops TestProcessHandlerPanicsInAStream sends.
const (
	crashHop   = 500
	streamHops = 1000
)

// TestProcessHandlerPanicsInAStream: a child whose handler panics in the
// middle of a stream of messages (which travel to it in runs) crashes:
// the delivery fence its sender arrived at fails with ErrCrashed naming
// it, and every message of the stream counts as consumed, those before the
// panic as handled and the rest as dropped: nothing stays pending on the
// link, which is released (a message left unconsumed would keep P's
// member from retiring, and the coordinator from closing).
func TestProcessHandlerPanicsInAStream(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	child := spawn(t, c, "P", "panicsAtHop")
	a := member(t, c, "a")
	for hop := 1; hop <= streamHops; hop++ {
		if err := a.Send(ctx, "P", msg{Hop: hop}); err != nil {
			require.ErrorIs(t, err, fence.ErrCrashed, "a send after the crash")
			break
		}
	}
	_, err := a.Barrier(ctx, "g", "b", fence.DeliveryFence)
	fe := fenceError(t, err, fence.ErrCrashed)
	assert.Equal(t, []string{"P"}, departedNames(fe.Departed))
	within(t, child.Done())
	for _, s := range a.Snapshot().Streams {
		assert.Equal(t, s.Sent, s.Delivered, "messages to %v not consumed", s.Recipient)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.ErrorIs(t, c.Close(ctx), fence.ErrCrashed, "P's failure; and the coordinator closes")
}

// TestProcessRunPanics: a child whose body panics after it arrived fails
// the round with ErrCrashed carrying the panic (not ErrExited), naming it
// as departed and the member that had not arrived as missing.
func TestProcessRunPanics(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	a := member(t, c, "a")
	spawn(t, c, "B", "sleeper") // never arrives
	spawn(t, c, "E", "panicsAfterArriving")
	arrived(t, c, "E")
	waiting := barrierIn(t, a)
	arrived(t, c, "a")
	require.NoError(t, a.Send(ctx, "E", msg{})) // E's body panics once its handler has this
	err := within(t, waiting)
	fe := fenceError(t, err, fence.ErrCrashed)
	assert.NotErrorIs(t, err, fence.ErrExited)
	var pe *fence.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "42", pe.Value)
	assert.Equal(t, []string{"E"}, departedNames(fe.Departed))
	assert.Equal(t, []string{"B"}, idNames(fe.Missing))
}

// idNames returns the names of ids.
func idNames(ids []fence.Identity) []string {
	var names []string
	for _, id := range ids {
		names = append(names, id.Name)
	}
	return names
}

// TestProcessContextEnds: a child's Barrier whose context's deadline passes
// returns a *fence.Error across the socket that matches
// context.DeadlineExceeded, says it timed out, and names the member it
// waited for; the child's body returns it, which fails its member (its
// process exits normally).
func TestProcessContextEnds(t *testing.T) {
	c := newCoordinator(t)
	member(t, c, "p") // never arrives
	child := spawn(t, c, "i", "impatient")
	err := c.Wait(testCtx(t))
	assert.ErrorIs(t, err, fence.ErrExited)
	fe := fenceError(t, err, context.DeadlineExceeded)
	assert.True(t, fe.Timeout())
	assert.Equal(t, "i", fe.Member.Name)
	assert.Equal(t, []string{"p"}, idNames(fe.Missing))
	assert.Equal(t, fence.DeliveryFence, fe.Mode)
	within(t, child.Done())
	assert.NoError(t, child.Err())
}

// TestProcessCompleteForSurvivors: in a group that completes rounds for
// survivors, a child killed while the others wait departs, and the round
// completes for them, listing it as departed with its signal.
func TestProcessCompleteForSurvivors(t *testing.T) {
	c := newCoordinator(t, processgroup.CompleteForSurvivors())
	victim := spawn(t, c, "victim", "sleeper")
	spawn(t, c, "arriver", "arriver")
	p := member(t, c, "p")
	ctx := testCtx(t)
	arr, err := p.Arrive(ctx, "g", "b", fence.Rendezvous)
	require.NoError(t, err)
	arrived(t, c, "arriver")
	require.NoError(t, syscall.Kill(victim.Pid(), syscall.SIGKILL))
	res, err := arr.Wait(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"victim"}, departedNames(res.Departed()))
	var pe *processgroup.ProcessError
	require.True(t, errors.As(res.Departed()[0].Cause, &pe), "cause %v", res.Departed()[0].Cause)
	assert.Equal(t, syscall.SIGKILL, pe.Signal)
	assert.ErrorIs(t, res.Departed()[0].Cause, fence.ErrCrashed)
	pe = processError(t, c.Wait(ctx)) // the victim's failure, and no other: the arriver's round completed
	assert.Equal(t, "victim", pe.Member.Name)
}

// TestProcessSurvivorsDepartedRecipient: a child that departs with a
// message from a survivor unhandled (its handler was stuck on it) cannot
// meet that survivor's delivery fence target; in a group that completes
// rounds for survivors, their round still completes once it is killed.
func TestProcessSurvivorsDepartedRecipient(t *testing.T) {
	c := newCoordinator(t, processgroup.CompleteForSurvivors())
	ctx := testCtx(t)
	d := spawn(t, c, "D", "stuck")
	a, b := member(t, c, "a"), member(t, c, "b")
	require.NoError(t, a.Send(ctx, "D", msg{}))
	outs := make(chan error, 2)
	for _, m := range []interface {
		Barrier(context.Context, string, string, fence.Mode) (fence.Result, error)
	}{a, b} {
		go func() {
			res, err := m.Barrier(ctx, "g", "b", fence.DeliveryFence)
			if err == nil && !slices.Equal(departedNames(res.Departed()), []string{"D"}) {
				err = fmt.Errorf("departed %v, want [D]", departedNames(res.Departed()))
			}
			outs <- err
		}()
	}
	arrived(t, c, "a")
	arrived(t, c, "b")
	require.NoError(t, syscall.Kill(d.Pid(), syscall.SIGKILL))
	for range 2 {
		require.NoError(t, within(t, outs))
	}
}

// TestProcessModeMismatch: a child that calls a barrier in another mode
// than the round's first arrival is refused with ErrModeMismatch across the
// socket; its body returns that error, so it fails the round it was
// expected in, with the refusal as its cause.
func TestProcessModeMismatch(t *testing.T) {
	c := newCoordinator(t)
	ctx := testCtx(t)
	p := member(t, c, "p")
	member(t, c, "q") // never arrives: the round stays open
	arr, err := p.Arrive(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	spawn(t, c, "x", "processingArriver") // joins the open round
	_, err = arr.Wait(ctx)
	fe := fenceError(t, err, fence.ErrExited)
	assert.Equal(t, []string{"x"}, departedNames(fe.Departed))
	refusal := fenceError(t, fe.Departed[0].Cause, fence.ErrModeMismatch)
	assert.Equal(t, "x", refusal.Member.Name)
	assert.Equal(t, fence.ProcessingFence, refusal.Mode)
}
