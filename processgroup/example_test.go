package processgroup_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Three members meet at a rendezvous; each returns only after all arrived.
func ExampleGroup_Barrier_rendezvous() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("crew")

	// Membership is snapshotted when a round starts: hold everyone until
	// all members have joined.
	start := make(chan struct{})
	results := make(chan fence.Result, 3)
	for _, name := range []string{"ann", "bob", "cat"} {
		c.Spawn(ctx, processgroup.Spec[string]{
			Name:   name,
			Groups: []string{"crew"},
			Run: func(ctx context.Context, m *managedprocess.Member[string]) error {
				<-start
				res, err := g.Barrier(ctx, m, "start", fence.Rendezvous)
				if err != nil {
					return err
				}
				results <- res
				<-ctx.Done() // stay a member until the coordinator closes
				return nil
			},
		})
	}
	close(start)
	for range 3 {
		fmt.Println(<-results)
	}
	// Output:
	// crew/start#1 rendezvous
	// crew/start#1 rendezvous
	// crew/start#1 rendezvous
}

// Workers send their results to a consumer and meet it at a delivery fence:
// when anyone returns, the consumer has handled every message sent before.
func ExampleGroup_Barrier_deliveryFence() {
	ctx := context.Background()
	c := processgroup.New[int]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("phase")

	var sum atomic.Int64
	consumer, _ := c.Spawn(ctx, processgroup.Spec[int]{
		Name:    "consumer",
		Groups:  []string{"phase"},
		Handler: func(_ context.Context, msg managedprocess.Message[int]) { sum.Add(int64(msg.Body)) },
	})
	start := make(chan struct{}) // everyone joins before the first round starts
	done := make(chan error, 2)
	for _, name := range []string{"w1", "w2"} {
		c.Spawn(ctx, processgroup.Spec[int]{
			Name:   name,
			Groups: []string{"phase"},
			Run: func(ctx context.Context, m *managedprocess.Member[int]) error {
				<-start
				for i := 1; i <= 100; i++ {
					if err := m.Send(ctx, "consumer", i); err != nil {
						return err
					}
				}
				_, err := g.Barrier(ctx, m, "end of phase", fence.DeliveryFence)
				done <- err
				<-ctx.Done()
				return nil
			},
		})
	}
	close(start)
	// The consumer has no run function; anyone may arrive on its behalf.
	res, err := g.Barrier(ctx, consumer, "end of phase", fence.DeliveryFence)
	fmt.Println(res, err, "sum at release:", sum.Load())
	fmt.Println(<-done, <-done)
	// Output:
	// phase/end of phase#1 delivery <nil> sum at release: 10100
	// <nil> <nil>
}

// A member that leaves while a round is open fails the round for everyone,
// with an error naming it.
func ExampleGroup_Leave_midRound() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("pair")
	ann, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "ann", Groups: []string{"pair"}})
	bob, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "bob", Groups: []string{"pair"}})

	arrival, _ := g.Arrive(ctx, ann, "sync", fence.DeliveryFence)
	g.Leave(bob)
	_, err := arrival.Wait(ctx)

	var ferr *fence.Error
	if errors.As(err, &ferr) {
		fmt.Println("left:", errors.Is(err, fence.ErrLeft))
		fmt.Println("departed:", ferr.Departed[0].Member)
		fmt.Println("round:", ferr.Round)
	}
	// Output:
	// left: true
	// departed: bob#2
	// round: 1
}

// A Snapshot shows who has arrived at an open round and who is missing.
func ExampleCoordinator_Snapshot() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("pair")
	ann, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "ann", Groups: []string{"pair"}})
	c.Spawn(ctx, processgroup.Spec[string]{Name: "bob", Groups: []string{"pair"}})

	g.Arrive(ctx, ann, "sync", fence.Rendezvous)
	snap := c.Snapshot()
	round := snap.Groups[0].Rounds[0]
	fmt.Println(round)
	fmt.Println("missing:", round.Missing)
	// Output:
	// sync#1 rendezvous arriving arrived=[ann#1] missing=[bob#2]
	// missing: [bob#2]
}
