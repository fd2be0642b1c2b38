package bench

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

var noRef = flag.Bool("noref", false, "skip the reference runs (clean CPU profiles of muster alone)")

// chunkTimeout bounds one chunk of rounds: a hang fails the benchmark.
const chunkTimeout = 2 * time.Minute

// shape is one barrier benchmark configuration: n members; per round each
// sends k messages, to member 0 (fan-in, the shape of the naive-fence
// reference) or, with ring, to member (i+1)%n; then all meet in mode.
type shape struct {
	n, k int
	mode fence.Mode
	ring bool
}

func (s shape) String() string {
	str := fmt.Sprintf("mode=%s/N=%d/K=%d", s.mode, s.n, s.k)
	if s.ring {
		str += "/ring"
	}
	return str
}

// dest is the recipient of member i's messages.
func (s shape) dest(i int) int {
	if s.ring {
		return (i + 1) % s.n
	}
	return 0
}

// inbound is how many messages member i handles per round.
func (s shape) inbound(i int) int64 {
	switch {
	case s.ring:
		return int64(s.k)
	case i == 0:
		return int64(s.n * s.k)
	}
	return 0
}

// rounder runs complete rounds on persistent workers.
type rounder interface {
	// run makes every worker run rounds rounds and returns when all did.
	run(ctx context.Context, rounds int) error
	close() error
}

// crew hands every worker the number of rounds of the next chunk and
// collects one result per worker.
type crew struct {
	cmd      []chan int
	finished chan error
	quit     chan struct{}
}

func newCrew(n int) *crew {
	c := &crew{cmd: make([]chan int, n), finished: make(chan error, n), quit: make(chan struct{})}
	for i := range c.cmd {
		c.cmd[i] = make(chan int, 1)
	}
	return c
}

func (c *crew) run(ctx context.Context, rounds int) error {
	ctx, cancel := context.WithTimeout(ctx, chunkTimeout)
	defer cancel()
	for _, ch := range c.cmd {
		ch <- rounds
	}
	var first error
	for range c.cmd {
		select {
		case err := <-c.finished:
			if first == nil {
				first = err
			}
		case <-ctx.Done():
			return fmt.Errorf("chunk of %d rounds: %w", rounds, ctx.Err())
		}
	}
	return first
}

// stop ends plain-goroutine workers (muster workers end with their context).
func (c *crew) stop() {
	close(c.quit)
	for _, ch := range c.cmd {
		close(ch)
	}
}

// paddedCount is a handler's counter on its own cache line.
type paddedCount struct {
	atomic.Int64
	_ [56]byte
}

// musterHarness is s on muster: n members of one group; each member's Run
// waits for a chunk, then per round sends k messages with SendTo and calls
// m.Barrier. Every member's handler increments its own counter (the same
// atomic add the references' consumer does). In the fence modes every member
// checks after each release that its recipient's counter covers every round
// so far — the fence's guarantee, at the cost of one atomic load, which the
// naive fence reference pays too.
type musterHarness struct {
	s       shape
	c       *processgroup.Coordinator[int]
	crew    *crew
	counts  []paddedCount
	members []managedprocess.Member[int]
}

func newMusterHarness(ctx context.Context, s shape) (*musterHarness, error) {
	// The references give each sender a channel of refBuffer slots (or one
	// channel of n×refBuffer), so their consumer can hold n×refBuffer
	// messages; muster gives each sender a window of refBuffer at a recipient.
	c := processgroup.New[int](processgroup.WithWindow(refBuffer))
	h := &musterHarness{s: s, c: c, crew: newCrew(s.n),
		counts: make([]paddedCount, s.n), members: make([]managedprocess.Member[int], s.n)}
	g, err := h.c.NewGroup("bench")
	if err != nil {
		return nil, err
	}
	for i := range s.n {
		m, err := h.c.Spawn(ctx, processgroup.Spec[int]{
			Name:    fmt.Sprintf("m%d", i),
			Groups:  []string{"bench"},
			Handler: func(context.Context, managedprocess.Message[int]) { h.counts[i].Add(1) },
			Run: func(ctx context.Context, m managedprocess.Member[int]) error {
				done := 0
				for {
					select {
					case rounds := <-h.crew.cmd[i]:
						h.crew.finished <- h.rounds(ctx, g, m, i, rounds, &done)
					case <-ctx.Done():
						return nil
					}
				}
			},
		})
		if err != nil {
			_ = h.close()
			return nil, err
		}
		h.members[i] = m
	}
	return h, nil
}

// rounds runs member i's part of a chunk. done counts its rounds so far.
func (h *musterHarness) rounds(ctx context.Context, g *processgroup.Group[int], m managedprocess.Member[int], i, rounds int, done *int) error {
	s := h.s
	d := s.dest(i)
	to, count, want := h.members[d], &h.counts[d], s.inbound(d)
	check := s.mode.Drains() && want > 0
	for range rounds {
		for k := range s.k {
			if err := m.SendTo(ctx, to.ID(), k); err != nil {
				return err
			}
		}
		if _, err := m.Barrier(ctx, g.Name(), "round", s.mode); err != nil {
			return err
		}
		*done++
		if check {
			if got := count.Load(); got < int64(*done)*want {
				return fmt.Errorf("%s: member %d released from round %d with %d handled at m%d, want ≥ %d",
					s, i, *done, got, d, int64(*done)*want)
			}
		}
	}
	return nil
}

func (h *musterHarness) run(ctx context.Context, rounds int) error { return h.crew.run(ctx, rounds) }

// handled is how many messages member i's handler counted.
func (h *musterHarness) handled(i int) int64 { return h.counts[i].Load() }

func (h *musterHarness) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return h.c.Close(ctx)
}

// warmup runs a few untimed rounds so that stacks and buffers have grown.
func warmup(b *testing.B, ctx context.Context, r rounder, rounds int) {
	b.Helper()
	if err := r.run(ctx, rounds); err != nil {
		b.Fatal(err)
	}
}

// interleave runs total rounds of subject and, unless ref is nil, total
// rounds of ref, in alternating chunks (ref, subject, subject, ref, ref, …)
// so that drifting machine load hits both alike. The benchmark timer runs
// during subject's chunks only; it returns each side's wall time.
func interleave(b *testing.B, ctx context.Context, total int, subject, ref rounder) (subjectTime, refTime time.Duration) {
	b.Helper()
	b.StopTimer()
	b.ResetTimer()
	chunks := min(total, 8)
	timed := func(r rounder, n int, benchTimer bool) time.Duration {
		if benchTimer {
			b.StartTimer()
		}
		start := time.Now()
		err := r.run(ctx, n)
		d := time.Since(start)
		if benchTimer {
			b.StopTimer()
		}
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	for c := range chunks {
		n := total / chunks
		if c < total%chunks {
			n++
		}
		if ref != nil && c%2 == 0 {
			refTime += timed(ref, n, false)
		}
		subjectTime += timed(subject, n, true)
		if ref != nil && c%2 == 1 {
			refTime += timed(ref, n, false)
		}
	}
	return subjectTime, refTime
}

// benchRounds benchmarks one shape: b.N rounds of muster against b.N rounds
// of ref (nil: none), reporting ns/round as ns/op and, with a reference,
// ref-ns/round and x_ref = muster ns/round ÷ reference ns/round.
func benchRounds(b *testing.B, s shape, ref rounder) {
	ctx := context.Background()
	h, err := newMusterHarness(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := h.close(); err != nil {
			b.Error(err)
		}
	}()
	if ref != nil {
		defer ref.close()
		warmup(b, ctx, ref, min(b.N, 20))
	}
	warmup(b, ctx, h, min(b.N, 20))
	mt, rt := interleave(b, ctx, b.N, h, ref)
	if ref != nil && s.mode == fence.DeliveryFence && s.k == 0 {
		x := againstRendezvous(b, ctx, h, s) // before the other metrics: it resets the timer, and them
		b.ReportMetric(x, "x_rendezvous")
	}
	b.ReportMetric(float64(mt.Nanoseconds())/float64(b.N)/float64(s.n), "ns/round/member")
	if ref != nil {
		b.ReportMetric(float64(rt.Nanoseconds())/float64(b.N), "ref-ns/round")
		b.ReportMetric(float64(mt)/float64(rt), "x_ref")
	}
}

// againstRendezvous runs b.N more rounds of h, a DeliveryFence with nothing
// to drain, interleaved with muster Rendezvous rounds of the same shape, and
// returns the ratio of their times: what the fence costs when there is
// nothing to fence.
func againstRendezvous(b *testing.B, ctx context.Context, h *musterHarness, s shape) float64 {
	rz := s
	rz.mode = fence.Rendezvous
	r, err := newMusterHarness(ctx, rz)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := r.close(); err != nil {
			b.Error(err)
		}
	}()
	warmup(b, ctx, r, min(b.N, 20))
	mt, rt := interleave(b, ctx, b.N, h, r)
	return float64(mt) / float64(rt)
}

// BenchmarkBarrier measures one complete round (every member sends k
// messages to member 0, then arrives and is released) per b.N iteration.
// Rendezvous is compared with the Mutex+Cond barrier (plus the same k
// unfenced channel sends to a consumer goroutine), DeliveryFence and
// ProcessingFence with the naive fence. Targets: rendezvous x_ref ≤ 1.5,
// delivery x_ref ≤ 1.25 at K=100, and at K=0 x_rendezvous (against muster's
// own Rendezvous round, in the same run) ≤ 1.1.
func BenchmarkBarrier(b *testing.B) {
	for _, mode := range []fence.Mode{fence.Rendezvous, fence.DeliveryFence, fence.ProcessingFence} {
		for _, n := range []int{2, 4, 8, 16, 64} {
			for _, k := range []int{0, 100} {
				s := shape{n: n, k: k, mode: mode}
				b.Run(s.String(), func(b *testing.B) {
					var ref rounder
					if !*noRef {
						ref = newReference(s)
					}
					benchRounds(b, s, ref)
				})
			}
		}
	}
}
