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

// Three members meet the program at a rendezvous; each returns only after
// all arrived. No start gate: the program takes part through a member of its
// own, host, and arrives once everyone is spawned, so the round cannot
// complete before that, and every member that joined meanwhile is expected
// in it. A member whose run function returns nil leaves gracefully.
func Example_rendezvous() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("crew")
	host, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "host", Groups: []string{"crew"}})

	results := make(chan fence.Result, 3)
	for _, name := range []string{"ann", "bob", "cat"} {
		c.Spawn(ctx, processgroup.Spec[string]{
			Name:   name,
			Groups: []string{"crew"},
			Run: func(ctx context.Context, m managedprocess.Member[string]) error {
				res, err := m.Barrier(ctx, g.Name(), "start", fence.Rendezvous)
				results <- res
				return err
			},
		})
	}
	res, err := host.Barrier(ctx, g.Name(), "start", fence.Rendezvous)
	fmt.Println(res, err)
	for range 3 {
		fmt.Println(<-results)
	}
	fmt.Println(c.Wait(ctx)) // every run function returned nil
	// Output:
	// round 1 <nil>
	// round 1
	// round 1
	// round 1
	// <nil>
}

// Workers send their results to a consumer and meet it at a delivery fence:
// when anyone returns, the consumer has handled every message sent before.
// The program arrives for the consumer after spawning the workers, so none
// needs a start gate (see Example_rendezvous).
func Example_deliveryFence() {
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
	for _, name := range []string{"w1", "w2"} {
		c.Spawn(ctx, processgroup.Spec[int]{
			Name:   name,
			Groups: []string{"phase"},
			Run: func(ctx context.Context, m managedprocess.Member[int]) error {
				for i := 1; i <= 100; i++ {
					if err := m.Send(ctx, "consumer", i); err != nil {
						return err
					}
				}
				_, err := m.Barrier(ctx, g.Name(), "end of phase", fence.DeliveryFence)
				return err // returning nil leaves the group gracefully
			},
		})
	}
	// The consumer has no run function; anyone may arrive on its behalf.
	res, err := consumer.Barrier(ctx, g.Name(), "end of phase", fence.DeliveryFence)
	fmt.Println(res, err, "sum at release:", sum.Load())
	fmt.Println("workers:", c.Wait(ctx))
	// Output:
	// round 1 <nil> sum at release: 10100
	// workers: <nil>
}

// A member that leaves while a round is open leaves gracefully: the round
// goes on without it and lists it as left.
func Example_leaveMidRound() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("pair")
	ann, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "ann", Groups: []string{"pair"}})
	bob, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "bob", Groups: []string{"pair"}})

	arrival, _ := ann.Arrive(ctx, g.Name(), "sync", fence.DeliveryFence)
	bob.Leave(g.Name())
	res, err := arrival.Wait(ctx)
	fmt.Println(res, err)
	// Output:
	// round 1 left=[bob#2] <nil>
}

// A member that fails — its run function returns an error, panics or calls
// runtime.Goexit — fails the rounds that expect it, naming it, and Wait
// reports the failure.
func ExampleCoordinator_Wait() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("pair")
	ann, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "ann", Groups: []string{"pair"}})
	c.Spawn(ctx, processgroup.Spec[string]{Name: "cat", Groups: []string{"pair"}})
	arrival, _ := ann.Arrive(ctx, g.Name(), "sync", fence.DeliveryFence)
	// bob joins while the round waits for cat: it is expected in it too.
	c.Spawn(ctx, processgroup.Spec[string]{
		Name:   "bob",
		Groups: []string{"pair"},
		Run: func(ctx context.Context, m managedprocess.Member[string]) error {
			return errors.New("disk full")
		},
	})

	_, err := arrival.Wait(ctx)
	var ferr *fence.Error
	if errors.As(err, &ferr) {
		fmt.Println("exited:", errors.Is(err, fence.ErrExited), "departed:", ferr.Departed[0].Member)
	}
	fmt.Println(c.Wait(ctx))
	// Output:
	// exited: true departed: bob#3
	// muster: member bob#3 failed: muster: member exited: disk full
}

// A Snapshot shows who has arrived at an open round and who is missing.
func ExampleCoordinator_Snapshot() {
	ctx := context.Background()
	c := processgroup.New[string]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("pair")
	ann, _ := c.Spawn(ctx, processgroup.Spec[string]{Name: "ann", Groups: []string{"pair"}})
	c.Spawn(ctx, processgroup.Spec[string]{Name: "bob", Groups: []string{"pair"}})

	ann.Arrive(ctx, g.Name(), "sync", fence.Rendezvous)
	snap := c.Snapshot()
	round := snap.Groups[0].Rounds[0]
	fmt.Println(round)
	fmt.Println("missing:", round.Missing)
	// Output:
	// sync#1 rendezvous arriving arrived=[ann#1] missing=[bob#2]
	// missing: [bob#2]
}
