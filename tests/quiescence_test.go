package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
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

// These tests try to make a ProcessingFence round release before its group
// is quiescent. Each round's handler chains are started by members before
// they arrive, and every hop is sent by a member of the round, so a correct
// ProcessingFence releases a round only once every message of its chains was
// handled. Each member checks that the instant its Barrier returns.
//
// The verdict never depends on timing. What the handlers do besides
// forwarding only widens the windows an early release needs: yielding,
// listing the group's members (which waits for the group's lock), or
// inspecting another member with Member.Snapshot, which holds that member's
// stream lock while it lists the member's links — made long by having each
// member talk to some sinks once (spawnSinks).

// quiescence is the ledger of one such test: per round, how many messages the
// round's chains hold (want), how many were handled, and which rounds some
// member was released from early. Goroutines of the test report problems with
// fail, never to t, so that nothing reports after the test ended.
type quiescence struct {
	rounds   int
	want     []int64        // [round], fixed before the test starts
	handled  []atomic.Int64 // [round]
	complete []chan struct{}
	early    []atomic.Bool
	nEarly   atomic.Int64

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	others  chan bool // outcomes of the checks arriveFirst started
	pending int       // how many of them othersReleased has not collected; one driver only

	mu     sync.Mutex
	first  string // the first early release seen
	err    error  // the first failure
	failed bool
}

// newQuiescence returns the ledger of rounds 1…rounds, whose chains hold
// want(round) messages each.
func newQuiescence(t *testing.T, rounds int, want func(round int) int64) *quiescence {
	t.Helper()
	// Thousands of rounds take longer than testCtx allows under -race on a
	// busy machine; every wait still ends with this context.
	ctx, stop := context.WithTimeout(context.Background(), 6*bound)
	t.Cleanup(stop)
	q := &quiescence{
		rounds:   rounds,
		want:     make([]int64, rounds+1),
		handled:  make([]atomic.Int64, rounds+1),
		complete: make([]chan struct{}, rounds+1),
		early:    make([]atomic.Bool, rounds+1),
		ctx:      ctx,
		stop:     stop,
		others:   make(chan bool, 8),
	}
	for r := 1; r <= rounds; r++ {
		q.want[r] = want(r)
		require.Positive(t, q.want[r], "round %d has no chain", r)
		q.complete[r] = make(chan struct{})
	}
	return q
}

// fail records the first failure and stops the test's goroutines; the
// failures that stopping causes are not recorded.
func (q *quiescence) fail(err error) {
	q.mu.Lock()
	if !q.failed {
		q.failed, q.err = true, err
	}
	q.mu.Unlock()
	q.stop()
}

// handle records that a message of round r's chains was handled. Handlers
// call it last, after their forwarding sends.
func (q *quiescence) handle(r int) {
	if r < 1 || r > q.rounds {
		q.fail(fmt.Errorf("message of unknown round %d", r))
		return
	}
	switch n := q.handled[r].Add(1); {
	case n == q.want[r]:
		close(q.complete[r])
	case n > q.want[r]:
		q.fail(fmt.Errorf("round %d: %d messages handled, its chains hold %d", r, n, q.want[r]))
	}
}

// forward sends next from a handler, with the handler's context.
func (q *quiescence) forward(hctx context.Context, from, to managedprocess.Member[msg], next msg) {
	if err := from.SendTo(hctx, to.ID(), next); err != nil && hctx.Err() == nil {
		q.fail(fmt.Errorf("%s forwarding hop %d of round %d: %w", from.ID().Name, next.Hop, next.Round, err))
	}
}

// send sends a chain's first message from a member's run function (or a
// goroutine acting for the member).
func (q *quiescence) send(from, to managedprocess.Member[msg], first msg) bool {
	if err := from.SendTo(q.ctx, to.ID(), first); err != nil {
		q.fail(fmt.Errorf("%s starting a chain of round %d: %w", from.ID().Name, first.Round, err))
		return false
	}
	return true
}

// released is what member who calls the instant its Barrier (or Wait)
// returned from round r: it first reads how many messages of r's chains were
// handled, then records an early release, then waits (bounded) until r's
// chains are complete, so that rounds stay independent even when one was
// released early. It reports whether the member may go on.
func (q *quiescence) released(who string, r int, res fence.Result, err error) bool {
	h := q.handled[r].Load() // before anything else
	if err != nil {
		q.fail(fmt.Errorf("%s, round %d: %w", who, r, err))
		return false
	}
	if res.Round != uint64(r) {
		q.fail(fmt.Errorf("%s released from round %d, want %d", who, res.Round, r))
		return false
	}
	if h < q.want[r] && q.early[r].CompareAndSwap(false, true) {
		q.nEarly.Add(1)
		q.mu.Lock()
		if q.first == "" {
			q.first = fmt.Sprintf("round %d at %s, %d of %d handled", r, who, h, q.want[r])
		}
		q.mu.Unlock()
	}
	select {
	case <-q.complete[r]:
		return true
	case <-q.ctx.Done():
		q.fail(fmt.Errorf("%s, round %d: chains incomplete: %d of %d handled: %w", who, r, q.handled[r].Load(), q.want[r], context.Cause(q.ctx)))
		return false
	}
}

// barrier makes m arrive at the next round of the ProcessingFence "p",
// expected to be round r, and checks the release.
func (q *quiescence) barrier(g *processgroup.Group[msg], m managedprocess.Member[msg], r int) bool {
	res, err := m.Barrier(q.ctx, g.Name(), "p", fence.ProcessingFence)
	return q.released(m.ID().Name, r, res, err)
}

// arriveFirst makes each of ms arrive at round r of "p" and checks, on a
// goroutine of its own, the instant its Wait returns; othersReleased
// collects those checks.
func (q *quiescence) arriveFirst(g *processgroup.Group[msg], r int, ms ...managedprocess.Member[msg]) bool {
	for _, m := range ms {
		a, err := m.Arrive(q.ctx, g.Name(), "p", fence.ProcessingFence)
		if err != nil {
			q.fail(fmt.Errorf("%s, round %d: %w", m.ID().Name, r, err))
			return false
		}
		q.pending++
		q.goMember(func() {
			res, err := a.Wait(q.ctx)
			q.others <- q.released(m.ID().Name, r, res, err)
		})
	}
	return true
}

// othersReleased waits for the checks arriveFirst started.
// lastArrivalRacesItsMessage runs round r's end: y and z arrive, x sends m
// to y, and once y's handler signals entered, x arrives last, racing the
// forward y's handler makes; then it waits for every member's check. It
// reports whether the round may go on.
func (q *quiescence) lastArrivalRacesItsMessage(g *processgroup.Group[msg], r int, x, y, z managedprocess.Member[msg], m msg, entered <-chan struct{}) bool {
	if !q.arriveFirst(g, r, y, z) || !q.send(x, y, m) {
		return false
	}
	select {
	case <-entered:
	case <-q.ctx.Done():
		return false
	}
	return q.barrier(g, x, r) && q.othersReleased()
}

func (q *quiescence) othersReleased() bool {
	ok := true
	for ; q.pending > 0; q.pending-- {
		ok = <-q.others && ok // each check ends, if need be with q's context
	}
	return ok
}

// goMember runs body on its own goroutine, as a member's driver.
func (q *quiescence) goMember(body func()) {
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		body()
	}()
}

// drive runs body as the driver counted in q.wg beforehand, once start is
// closed, unless q's context or the member's, mctx, ends first.
func (q *quiescence) drive(mctx context.Context, start <-chan struct{}, body func()) {
	defer q.wg.Done()
	select {
	case <-start:
		body()
	case <-q.ctx.Done():
	case <-mctx.Done():
	}
}

// verdict waits for the drivers (each of their waits ends with q's context)
// and fails the test if any round released early or anything went wrong.
func (q *quiescence) verdict(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-q.ctx.Done():
		select {
		case <-done:
		case <-time.After(bound):
			t.Fatalf("drivers did not finish within %v of the test's end", bound)
		}
	}
	q.mu.Lock()
	err, first := q.err, q.first
	q.mu.Unlock()
	if n := q.nEarly.Load(); n > 0 {
		t.Errorf("released early in %d of %d rounds (first: %s)", n, q.rounds, first)
	}
	require.NoError(t, err)
	for r := 1; r <= q.rounds; r++ {
		require.Equal(t, q.want[r], q.handled[r].Load(), "round %d", r)
	}
}

// TestQuiescenceWaitsForALongChainBetweenTwoMembers: each round, one of two
// members starts a chain of 2 000 hops bouncing between them and both enter
// a ProcessingFence at once. Each handler inspects the other member
// (Member.Snapshot, which lists its links: each member has talked to 300
// sinks once) before it forwards. Neither member may return before all
// 2 001 messages were handled.
func TestQuiescenceWaitsForALongChainBetweenTwoMembers(t *testing.T) {
	const hops, sinks = 2000, 300
	rounds := 16
	switch {
	case behindWire() && raceEnabled():
		rounds = 1 // each round takes some 25 s: a Snapshot of 300 links crossing the wire at every hop
	case behindWire():
		rounds = 2 // every handler's Snapshot of the other member crosses the wire
	case raceEnabled():
		rounds = 6 // each round takes some four times longer, and every one released early when tried
	}
	q := newQuiescence(t, rounds, func(int) int64 { return hops + 1 })
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	ms := make([]managedprocess.Member[msg], 2)
	for i := range ms {
		ms[i] = spawnIdle(t, c, fmt.Sprintf("m%d", i), func(hctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop < hops {
				_ = ms[1-i].Snapshot()
				q.forward(hctx, ms[i], ms[1-i], msg{Round: m.Body.Round, Hop: m.Body.Hop + 1})
			}
			q.handle(m.Body.Round)
		}, "g")
	}
	spawnSinks(t, c, sinks, ms)
	for i, m := range ms {
		q.goMember(func() {
			for r := 1; r <= rounds; r++ {
				if r%2 == i && !q.send(m, ms[1-i], msg{Round: r}) {
					return
				}
				if !q.barrier(g, m, r) {
					return
				}
			}
		})
	}
	q.verdict(t)
}

// TestQuiescenceWaitsForManyConcurrentChains: each round, member m0 starts
// 50 chains of 200 hops to m1 right before it arrives; the handlers bounce
// them between the two members, and the last hop's handler lists the
// group's members. All 10 050 messages of a round are handled before either
// member returns.
func TestQuiescenceWaitsForManyConcurrentChains(t *testing.T) {
	const chains, hops = 50, 200
	rounds := 2000
	switch {
	case behindWire():
		rounds = 10 // 10 050 messages a round, two frames each way apiece
	case raceEnabled():
		rounds = 200 // each round takes some 30 times longer, and most release early
	}
	q := newQuiescence(t, rounds, func(int) int64 { return chains * (hops + 1) })
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	ms := make([]managedprocess.Member[msg], 2)
	for i := range ms {
		ms[i] = spawnIdle(t, c, fmt.Sprintf("m%d", i), func(hctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop < hops {
				q.forward(hctx, ms[i], ms[1-i], msg{From: m.Body.From, Round: m.Body.Round, Hop: m.Body.Hop + 1})
			} else {
				_ = g.Members()
			}
			q.handle(m.Body.Round)
		}, "g")
	}
	for i, m := range ms {
		q.goMember(func() {
			for r := 1; r <= rounds; r++ {
				for k := range chains {
					if i == 0 && !q.send(m, ms[1], msg{From: k, Round: r}) {
						return
					}
				}
				if !q.barrier(g, m, r) {
					return
				}
			}
		})
	}
	q.verdict(t)
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// spawnSinks spawns n members outside every group (they consume what they
// get unhandled) and makes each of senders send one message to each of them,
// then waits until the sinks consumed them. Afterwards each sender has n more
// links, all idle: inspecting its state (Member.Snapshot) lists them all,
// under the lock that guards its stream.
func spawnSinks(t *testing.T, c *processgroup.Coordinator[msg], n int, senders []managedprocess.Member[msg]) {
	t.Helper()
	ctx := testCtx(t)
	sinks := make([]managedprocess.Member[msg], n)
	for k := range sinks {
		sinks[k] = spawnIdle(t, c, fmt.Sprintf("sink%d", k), nil)
		for _, m := range senders {
			require.NoError(t, m.SendTo(ctx, sinks[k].ID(), msg{}))
		}
	}
	for _, s := range sinks {
		require.NoError(t, s.WaitForDeliveryFence(ctx))
	}
}

// TestQuiescenceWaitsForEveryForwardedHopAmongThree: three members; each
// round one of them, X, sends a message to Y and, as soon as Y's handler
// runs, arrives last (the other two arrived already); Y's handler forwards
// the message one hop to Z. X, Y and Z take every role in turn, in all six assignments. Y's handler
// first inspects Z (Member.Snapshot, slow: every member has talked to 300
// sinks once), so the forward races X's arrival while Z's state is being
// read; Z's handler yields a while. Each round is released only once Z
// handled the forwarded message.
func TestQuiescenceWaitsForEveryForwardedHopAmongThree(t *testing.T) {
	const n, sinks = 3, 300
	rounds := 3000
	if behindWire() {
		rounds = 300 // every handler's Snapshot of another member crosses the wire
	}
	q := newQuiescence(t, rounds, func(int) int64 { return 2 })
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	ms := make([]managedprocess.Member[msg], n)
	entered := make(chan struct{}, 1) // Y's handler got the round's first message
	for i := range ms {
		ms[i] = spawnIdle(t, c, fmt.Sprintf("m%d", i), func(hctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop == 0 { // Y: From names Z
				z := ms[m.Body.From]
				entered <- struct{}{}
				_ = z.Snapshot()
				q.forward(hctx, ms[i], z, msg{Round: m.Body.Round, Hop: 1})
			} else { // Z
				for range 100 {
					runtime.Gosched()
				}
			}
			q.handle(m.Body.Round)
		}, "g")
	}
	spawnSinks(t, c, sinks, ms)
	roles := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} // X, Y, Z
	q.goMember(func() {
		for r := 1; r <= rounds; r++ {
			role := roles[r%len(roles)]
			x, y, z := ms[role[0]], ms[role[1]], ms[role[2]]
			if !q.lastArrivalRacesItsMessage(g, r, x, y, z, msg{Round: r, From: role[2]}, entered) {
				return
			}
		}
	})
	q.verdict(t)
}

// TestQuiescenceWaitsForTheLastArrivalsForwardedMessageInALargeGroup: a
// group of 5 000 members. Each round all but X arrive; then X sends to Y
// and, once Y's handler runs, arrives last while that handler forwards the
// message to Z; Z's handler is slow: it lists the group's 5 000 members. Y
// is the group's first member and X its last. X, Y and Z may return only
// once Z handled the forwarded message.
func TestQuiescenceWaitsForTheLastArrivalsForwardedMessageInALargeGroup(t *testing.T) {
	const size = 5000
	rounds := 60
	if behindWire() {
		rounds = 6 // 5 000 members behind wires arrive each round
	}
	q := newQuiescence(t, rounds, func(int) int64 { return 2 })
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	// Spawn order is the group's member order: Y first, X last.
	var y, z managedprocess.Member[msg]
	entered := make(chan struct{}, 1)
	y = spawnIdle(t, c, "Y", func(hctx context.Context, m managedprocess.Message[msg]) {
		entered <- struct{}{}
		for range 10 { // X is arriving: let it start reading the streams
			runtime.Gosched()
		}
		q.forward(hctx, y, z, msg{Round: m.Body.Round, Hop: 1})
		q.handle(m.Body.Round)
	}, "g")
	z = spawnIdle(t, c, "Z", func(_ context.Context, m managedprocess.Message[msg]) {
		_ = g.Members()
		q.handle(m.Body.Round)
	}, "g")
	fillers := make([]managedprocess.Member[msg], size-3)
	for i := range fillers {
		fillers[i] = spawnIdle(t, c, fmt.Sprintf("f%d", i), nil, "g")
	}
	x := spawnIdle(t, c, "X", nil, "g")

	q.goMember(func() {
		for r := 1; r <= rounds; r++ {
			for _, f := range fillers {
				if _, err := f.Arrive(q.ctx, g.Name(), "p", fence.ProcessingFence); err != nil {
					q.fail(fmt.Errorf("%s, round %d: %w", f.ID().Name, r, err))
					return
				}
			}
			if !q.lastArrivalRacesItsMessage(g, r, x, y, z, msg{Round: r}, entered) {
				return
			}
		}
	})
	q.verdict(t)
}

// TestQuiescenceInARealisticChoreography: five workers whose run functions,
// each round, send 0–3 results to random others and start a handler chain
// of 4 hops, then meet at the processed barrier (a ProcessingFence). Each
// worker has served 50 clients before (so its state lists 50 links), and
// handlers route each hop to the less loaded of two random workers, judged
// by their Member.Snapshot. Handlers count a message as handled in
// post-handler work. At every release, every result and every hop of the
// round was handled.
func TestQuiescenceInARealisticChoreography(t *testing.T) {
	const n, hops, rounds, clients = 5, 4, 2000, 50
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	plan := rand.New(rand.NewPCG(seed, 0))
	results := make([][n]int, rounds+1) // [round][member]: results sent
	for r := 1; r <= rounds; r++ {
		for i := range n {
			results[r][i] = plan.IntN(4)
		}
	}
	q := newQuiescence(t, rounds, func(r int) int64 {
		w := int64(n * hops)
		for _, k := range results[r] {
			w += int64(k)
		}
		return w
	})
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	ms := make([]managedprocess.Member[msg], n)
	other := func(rng *rand.Rand, i int) managedprocess.Member[msg] {
		j := rng.IntN(n - 1)
		if j >= i {
			j++
		}
		return ms[j]
	}
	start := make(chan struct{}) // a round's membership is fixed at its first arrival
	q.wg.Add(n)                  // the run functions' drivers
	var err error
	for i := range ms {
		hrng := rand.New(rand.NewPCG(seed, uint64(100+i))) // used only by i's reader
		ms[i], err = c.Spawn(q.ctx, processgroup.Spec[msg]{
			Name:   fmt.Sprintf("w%d", i),
			Groups: []string{"g"},
			Handler: func(hctx context.Context, m managedprocess.Message[msg]) {
				if m.Body.Hop > 0 && m.Body.Hop < hops { // a chain's hop, not a result
					to := other(hrng, i)
					if alt := other(hrng, i); alt.Snapshot().Queued < to.Snapshot().Queued {
						to = alt
					}
					q.forward(hctx, ms[i], to, msg{Round: m.Body.Round, Hop: m.Body.Hop + 1})
				}
				r := m.Body.Round
				if err := ms[i].RunAfterCurrentHandler(hctx, func() { q.handle(r) }); err != nil {
					q.fail(err)
				}
			},
			Run: func(rctx context.Context, self managedprocess.Member[msg]) error {
				q.drive(rctx, start, func() {
					rng := rand.New(rand.NewPCG(seed, uint64(i+1)))
					for r := 1; r <= rounds; r++ {
						for range results[r][i] {
							if !q.send(self, other(rng, i), msg{Round: r}) {
								return
							}
						}
						if !q.send(self, other(rng, i), msg{Round: r, Hop: 1}) || !q.barrier(g, self, r) {
							return
						}
					}
				})
				<-rctx.Done() // returning would make the member depart
				return nil
			},
		})
		require.NoError(t, err)
	}
	spawnSinks(t, c, clients, ms)
	close(start)
	q.verdict(t)
}

// TestQuiescenceDoesNotFollowAChainThroughANonMember: the group is {A, B};
// O is not a member. A sends to O before arriving and O's handler forwards
// to B, whose handler is held by a gate. The ProcessingFence covers A→O up
// to O's handler returning, but does not watch O's stream: the round
// releases while B's handler is still held.
func TestQuiescenceDoesNotFollowAChainThroughANonMember(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	g := newGroup(t, c, "g")
	openO, openB := make(chan struct{}), make(chan struct{})
	var oHandled, bHandled atomic.Bool
	bEntered := make(chan struct{})
	var o managedprocess.Member[msg]
	b := spawnIdle(t, c, "B", func(hctx context.Context, _ managedprocess.Message[msg]) {
		close(bEntered)
		if gate(hctx, openB) {
			bHandled.Store(true)
		}
	}, "g")
	o = spawnIdle(t, c, "O", func(hctx context.Context, m managedprocess.Message[msg]) {
		if !gate(hctx, openO) {
			return
		}
		if err := o.SendTo(hctx, b.ID(), msg{Hop: m.Body.Hop + 1}); err != nil {
			t.Errorf("O forwarding to B: %v", err)
		}
		oHandled.Store(true)
	})
	a := spawnIdle(t, c, "A", nil, "g")

	require.NoError(t, a.SendTo(ctx, o.ID(), msg{Hop: 1}))
	type release struct {
		o                  outcome
		oHandled, bHandled bool
	}
	rel := make(chan release, 2)
	for _, m := range []managedprocess.Member[msg]{a, b} {
		go func() {
			res, err := m.Barrier(ctx, g.Name(), "p", fence.ProcessingFence)
			rel <- release{outcome{res, err}, oHandled.Load(), bHandled.Load()}
		}()
	}
	// The round drains A→O while O's handler is held: then O forwards.
	eventually(t, "the round drains A→O", func() bool {
		for _, r := range groupSnap(c, "g").Rounds {
			for _, l := range r.Lagging {
				if r.Phase == "draining" && l.Sender.Name == "A" && l.Recipient.Name == "O" {
					return true
				}
			}
		}
		return false
	})
	close(openO)
	for range 2 {
		r := within(t, rel)
		require.NoError(t, r.o.err)
		assert.True(t, r.oHandled, "released before O handled A's message")
		assert.False(t, r.bHandled, "B's handler is gated")
	}
	within(t, bEntered)
	assert.False(t, bHandled.Load())
	close(openB)
	eventually(t, "B handled O's message", bHandled.Load)
}
