// Command quickstart sums 1 … 10000 with muster: four workers each add up
// some chunks of the range and send every partial sum to a consumer, then
// meet it at a delivery fence. The fence releases only once the consumer has
// handled every partial sum sent before it, so the total is complete when
// the barrier returns: no mutex, and no counting of replies to know that
// they all arrived.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

const (
	n       = 10_000 // sum 1 … n
	chunk   = 100    // numbers per partial sum
	workers = 4
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdout io.Writer) error {
	c := processgroup.New[int]() // the coordinator; generic in the message type
	defer c.Close(ctx)           // stops every goroutine it started
	if _, err := c.NewGroup("sum"); err != nil {
		return err
	}

	// The consumer has a handler and no run function. Its handler runs on
	// the consumer's reader goroutine, one message at a time, in each
	// sender's order.
	total, parts := 0, 0
	consumer, err := c.Spawn(ctx, processgroup.Spec[int]{
		Name:   "consumer",
		Groups: []string{"sum"},
		Handler: func(_ context.Context, m managedprocess.Message[int]) {
			total += m.Body
			parts++
		},
	})
	if err != nil {
		return err
	}

	for w := range workers {
		_, err := c.Spawn(ctx, processgroup.Spec[int]{
			Name:   fmt.Sprintf("worker-%d", w),
			Groups: []string{"sum"},
			Run: func(ctx context.Context, m managedprocess.Member[int]) error {
				for lo := 1 + w*chunk; lo <= n; lo += workers * chunk {
					partial := 0
					for i := lo; i < lo+chunk && i <= n; i++ {
						partial += i
					}
					if err := m.Send(ctx, "consumer", partial); err != nil {
						return err
					}
				}
				_, err := m.Barrier(ctx, "sum", "done", fence.DeliveryFence)
				return err // nil: the worker leaves the group gracefully
			},
		})
		if err != nil {
			return err
		}
	}

	// The program arrives for the consumer once every worker is spawned, so
	// the round expects them all and no start gate is needed.
	if _, err := consumer.Barrier(ctx, "sum", "done", fence.DeliveryFence); err != nil {
		return err
	}
	// Every partial sum sent before the barrier has been handled: the
	// handler's writes happened before this read.
	fmt.Fprintf(stdout, "sum of 1…%d = %d, from %d partial sums by %d workers\n", n, total, parts, workers)
	return c.Wait(ctx) // the workers' failures, if any
}
