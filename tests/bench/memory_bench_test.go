package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// inUse is the heap and stack memory in use after a full collection.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// waitGoroutines waits until at least n goroutines exist.
func waitGoroutines(b *testing.B, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines, want ≥ %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkMemoryIdleMembers spawns 10 000 idle members (a handler, and a
// Run that waits on its context) per iteration and reports the heap+stack
// growth per member (goal ≤ 32 KiB). ns/op is the cost of spawning and
// closing the 10 000.
func BenchmarkMemoryIdleMembers(b *testing.B) {
	const members = 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	handler := func(context.Context, managedprocess.Message[Payload]) {}
	var total float64
	for range b.N {
		b.StopTimer()
		base := inUse()
		goroutines := runtime.NumGoroutine()
		b.StartTimer()
		c := processgroup.New[Payload]()
		var running sync.WaitGroup
		running.Add(members)
		for i := range members {
			_, err := c.Spawn(ctx, processgroup.Spec[Payload]{
				Name:    fmt.Sprintf("idle%d", i),
				Handler: handler,
				Run: func(ctx context.Context, m managedprocess.Member[Payload]) error {
					running.Done()
					<-ctx.Done()
					return nil
				},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		running.Wait()
		// Each member runs a reader and a supervisor (which runs Run).
		waitGoroutines(b, goroutines+2*members)
		b.StopTimer()
		total += float64(inUse()-base) / members
		b.StartTimer()
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total/float64(b.N), "bytes/member")
}

// BenchmarkMemoryQueuedMessages queues 100 000 64-byte messages into a
// member whose handler is blocked on a gate and reports the heap growth per
// queued message beyond its 64-byte payload (overhead_bytes/msg).
func BenchmarkMemoryQueuedMessages(b *testing.B) {
	const msgs = 100_000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var total float64
	for range b.N {
		c := processgroup.New[Payload]()
		gate, entered := make(chan struct{}), make(chan struct{}, 1)
		recv, err := c.Spawn(ctx, processgroup.Spec[Payload]{
			Name:   "blocked",
			Window: 2 * msgs,
			Handler: func(context.Context, managedprocess.Message[Payload]) {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-gate
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		send, err := c.Spawn(ctx, processgroup.Spec[Payload]{Name: "sender"})
		if err != nil {
			b.Fatal(err)
		}
		// One message parks the reader in the handler; the rest queue.
		if err := send.SendTo(ctx, recv.ID(), Payload{}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-entered:
		case <-ctx.Done():
			b.Fatal("handler never entered")
		}
		b.StopTimer()
		base := inUse()
		b.StartTimer()
		for range msgs {
			if err := send.SendTo(ctx, recv.ID(), Payload{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if q := recv.Snapshot().Queued; q != msgs {
			b.Fatalf("%d queued, want %d", q, msgs)
		}
		total += float64(inUse()-base)/msgs - float64(len(Payload{}))
		b.StartTimer()
		close(gate)
		if err := recv.WaitForDeliveryFence(ctx); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total/float64(b.N), "overhead_bytes/msg")
}

// settleGoroutines waits until at most n goroutines exist: the goroutines
// of departed members have exited.
func settleGoroutines(b *testing.B, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines, want ≤ %d", runtime.NumGoroutine(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// retainedPer is the growth of inUse since base, per unit; negative when
// the heap shrank.
func retainedPer(base uint64, units int) float64 {
	return (float64(inUse()) - float64(base)) / float64(units)
}

// churnOnce spawns a short-lived member called name; sender sends it one
// message; the member's Run returns once its handler ran, so it departs.
// churnOnce returns when the member's reader exited.
func churnOnce(ctx context.Context, c *processgroup.Coordinator[Payload], sender managedprocess.Member[Payload], name string) error {
	handled := make(chan struct{})
	m, err := c.Spawn(ctx, processgroup.Spec[Payload]{
		Name:    name,
		Handler: func(context.Context, managedprocess.Message[Payload]) { close(handled) },
		Run: func(ctx context.Context, _ managedprocess.Member[Payload]) error {
			select {
			case <-handled:
			case <-ctx.Done():
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if err := sender.SendTo(ctx, m.ID(), Payload{}); err != nil {
		return err
	}
	select {
	case <-m.Done():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BenchmarkMemoryMemberChurn runs 100 000 cycles per iteration of: spawn a
// short-lived member, a long-lived sender sends it one message, the member
// handles it and departs. It reports the heap and stack still in use per
// cycle once the departed members' goroutines exited, after a full
// collection (B-retained/cycle, goal ≈ 0): what a departed member leaves
// behind in the sender and the coordinator. ns/op is the cost of the cycles.
func BenchmarkMemoryMemberChurn(b *testing.B) {
	const cycles, warmup = 100_000, 1_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := processgroup.New[Payload]()
	defer c.Close(ctx)
	sender, err := c.Spawn(ctx, processgroup.Spec[Payload]{Name: "sender"})
	if err != nil {
		b.Fatal(err)
	}
	next := 0
	churn := func(n int) {
		for range n {
			next++
			if err := churnOnce(ctx, c, sender, fmt.Sprintf("short%d", next)); err != nil {
				b.Fatal(err)
			}
		}
	}
	churn(warmup) // maps and amortized sweeps reach their steady state
	var total float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		goroutines := runtime.NumGoroutine()
		base := inUse()
		b.StartTimer()
		churn(cycles)
		b.StopTimer()
		settleGoroutines(b, goroutines)
		total += retainedPer(base, cycles)
		b.StartTimer()
	}
	b.ReportMetric(total/float64(b.N), "B-retained/cycle")
}

// namePair is a coordinator with one group of two idle members.
type namePair struct {
	c  *processgroup.Coordinator[Payload]
	g  *processgroup.Group[Payload]
	ms [2]managedprocess.Member[Payload]
}

func newNamePair(b *testing.B, ctx context.Context, groups ...string) *namePair {
	b.Helper()
	p := &namePair{c: processgroup.New[Payload]()}
	for i, name := range groups {
		g, err := p.c.NewGroup(name)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			p.g = g
		}
	}
	for i := range p.ms {
		m, err := p.c.Spawn(ctx, processgroup.Spec[Payload]{Name: fmt.Sprintf("m%d", i), Groups: groups})
		if err != nil {
			b.Fatal(err)
		}
		p.ms[i] = m
	}
	return p
}

// meet makes both members meet in Rendezvous rounds at the barriers
// step-from … step-(to-1), one round each, each member on its own goroutine.
func (p *namePair) meet(ctx context.Context, from, to int) error {
	errs := make(chan error, len(p.ms))
	for _, m := range p.ms {
		go func() {
			for k := from; k < to; k++ {
				if _, err := m.Barrier(ctx, p.g.Name(), "step-"+strconv.Itoa(k), fence.Rendezvous); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	return errors.Join(<-errs, <-errs)
}

// BenchmarkMemoryBarrierNames uses 1 000 000 distinct barrier names per
// iteration, one Rendezvous round each, in a group of two, and reports the
// heap still in use per name after a full collection (B-retained/name, goal
// ≈ 0): what a barrier name costs once its rounds are over.
func BenchmarkMemoryBarrierNames(b *testing.B) {
	const names, warmup = 1_000_000, 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := newNamePair(b, ctx, "names")
	defer p.c.Close(ctx)
	if err := p.meet(ctx, 0, warmup); err != nil {
		b.Fatal(err)
	}
	next, total := warmup, 0.0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		base := inUse()
		b.StartTimer()
		if err := p.meet(ctx, next, next+names); err != nil {
			b.Fatal(err)
		}
		next += names
		b.StopTimer()
		total += retainedPer(base, names)
		b.StartTimer()
	}
	b.ReportMetric(total/float64(b.N), "B-retained/name")
}

// BenchmarkDepartureAfterManyNames measures one Leave (and re-Join, not
// timed) in a group of two that used 100 000 distinct barrier names, none
// with an open round, alternating with the same Leave in a fresh group of
// the same members. ns/op is the muster group's Leave, ref-ns/op the fresh
// group's, x_ref their ratio (goal ≈ 1: a departure costs what the group's
// open rounds cost, not what every name it ever used does).
func BenchmarkDepartureAfterManyNames(b *testing.B) {
	const names = 100_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := newNamePair(b, ctx, "many", "fresh")
	defer p.c.Close(ctx)
	fresh, err := p.c.Group("fresh")
	if err != nil {
		b.Fatal(err)
	}
	if err := p.meet(ctx, 0, names); err != nil {
		b.Fatal(err)
	}
	var many, ref time.Duration
	b.ResetTimer()
	for range b.N {
		many += timeLeave(b, p.g, p.ms[0])
		ref += timeLeave(b, fresh, p.ms[0])
	}
	n := float64(b.N)
	b.ReportMetric(float64(many.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(ref.Nanoseconds())/n, "ref-ns/op")
	b.ReportMetric(float64(many)/float64(ref), "x_ref")
}

// timeLeave times m's Leave from g, then joins it again.
func timeLeave(b *testing.B, g *processgroup.Group[Payload], m managedprocess.Member[Payload]) time.Duration {
	start := time.Now()
	err := m.Leave(g.Name())
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Join(g.Name()); err != nil {
		b.Fatal(err)
	}
	return d
}
