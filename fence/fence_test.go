package fence_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestModesRoundTripThroughTheirNames(t *testing.T) {
	for _, m := range []fence.Mode{fence.Rendezvous, fence.DeliveryFence, fence.ProcessingFence} {
		got, err := fence.ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
		assert.True(t, m.Valid())
	}
	assert.Equal(t, fence.DeliveryFence, fence.Mode(0), "the zero mode is the default, DeliveryFence")
	_, err := fence.ParseMode("fast")
	assert.ErrorContains(t, err, `unknown mode "fast"`)
	assert.False(t, fence.Mode(9).Valid())
	assert.Equal(t, "mode(9)", fence.Mode(9).String())
	assert.False(t, fence.Rendezvous.Drains())
	assert.True(t, fence.ProcessingFence.Drains())
}

func TestErrorCarriesTheDiagnosisAndUnwrapsToItsCause(t *testing.T) {
	w := fence.Identity{Name: "worker", ID: 2}
	c := fence.Identity{Name: "consumer", ID: 1}
	e := &fence.Error{
		Op: "barrier", Group: "g", Barrier: "phase", Round: 3, Mode: fence.DeliveryFence, Member: c,
		Missing: []fence.Identity{w},
		Lagging: []fence.Lag{{Target: fence.Target{Recipient: c, Sender: w, Seq: 8}, Delivered: 5}},
		Err:     context.DeadlineExceeded,
	}
	var err error = e
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, e.Timeout())
	assert.Equal(t, "muster: barrier g/phase#3 (delivery) by consumer#1: context deadline exceeded; "+
		"not arrived: [worker#2]; lagging: [worker#2→consumer#1 5/8]", err.Error())

	left := fmt.Errorf("%w: worker left", fence.ErrLeft)
	e = &fence.Error{Op: "wait", Group: "g", Barrier: "b", Round: 1, Member: c,
		Departed: []fence.Departure{{Member: w, Cause: left}}, Err: left}
	assert.ErrorIs(t, e, fence.ErrLeft)
	assert.False(t, e.Timeout())
	assert.Contains(t, e.Error(), "departed: [worker#2: muster: member left: worker left]")
}

func TestPanicErrorIsACrash(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &fence.PanicError{Value: "boom", Stack: []byte("stack")})
	assert.ErrorIs(t, err, fence.ErrCrashed)
	var perr *fence.PanicError
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "boom", perr.Value)
	assert.EqualError(t, perr, "muster: member crashed: panic: boom")
}

func TestContextErrorKeepsBothTheErrorAndTheCause(t *testing.T) {
	assert.NoError(t, fence.ContextError(context.Background()))

	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fence.ErrClosed)
	err := fence.ContextError(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, fence.ErrClosed)

	dl, stop := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer stop()
	err = fence.ContextError(dl)
	assert.Equal(t, context.DeadlineExceeded, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
}

func TestResultString(t *testing.T) {
	x := fence.Departure{Member: fence.Identity{Name: "x", ID: 4}, Cause: fence.ErrExited}
	yz := []fence.Identity{{Name: "y", ID: 5}, {Name: "z", ID: 6}}
	assert.Equal(t, "round 2", fence.NewResult(2, nil, nil).String())
	assert.Equal(t, "round 2 departed=[x#4: muster: member exited]", fence.NewResult(2, []fence.Departure{x}, nil).String())
	assert.Equal(t, "round 2 departed=[x#4: muster: member exited] left=[y#5 z#6]", fence.NewResult(2, []fence.Departure{x}, yz).String())
	assert.Equal(t, "round 2 left=[y#5 z#6]", fence.NewResult(2, nil, yz).String())
}

func TestResultListsAreCopies(t *testing.T) {
	left := []fence.Identity{{Name: "y", ID: 5}}
	r := fence.NewResult(1, nil, left)
	left[0].Name = "changed"
	got := r.Left()
	assert.Equal(t, "y", got[0].Name, "NewResult keeps its own copy")
	got[0].Name = "changed"
	assert.Equal(t, "y", r.Left()[0].Name, "Left returns a copy")
	assert.Nil(t, r.Departed())
	assert.Nil(t, fence.Result{Round: 3}.Left())
}

func TestMemberErrorNamesTheMemberAndUnwrapsToItsFailure(t *testing.T) {
	cause := fmt.Errorf("%w: %w", fence.ErrExited, context.Canceled)
	var err error = &fence.MemberError{Member: fence.Identity{Name: "w", ID: 3}, Err: cause}
	assert.EqualError(t, err, "muster: member w#3 failed: muster: member exited: context canceled")
	assert.ErrorIs(t, err, fence.ErrExited)
	assert.ErrorIs(t, err, context.Canceled)
	var me *fence.MemberError
	require.ErrorAs(t, errors.Join(errors.New("other"), err), &me)
	assert.Equal(t, "w", me.Member.Name)
}
