package repro

import (
	"context"
	"fmt"
	"sync"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// spawnRelays spawns relay-0 … relay-(Hops-1) into the group. The consumer
// must already exist: the last relay forwards to it.
func (s *scenario) spawnRelays(ctx context.Context, c *processgroup.Coordinator[Marker],
	start <-chan struct{}, results chan<- error) error {
	s.relays = make([]managedprocess.Member[Marker], s.cfg.Hops)
	for r := range s.relays {
		m, err := c.Spawn(ctx, processgroup.Spec[Marker]{
			Name:    RelayName(r),
			Groups:  []string{GroupName},
			Handler: s.forward(r),
			Run:     s.member(start, results, s.relay),
		})
		if err != nil {
			return err
		}
		s.relays[r] = m // before start: no marker reaches a relay earlier
	}
	return nil
}

// next returns where a marker with hopsLeft hops left goes: the relay
// Hops-hopsLeft, or the consumer at 0. A hop count no relay can have sent
// goes to the consumer, whose ledger counts it as out of order.
func (s *scenario) next(hopsLeft int) managedprocess.Member[Marker] {
	if hopsLeft <= 0 || hopsLeft > len(s.relays) {
		return s.consumer
	}
	return s.relays[len(s.relays)-hopsLeft]
}

// forward returns relay r's handler: it forwards each marker with one hop
// fewer to the next member, with the handler's context (exempt from the
// inbox bound: it never waits), and does no other work. The first relay
// counts the markers it handles. A forward fails only once the coordinator
// is closing or the recipient crashed; the marker is then never recorded
// and the report counts it as lost.
func (s *scenario) forward(r int) managedprocess.Handler[Marker] {
	return func(hctx context.Context, msg managedprocess.Message[Marker]) {
		mk := msg.Body
		if r == 0 {
			s.firstHop.handled(mk.Iteration)
		}
		mk.HopsLeft--
		_ = s.relays[r].SendTo(hctx, s.next(mk.HopsLeft).ID(), mk)
	}
}

// relay is a relay's body. It sends nothing of its own, so each iteration it
// arrives at the iteration barrier first, then meets the others at the
// handshake and waits for the iteration's release: every marker of the
// iteration is sent, and forwarded, after every relay arrived.
func (s *scenario) relay(ctx context.Context, m managedprocess.Member[Marker]) error {
	for it := range s.cfg.Iterations {
		a, err := m.Arrive(ctx, s.group.Name(), IterationBarrier, s.cfg.Mode)
		if err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m, it, err)
		}
		if _, err := m.Barrier(ctx, s.group.Name(), HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m, it, err)
		}
		if _, err := a.Wait(ctx); err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m, it, err)
		}
	}
	return nil
}

// drainChain waits until each relay, in chain order, and then the consumer
// has handled everything queued for it. Every marker was queued for its
// first hop before the call, so when drainChain returns nil every marker
// has been through the consumer's handler.
func (s *scenario) drainChain(ctx context.Context) error {
	for _, m := range append(s.relays[:len(s.relays):len(s.relays)], s.consumer) {
		if err := m.WaitForDeliveryFence(ctx); err != nil {
			return err
		}
	}
	return nil
}

// hopCount is the first relay's count of the markers it handled, per
// iteration: the relay's handler writes it, the consumer's run goroutine
// reads it at each release.
type hopCount struct {
	mu      sync.Mutex
	perIter []int // markers handled, per iteration
	want    int   // markers sent per iteration
}

// newHopCount returns the count of a run of iterations iterations of
// perIteration markers each.
func newHopCount(iterations, perIteration int) *hopCount {
	return &hopCount{perIter: make([]int, iterations), want: perIteration}
}

// handled notes that the relay is handling a marker of iteration it; one of
// an iteration the run does not have is ignored.
func (h *hopCount) handled(it int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if it >= 0 && it < len(h.perIter) {
		h.perIter[it]++
	}
}

// unhandled returns how many markers of iteration it the relay has not
// handled.
func (h *hopCount) unhandled(it int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.want - h.perIter[it]
}
