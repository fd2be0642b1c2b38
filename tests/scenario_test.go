package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenarioRapidReuse: three members reuse two barrier names ("a" as a
// DeliveryFence with traffic, "b" as a Rendezvous) a hundred times, with
// extra rounds of "a" every 16th and of "b" every 32nd iteration. Every
// member must see each name's rounds numbered 1, 2, 3, … without gaps, and
// all members the same sequence.
func TestScenarioRapidReuse(t *testing.T) {
	ctx, stop := context.WithCancel(testCtx(t))
	defer stop()
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	const n, iters = 3, 100
	const wantA, wantB = iters + iters/16, iters + iters/32

	var handledA [wantA + 1]atomic.Int32 // by the sender's "a" round number
	members := make([]managedprocess.Member[msg], n)
	for i := range members {
		members[i] = spawnIdle(t, c, fmt.Sprintf("m%d", i), func(_ context.Context, m managedprocess.Message[msg]) {
			handledA[m.Body.Round].Add(1)
		}, "g")
	}

	seen := make([]map[string][]uint64, n)
	var wg sync.WaitGroup
	for i, m := range members {
		seen[i] = map[string][]uint64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := func(name string, mode fence.Mode) bool {
				if name == "a" { // one message per member per "a" round, checked at release
					next := len(seen[i]["a"]) + 1
					if !assert.NoError(t, m.SendTo(ctx, members[(i+1)%n].ID(), msg{Round: next})) {
						return false
					}
				}
				res, err := m.Barrier(ctx, g.Name(), name, mode)
				if ctx.Err() != nil {
					return false // another member failed
				}
				if !assert.NoError(t, err) {
					stop()
					return false
				}
				if name == "a" && res.Round <= wantA {
					assert.EqualValues(t, n, handledA[res.Round].Load(), "a#%d released before its messages were handled", res.Round)
				}
				seen[i][name] = append(seen[i][name], res.Round)
				return true
			}
			for it := 1; it <= iters; it++ {
				ok := call("a", fence.DeliveryFence) && call("b", fence.Rendezvous)
				if ok && it%16 == 0 {
					ok = call("a", fence.DeliveryFence)
				}
				if ok && it%32 == 0 {
					ok = call("b", fence.Rendezvous)
				}
				if !ok {
					return
				}
			}
		}()
	}
	waitAll(t, &wg, stop)

	consecutive := func(k int) []uint64 {
		s := make([]uint64, k)
		for i := range s {
			s[i] = uint64(i + 1)
		}
		return s
	}
	for i := range members {
		assert.Equal(t, consecutive(wantA), seen[i]["a"], "member %d, barrier a", i)
		assert.Equal(t, consecutive(wantB), seen[i]["b"], "member %d, barrier b", i)
	}
	assert.Empty(t, groupSnap(c, "g").Rounds, "no round left open")
}

// TestScenarioStressDeliveryFence: 8 members × 1000 DeliveryFence rounds;
// each round every member sends 0–4 messages to random others with tiny
// random delays. When any member is released from round r, every message
// sent in round r by anyone has been handled.
func TestScenarioStressDeliveryFence(t *testing.T) {
	ctx, stop := context.WithCancel(testCtx(t))
	defer stop()
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	const n, rounds = 8, 1000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	// sent/handled per (sender, round): index sender*rounds+round.
	sent := make([]atomic.Int64, n*rounds)
	handled := make([]atomic.Int64, n*rounds)
	var sink atomic.Uint64
	delay := func(rng *rand.Rand) {
		switch rng.IntN(4) {
		case 1:
			runtime.Gosched()
		case 2:
			x := uint64(0)
			for j := range 100 + rng.IntN(200) {
				x += uint64(j)
			}
			sink.Add(x)
		}
	}

	members := make([]managedprocess.Member[msg], n)
	for i := range members {
		hrng := rand.New(rand.NewPCG(seed, uint64(100+i))) // used only by i's reader
		members[i] = spawnIdle(t, c, fmt.Sprintf("s%d", i), func(_ context.Context, m managedprocess.Message[msg]) {
			delay(hrng)
			handled[m.Body.From*rounds+m.Body.Round].Add(1)
		}, "g")
	}

	var failed atomic.Bool
	fail := func(format string, args ...any) {
		if failed.CompareAndSwap(false, true) { // report the first failure only
			t.Errorf(format, args...)
		}
		stop()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for r := range rounds {
				for range rng.IntN(5) {
					to := rng.IntN(n - 1)
					if to >= i {
						to++
					}
					delay(rng)
					sent[i*rounds+r].Add(1)
					if err := m.SendTo(ctx, members[to].ID(), msg{From: i, Round: r}); err != nil {
						fail("s%d round %d: send: %v", i, r, err)
						return
					}
				}
				delay(rng)
				res, err := m.Barrier(ctx, g.Name(), "stress", fence.DeliveryFence)
				if err != nil {
					fail("s%d round %d: %v", i, r, err)
					return
				}
				if res.Round != uint64(r+1) {
					fail("s%d: released from round %d, want %d", i, res.Round, r+1)
					return
				}
				// Rounds before r were checked at the previous releases, and
				// nobody sends round-r' messages after round r' released.
				for s := range n {
					if h, w := handled[s*rounds+r].Load(), sent[s*rounds+r].Load(); h != w {
						fail("s%d released from round %d with %d of s%d's %d messages handled", i, r+1, h, s, w)
						return
					}
				}
			}
		}()
	}
	waitAll(t, &wg, func() { failed.Store(true); stop() })
	require.False(t, failed.Load())
	var total int64
	for i := range sent {
		total += sent[i].Load()
		require.Equal(t, sent[i].Load(), handled[i].Load())
	}
	t.Logf("%d members × %d rounds, %d messages in %v", n, rounds, total, time.Since(start))
}

// chain is a three-member handler chain: a pre-barrier message A→B makes B's
// handler send to C, C's to A and A's to B again (4 hops). hops counts the
// handled hops per round.
type chain struct {
	c       *processgroup.Coordinator[msg]
	g       *processgroup.Group[msg]
	m       map[string]managedprocess.Member[msg]
	hops    [8][5]atomic.Int32                   // [round][hop]
	gateOf  func(round, hop int) <-chan struct{} // nil or a nil channel: no gate
	chainOK chan int                             // receives a round when its 4th hop was handled
}

// next is where each hop's handler forwards.
var chainNext = map[int]string{1: "C", 2: "A", 3: "B"}

func newChain(t *testing.T, gateOf func(round, hop int) <-chan struct{}) *chain {
	ch := &chain{c: newCoordinator(t), m: map[string]managedprocess.Member[msg]{}, gateOf: gateOf, chainOK: make(chan int, 8)}
	ch.g = newGroup(t, ch.c, "g")
	for _, name := range []string{"A", "B", "C"} {
		ch.m[name] = spawnIdle(t, ch.c, name, func(ctx context.Context, m managedprocess.Message[msg]) {
			if ch.gateOf != nil {
				if g := ch.gateOf(m.Body.Round, m.Body.Hop); g != nil && !gate(ctx, g) {
					return
				}
			}
			runtime.Gosched()
			ch.hops[m.Body.Round][m.Body.Hop].Add(1)
			if m.Body.Hop == 4 {
				ch.chainOK <- m.Body.Round
				return
			}
			self := ch.m[name]
			if err := self.Send(ctx, chainNext[m.Body.Hop], msg{Round: m.Body.Round, Hop: m.Body.Hop + 1}); err != nil {
				t.Errorf("hop %d: %v", m.Body.Hop+1, err)
			}
		}, "g")
	}
	return ch
}

// start sends the chain's first hop and returns the three barrier outcomes.
func (ch *chain) start(t *testing.T, ctx context.Context, round int, mode fence.Mode) []<-chan outcome {
	require.NoError(t, ch.m["A"].Send(ctx, "B", msg{Round: round, Hop: 1}))
	var outs []<-chan outcome
	for _, name := range []string{"A", "B", "C"} {
		outs = append(outs, goBarrier(ctx, ch.g, ch.m[name], "p", mode))
	}
	return outs
}

// TestScenarioProcessingFenceChain: at the release of a ProcessingFence round
// the whole handler chain started by a pre-barrier message was handled.
func TestScenarioProcessingFenceChain(t *testing.T) {
	ctx := testCtx(t)
	ch := newChain(t, nil)
	for round := 1; round < len(ch.hops); round++ {
		for _, out := range ch.start(t, ctx, round, fence.ProcessingFence) {
			o := within(t, out)
			require.NoError(t, o.err)
			require.EqualValues(t, round, o.res.Round)
			for hop := 1; hop <= 4; hop++ {
				require.EqualValues(t, 1, ch.hops[round][hop].Load(), "round %d hop %d not handled at release", round, hop)
			}
		}
	}
}

// TestScenarioDeliveryFenceDoesNotCoverChain is the negative control: with
// the second hop's handler held closed, a DeliveryFence round releases
// (the pre-barrier message was handled) while the chain is unfinished, and a
// ProcessingFence round does not release until the gate opens.
func TestScenarioDeliveryFenceDoesNotCoverChain(t *testing.T) {
	ctx := testCtx(t)
	// gates[round][hop]; round 1 also holds hop 1 until everyone arrived,
	// so that B forwards hop 2 after its own arrival (a message B's handler
	// sent before B arrived would rightly be a DeliveryFence target).
	gates := [3][3]chan struct{}{{}, {nil, make(chan struct{}), make(chan struct{})}, {nil, nil, make(chan struct{})}}
	ch := newChain(t, func(round, hop int) <-chan struct{} {
		if hop > 2 {
			return nil
		}
		return gates[round][hop]
	})
	lagsOn := func(round uint64, from, to string) func() bool {
		return func() bool {
			for _, r := range groupSnap(ch.c, "g").Rounds {
				for _, l := range r.Lagging {
					if r.Round == round && r.Phase == "draining" && l.Sender.Name == from && l.Recipient.Name == to && l.Delivered < l.Seq {
						return true
					}
				}
			}
			return false
		}
	}

	// Round 1, DeliveryFence: everyone arrives, then hop 1 is handled; the
	// round releases with hop 2 held.
	outs := ch.start(t, ctx, 1, fence.DeliveryFence)
	eventually(t, "round 1 drains A→B", lagsOn(1, "A", "B"))
	close(gates[1][1])
	for _, out := range outs {
		o := within(t, out)
		require.NoError(t, o.err)
		assert.EqualValues(t, 1, ch.hops[1][1].Load(), "the pre-barrier message must be handled")
		assert.EqualValues(t, 0, ch.hops[1][2].Load(), "hop 2 is gated")
	}
	close(gates[1][2])
	require.Equal(t, 1, within(t, ch.chainOK))

	// Round 2, ProcessingFence: drains A→B, then waits for B→C behind the gate.
	outs = ch.start(t, ctx, 2, fence.ProcessingFence)
	eventually(t, "round 2 lags on B→C", lagsOn(2, "B", "C"))
	select {
	case o := <-outs[0]:
		t.Fatalf("ProcessingFence released with hop 2 unhandled: %+v", o)
	case <-time.After(20 * time.Millisecond):
	}
	close(gates[2][2])
	for _, out := range outs {
		o := within(t, out)
		require.NoError(t, o.err)
		for hop := 1; hop <= 4; hop++ {
			require.EqualValues(t, 1, ch.hops[2][hop].Load(), "hop %d", hop)
		}
	}
}

// TestScenarioMixedModes: the first arrival fixes the mode; a caller with
// another mode is refused at once and not counted; its later arrival with
// the right mode completes the round.
func TestScenarioMixedModes(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	a := spawnIdle(t, c, "A", nil, "g")
	b := spawnIdle(t, c, "B", nil, "g")

	arrA := arrive(t, ctx, g, a, "x", fence.DeliveryFence)
	outA := goWait(ctx, arrA)
	for _, mode := range []fence.Mode{fence.Rendezvous, fence.ProcessingFence} {
		_, err := b.Barrier(ctx, g.Name(), "x", mode)
		fe := fenceErr(t, err, fence.ErrModeMismatch)
		assert.EqualValues(t, 1, fe.Round)
		assert.Equal(t, "B", fe.Member.Name)
		rs := groupSnap(c, "g").Rounds
		require.Len(t, rs, 1)
		assert.Equal(t, []string{"A"}, names(rs[0].Arrived), "refused caller must not be counted")
		assert.Equal(t, []string{"B"}, names(rs[0].Missing))
		assert.Equal(t, fence.DeliveryFence, rs[0].Mode)
	}
	select {
	case o := <-outA:
		t.Fatalf("round released without B: %+v", o)
	default:
	}
	res, err := b.Barrier(ctx, g.Name(), "x", fence.DeliveryFence)
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Round)
	o := within(t, outA)
	require.NoError(t, o.err)
	assert.Equal(t, res, o.res)
}

// joinLate adds L to g, by Spawn with Groups or by Join.
func joinLate(t *testing.T, c *processgroup.Coordinator[msg], g *processgroup.Group[msg], how string) managedprocess.Member[msg] {
	t.Helper()
	if how == "spawn" {
		return spawnIdle(t, c, "L", nil, g.Name())
	}
	late := spawnIdle(t, c, "L", nil)
	require.NoError(t, late.Join(g.Name()))
	return late
}

// TestScenarioJoinWhileArriving: a member that joins after a round's first
// arrival, while others are still expected, is expected in that round too:
// the round waits for it and releases with all three.
func TestScenarioJoinWhileArriving(t *testing.T) {
	for _, how := range []string{"spawn", "join"} {
		t.Run(how, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g")
			a := spawnIdle(t, c, "A", nil, "g")
			b := spawnIdle(t, c, "B", nil, "g")

			arrA := arrive(t, ctx, g, a, "x", fence.DeliveryFence)
			late := joinLate(t, c, g, how)
			rs := groupSnap(c, "g").Rounds
			require.Len(t, rs, 1)
			assert.Equal(t, []string{"B", "L"}, names(rs[0].Missing), "the joiner is expected")

			outB := goBarrier(ctx, g, b, "x", fence.DeliveryFence)
			select {
			case o := <-outB:
				t.Fatalf("released without the joiner: %+v", o)
			case <-time.After(10 * time.Millisecond):
			}
			arrL := arrive(t, ctx, g, late, "x", fence.DeliveryFence)
			assert.EqualValues(t, 1, arrL.Round(), "the joiner's arrival goes to the round it joined")
			for _, out := range []<-chan outcome{goWait(ctx, arrA), outB, goWait(ctx, arrL)} {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 1, o.res.Round)
			}
		})
	}
}

// TestScenarioJoinWhileDraining: a member that joins while a round drains
// (everyone it expected arrived) is not part of it: the round releases
// without it, and the joiner's arrival opens the next round, which holds
// all three.
func TestScenarioJoinWhileDraining(t *testing.T) {
	for _, how := range []string{"spawn", "join"} {
		t.Run(how, func(t *testing.T) {
			ctx := testCtx(t)
			c := newCoordinator(t)
			g := newGroup(t, c, "g")
			open := make(chan struct{})
			b := spawnIdle(t, c, "B", func(hctx context.Context, _ managedprocess.Message[msg]) { gate(hctx, open) }, "g")
			a := spawnIdle(t, c, "A", nil, "g")
			require.NoError(t, a.SendTo(ctx, b.ID(), msg{}))
			outs := []<-chan outcome{goBarrier(ctx, g, a, "x", fence.DeliveryFence), goBarrier(ctx, g, b, "x", fence.DeliveryFence)}
			eventually(t, "round 1 draining", func() bool {
				rs := groupSnap(c, "g").Rounds
				return len(rs) == 1 && rs[0].Phase == "draining"
			})

			late := joinLate(t, c, g, how)
			arrL := arrive(t, ctx, g, late, "x", fence.DeliveryFence)
			assert.EqualValues(t, 2, arrL.Round(), "a joiner of a draining round goes to the next round")
			close(open)
			for _, out := range outs {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 1, o.res.Round)
			}
			rs := groupSnap(c, "g").Rounds
			require.Len(t, rs, 1)
			assert.EqualValues(t, 2, rs[0].Round)
			assert.Equal(t, []string{"B", "A"}, names(rs[0].Missing))

			outs = []<-chan outcome{goBarrier(ctx, g, a, "x", fence.DeliveryFence), goWait(ctx, arrL)}
			res, err := b.Barrier(ctx, g.Name(), "x", fence.DeliveryFence)
			require.NoError(t, err)
			assert.EqualValues(t, 2, res.Round)
			for _, out := range outs {
				o := within(t, out)
				require.NoError(t, o.err)
				assert.EqualValues(t, 2, o.res.Round)
			}
		})
	}
}

// TestScenarioHandlersSendIntoFullInboxes: two members whose handlers send
// into each other's full windows (window 1) at the same time must not
// deadlock: handler sends are exempt from the bound.
func TestScenarioHandlersSendIntoFullInboxes(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t, processgroup.WithWindow(1))
	g := newGroup(t, c, "g")
	const burst = 3
	entered := make(chan struct{}, 2)
	bothIn := make(chan struct{})
	var handled [2]atomic.Int32
	var sendErrs atomic.Int32
	finished := make(chan struct{}, 2)
	ms := make([]managedprocess.Member[msg], 2)
	for i := range ms {
		ms[i] = spawnIdle(t, c, fmt.Sprintf("x%d", i), func(hctx context.Context, m managedprocess.Message[msg]) {
			if n := handled[i].Add(1); n == burst+1 {
				finished <- struct{}{}
			}
			if m.Body.Hop != 0 {
				return
			}
			// The seed message: wait until both readers are busy here, so
			// neither inbox drains while the other handler sends into it.
			entered <- struct{}{}
			if !gate(hctx, bothIn) {
				return
			}
			for k := range burst {
				if err := ms[i].SendTo(hctx, ms[1-i].ID(), msg{Hop: k + 1}); err != nil {
					sendErrs.Add(1)
				}
			}
		}, "g")
	}
	feeder := spawnIdle(t, c, "feeder", nil)
	require.NoError(t, feeder.SendTo(ctx, ms[0].ID(), msg{}))
	require.NoError(t, feeder.SendTo(ctx, ms[1].ID(), msg{}))
	within(t, entered)
	within(t, entered)
	close(bothIn)
	within(t, finished)
	within(t, finished)
	assert.Zero(t, sendErrs.Load())
	// Quiescent afterwards: a processing fence over both releases.
	outs := []<-chan outcome{goBarrier(ctx, g, ms[0], "q", fence.ProcessingFence), goBarrier(ctx, g, ms[1], "q", fence.ProcessingFence)}
	for _, out := range outs {
		require.NoError(t, within(t, out).err)
	}
	assert.EqualValues(t, burst+1, handled[0].Load())
	assert.EqualValues(t, burst+1, handled[1].Load())
}

// TestScenarioSendBlocksOnFullWindow: a Send from outside a handler whose
// window at the recipient is full blocks until the recipient handles a
// message; cancelled, it returns the context's error and sent nothing.
func TestScenarioSendBlocksOnFullWindow(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	open := make(chan struct{})
	entered := make(chan int, 4)
	var got []int
	var mu sync.Mutex
	r, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "R", Window: 2,
		Handler: func(hctx context.Context, m managedprocess.Message[msg]) {
			entered <- m.Body.Hop
			gate(hctx, open)
			mu.Lock()
			got = append(got, m.Body.Hop)
			mu.Unlock()
		}})
	require.NoError(t, err)
	var s managedprocess.Member[msg]
	sendErr := make(chan error, 1)
	s, err = c.Spawn(ctx, processgroup.Spec[msg]{Name: "S",
		Run: func(rctx context.Context, s managedprocess.Member[msg]) error {
			// Message 1 is taken by R's reader and held in the handler;
			// message 2 fills S's window.
			if err := s.Send(rctx, "R", msg{Hop: 1}); err != nil {
				sendErr <- err
				return err
			}
			select {
			case <-entered:
			case <-rctx.Done():
				return nil
			}
			sendErr <- s.Send(rctx, "R", msg{Hop: 2})
			<-rctx.Done()
			return nil
		}})
	require.NoError(t, err)
	require.NoError(t, within(t, sendErr))
	eventually(t, "window full", func() bool { return r.Snapshot().Queued == 1 })

	// A cancelled send into the full window returns the context error and
	// sends nothing.
	sctx, cancel := context.WithCancel(ctx)
	blocked := make(chan error, 1)
	go func() { blocked <- s.Send(sctx, "R", msg{Hop: 99}) }()
	select {
	case err := <-blocked:
		t.Fatalf("send into a full window returned %v without waiting", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	err = within(t, blocked)
	require.ErrorIs(t, err, context.Canceled)
	st := s.Snapshot()
	assert.EqualValues(t, 2, st.Leading, "the cancelled send must not take a sequence number")
	require.Len(t, st.Streams, 1)
	assert.EqualValues(t, 2, st.Streams[0].Sent)
	assert.Equal(t, 1, r.Snapshot().Queued)
	assert.ErrorIs(t, s.TrySend("R", msg{Hop: 98}), fence.ErrWouldBlock)

	// A blocked send goes through once the reader makes room.
	go func() { blocked <- s.Send(ctx, "R", msg{Hop: 3}) }()
	close(open)
	require.NoError(t, within(t, blocked))
	settle(s)
	require.NoError(t, r.WaitForDeliveryFence(ctx))
	mu.Lock()
	assert.Equal(t, []int{1, 2, 3}, got, "cancelled and refused sends must not be handled")
	mu.Unlock()
	eventually(t, "R handled 3", func() bool { return r.Snapshot().Handled == 3 })
}

// TestScenarioSnapshotWhileHandlerStuck: Snapshot is what a user inspects
// when something is stuck. Messages 1 and 2 were handled (their progress is
// published, a local fence behind them passed) while the handler of message
// 3, taken in the same batch, is stuck: State.Handled must count them.
func TestScenarioSnapshotWhileHandlerStuck(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	gates := map[int]chan struct{}{0: make(chan struct{}), 3: make(chan struct{})}
	entered := make(chan int, 4)
	r := spawnIdle(t, c, "R", func(hctx context.Context, m managedprocess.Message[msg]) {
		entered <- m.Body.Hop
		if g := gates[m.Body.Hop]; g != nil {
			gate(hctx, g)
		}
	})
	s := spawnIdle(t, c, "S", nil)
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 0}))
	require.Equal(t, 0, within(t, entered))
	fenced := make(chan error, 1)
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 1}))
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 2}))
	settle(s)
	go func() { fenced <- r.WaitForDeliveryFence(ctx) }()
	eventually(t, "fence queued", func() bool { return r.Snapshot().Queued == 3 })
	require.NoError(t, s.SendTo(ctx, r.ID(), msg{Hop: 3}))
	settle(s)
	close(gates[0]) // the reader takes 1, 2, the fence and 3 together
	require.NoError(t, within(t, fenced))
	require.Equal(t, 1, within(t, entered))
	require.Equal(t, 2, within(t, entered))
	require.Equal(t, 3, within(t, entered))
	st := s.Snapshot()
	require.Len(t, st.Streams, 1)
	assert.EqualValues(t, 3, st.Streams[0].Delivered, "seq 3 is message 2")
	assert.EqualValues(t, 3, r.Snapshot().Handled, "R handled 0, 1 and 2; 3 is stuck:\n%s", c.Snapshot())
	close(gates[3])
}
