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
