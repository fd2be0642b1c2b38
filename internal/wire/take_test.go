package wire_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// discard is a Sender that drops what the member side sends.
type discard struct{}

func (discard) Send(*wire.Frame)                             {}
func (discard) Post(fence.Identity, bool, []byte)            {}
func (discard) Deliver(fence.Identity, uint64, []byte)       {}
func (discard) Relay(fence.Identity, uint64, uint32, []byte) {}
func (discard) Close()                                       {}

// TestRemoteTakeHandsOnDeliveriesAtFlushAndAtTheBound: the deliveries a
// member side takes reach its handler, in order and with their payloads
// intact though the reader's buffer is read over, once Flush is called, or
// without it once ReportEvery of them wait.
func TestRemoteTakeHandsOnDeliveriesAtFlushAndAtTheBound(t *testing.T) {
	got := make(chan uint64, 2*wire.ReportEvery)
	r := wire.NewRemote(fence.Identity{Name: "m", ID: 1}, discard{}, managedprocess.Bytes(),
		func(_ context.Context, m managedprocess.Message[[]byte]) { got <- binary.BigEndian.Uint64(m.Body) }, nil, 0)
	defer func() { r.Lose(fence.ErrClosed); r.Wait() }()
	var msg [8]byte
	var buf []byte
	deliver := func(i uint64) {
		binary.BigEndian.PutUint64(msg[:], i)
		buf = wire.AppendMessage(buf[:0], msg[:])
		r.Take(&wire.Frame{Op: wire.OpDeliver, From: fence.Identity{Name: "s", ID: 2}, Seq: i, Count: 1, Body: buf})
		clear(buf) // the reader reads over its buffer
	}
	handled := func(from, to uint64) {
		t.Helper()
		for i := from; i <= to; i++ {
			select {
			case n := <-got:
				if n != i {
					t.Fatalf("handled message %d, want %d", n, i)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("message %d was not handled", i)
			}
		}
	}
	for i := range uint64(3) {
		deliver(i + 1)
	}
	r.Flush()
	handled(1, 3)
	for i := range uint64(wire.ReportEvery) { // no Flush: the bound hands them on
		deliver(4 + i)
	}
	handled(4, 3+wire.ReportEvery)
}

// TestRemoteAsksForCreditEarly: a member side that spent half the credit a
// grant added asks for more in the background, as a try, so that a busy
// sender does not stall at the limit for a round trip; a send that reaches
// the limit meanwhile waits for that call instead of making its own. Here
// every grant adds 8: all 1000 sends go out without a call that waits.
func TestRemoteAsksForCreditEarly(t *testing.T) {
	to := fence.Identity{Name: "r", ID: 2}
	var r *wire.Remote[[]byte]
	var mu sync.Mutex
	posted, tries, waits := uint64(0), 0, 0
	pipe := wire.NewPipe(func(f *wire.Frame) {
		mu.Lock()
		defer mu.Unlock()
		switch f.Op {
		case wire.OpPost:
			posted += f.Count
			return
		case wire.OpCredit:
			if f.Try {
				tries++
			} else {
				waits++
			}
		}
		r.Receive(&wire.Frame{Op: wire.OpReply, Call: f.Call, To: &to, Count: posted + 8})
	})
	r = wire.NewRemote(fence.Identity{Name: "s", ID: 1}, pipe, managedprocess.Bytes(), nil, nil, 0)
	defer func() { pipe.Close(); r.Lose(fence.ErrClosed); r.Wait() }()
	for i := range 1000 {
		require.NoError(t, r.Send(context.Background(), "r", []byte{byte(i)}))
	}
	pipe.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.EqualValues(t, 1000, posted)
	assert.Zero(t, waits, "credit calls that waited")
	assert.GreaterOrEqual(t, tries, 1000/8-1, "credit calls made early")
}

// TestRemoteIgnoresAGrantMadeBeforeAPublish: a publish uses room that the
// member side's limits do not count, so the next send outside a handler
// asks for credit again. An early credit call still out at the publish may
// have been granted before the coordinator queued the publish: its grant
// raises nothing, and the send asks again instead of posting on it.
func TestRemoteIgnoresAGrantMadeBeforeAPublish(t *testing.T) {
	to := fence.Identity{Name: "r", ID: 2}
	var r *wire.Remote[[]byte]
	var mu sync.Mutex
	var held *wire.Frame // the early credit call, not yet answered
	early := make(chan struct{})
	var frames []wire.Op // what reached the coordinator, in order
	credits := 0         // credit calls seen
	posted := uint64(0)
	reply := func(f *wire.Frame, limit uint64) {
		r.Receive(&wire.Frame{Op: wire.OpReply, Call: f.Call, To: &to, Count: limit})
	}
	pipe := wire.NewPipe(func(f *wire.Frame) {
		mu.Lock()
		defer mu.Unlock()
		frames = append(frames, f.Op)
		switch f.Op {
		case wire.OpResolve:
			reply(f, 8)
		case wire.OpPost:
			posted += f.Count
		case wire.OpCredit:
			if credits++; credits == 1 {
				held = f // answered after the publish, with a limit that does not count it
				close(early)
				return
			}
			reply(f, posted+8)
		case wire.OpPublish:
			r.Receive(&wire.Frame{Op: wire.OpReply, Call: f.Call})
		}
	})
	r = wire.NewRemote(fence.Identity{Name: "s", ID: 1}, pipe, managedprocess.Bytes(), nil, nil, 0)
	defer func() { pipe.Close(); r.Lose(fence.ErrClosed); r.Wait() }()
	ctx := context.Background()
	for range 4 { // the fourth spends half the grant: the early call goes out
		require.NoError(t, r.Send(ctx, "r", []byte{1}))
	}
	select {
	case <-early:
	case <-time.After(10 * time.Second):
		t.Fatal("no early credit call")
	}
	require.NoError(t, r.Publish(ctx, "g", []byte{2}))
	mu.Lock()
	reply(held, 4+8) // granted before the publish was queued: one too many
	mu.Unlock()
	require.NoError(t, r.Send(ctx, "r", []byte{3}))
	pipe.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 2, credits, "the send after the publish asked again")
	assert.Equal(t, wire.OpCredit, frames[len(frames)-2], "before it posted")
	assert.Equal(t, wire.OpPost, frames[len(frames)-1])
}
