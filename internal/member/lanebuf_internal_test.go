package member

import (
	"context"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/require"
)

// laneCaps returns the capacity of every lane's queue.
func (ib *inbox[T]) laneCaps() []int {
	caps := make([]int, 0, Lanes)
	for i := range ib.lanes {
		ln := &ib.lanes[i]
		ln.mu.Lock()
		caps = append(caps, cap(ln.items))
		ln.mu.Unlock()
	}
	return caps
}

// TestLaneBuffersDoNotKeepABurstsCapacity: after a burst of 2 000 messages
// in one lane of an inbox whose window is 64 (sent from a handler's context, which
// is exempt from the window), single messages follow; after 2 × leanBatches
// of them no lane's queue keeps the burst's capacity (the reader drops a
// buffer beyond the window that leanBatches batches barely used instead of
// handing it back to a lane; the reader and the lane swap two buffers, so
// the big one holds every second batch).
func TestLaneBuffersDoNotKeepABurstsCapacity(t *testing.T) {
	const burst = 2_000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	handled := make(chan uint64, burst+8)
	r := New(Config[int]{ID: fence.Identity{Name: "r", ID: 1}, Window: 64,
		Handler: func(_ context.Context, m managedprocess.Message[int]) {
			if m.Seq == 1 {
				close(entered)
			}
			<-release
			handled <- m.Seq
		}})
	r.Start(ctx)
	defer func() { r.Stop(fence.ErrClosed, true); <-r.Done() }()
	s := New(Config[int]{ID: fence.Identity{Name: "s", ID: Lanes}}) // lane 0
	hctx := context.WithValue(ctx, handlerKey{}, s)                 // as if s's handler sent: exempt
	send := func() uint64 {
		require.NoError(t, s.sendValue(hctx, r, 0))
		return s.out.leadingSeq()
	}
	waitHandled := func(seq uint64) {
		for got := uint64(0); got < seq; {
			select {
			case got = <-handled:
			case <-ctx.Done():
				t.Fatal("not handled")
			}
		}
	}
	send()
	<-entered // the first message is taken alone; the burst queues behind it
	for range burst {
		send()
	}
	close(release)
	waitHandled(1 + burst)
	for k := 1; k <= 2*leanBatches+4; k++ {
		waitHandled(send()) // the reader swapped the lane out before handling it
		if k >= 2*leanBatches+2 {
			for i, c := range r.inbox.laneCaps() {
				require.LessOrEqual(t, c, bigBatchBuffer, "lane %d after %d single messages", i, k)
			}
		}
	}
}
