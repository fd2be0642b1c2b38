package wire_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cross sends err through a pipe as a frame and returns what arrived.
func cross(t *testing.T, f *wire.Frame) *wire.Frame {
	t.Helper()
	got := make(chan *wire.Frame, 1)
	p := wire.NewPipe(func(f *wire.Frame) { got <- f })
	defer p.Close()
	p.Send(f)
	return <-got
}

func TestErrorsKeepTheirSentinelsAndFieldsAcross(t *testing.T) {
	departed := fmt.Errorf("%w: worker: boom", fence.ErrExited)
	fe := &fence.Error{Op: "barrier", Group: "g", Barrier: "b", Round: 3, Mode: fence.ProcessingFence,
		Member: fence.Identity{Name: "a", ID: 1}, Missing: []fence.Identity{{Name: "c", ID: 3}},
		Departed: []fence.Departure{{Member: fence.Identity{Name: "e", ID: 5}, Cause: departed}},
		Lagging:  []fence.Lag{{Target: fence.Target{Recipient: fence.Identity{Name: "r", ID: 2}, Seq: 4}, Delivered: 1}},
		Err:      fmt.Errorf("%w: %w", context.DeadlineExceeded, fence.ErrClosed)}
	for name, err := range map[string]error{
		"fence error":         fe,
		"wrapped fence error": fmt.Errorf("managedprocess: a#1: %w", fe),
		"panic":               &fence.PanicError{Value: 42, Stack: []byte("stack")},
		"member error":        &fence.MemberError{Member: fence.Identity{Name: "m", ID: 9}, Err: departed},
		"plain":               fmt.Errorf("send to x: %w", fence.ErrWouldBlock),
	} {
		t.Run(name, func(t *testing.T) {
			got := cross(t, &wire.Frame{Op: wire.OpReply, Err: wire.EncodeError(err)}).Err.Decode()
			assert.Equal(t, err.Error(), got.Error())
			for _, s := range []error{fence.ErrExited, fence.ErrClosed, fence.ErrCrashed, fence.ErrWouldBlock, context.DeadlineExceeded, fence.ErrUnknownMember} {
				assert.Equal(t, errors.Is(err, s), errors.Is(got, s), "errors.Is(%v)", s)
			}
			var want, have *fence.Error
			if errors.As(err, &want) {
				require.ErrorAs(t, got, &have)
				assert.Equal(t, want.Missing, have.Missing)
				assert.Equal(t, want.Lagging, have.Lagging)
				assert.True(t, have.Timeout())
				require.Len(t, have.Departed, 1)
				assert.ErrorIs(t, have.Departed[0].Cause, fence.ErrExited)
			}
		})
	}
	assert.Nil(t, wire.EncodeError(nil).Decode())
}

func TestResultsAndStatesCross(t *testing.T) {
	res := fence.NewResult(2,
		[]fence.Departure{{Member: fence.Identity{Name: "e", ID: 5}, Cause: fence.ErrCrashed}},
		[]fence.Identity{{Name: "l", ID: 6}})
	got := cross(t, &wire.Frame{Op: wire.OpReply, Result: wire.EncodeResult(res)}).Result.Decode()
	assert.Equal(t, res.Round, got.Round)
	assert.Equal(t, res.Left(), got.Left())
	assert.Equal(t, res.String(), got.String())
	assert.ErrorIs(t, got.Departed()[0].Cause, fence.ErrCrashed)
}

// TestPipeKeepsOrderAndDrainsOnClose: frames arrive in the order sent, each
// decoded on the pipe's goroutine, and Close returns once all were received.
func TestPipeKeepsOrderAndDrainsOnClose(t *testing.T) {
	var mu sync.Mutex
	var seqs []uint64
	p := wire.NewPipe(func(f *wire.Frame) { mu.Lock(); seqs = append(seqs, f.Seq); mu.Unlock() })
	const n = 10_000
	for i := range uint64(n) {
		p.Send(&wire.Frame{Op: wire.OpDeliver, Seq: i + 1, Count: 1, Body: wire.AppendMessage(nil, nil)})
	}
	p.Close()
	p.Send(&wire.Frame{Op: wire.OpDeliver, Seq: n + 1, Count: 1, Body: wire.AppendMessage(nil, nil)}) // dropped: closed
	require.Len(t, seqs, n)
	for i, s := range seqs {
		require.Equal(t, uint64(i+1), s)
	}
}
