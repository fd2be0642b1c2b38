package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

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
				Run: func(ctx context.Context, m *managedprocess.Member[Payload]) error {
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
			Name:          "blocked",
			InboxCapacity: 2 * msgs,
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
		if err := send.SendTo(ctx, recv, Payload{}); err != nil {
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
			if err := send.SendTo(ctx, recv, Payload{}); err != nil {
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
