// Command children sums 1 … 10000 as the quick start does, with the workers
// as child processes: the program runs itself again in the role "worker",
// and each worker reaches the coordinator in its parent only through a
// socket pair it inherited. The consumer is a goroutine of the parent; the
// delivery fence works across the processes as it does in one.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
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
	// A child serves its role and returns; the parent goes on.
	if child, err := processgroup.ServeChild(ctx, roles()); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, "children: worker:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "children:", err)
		os.Exit(1)
	}
}

// roles are what this program can run as a child, passed to ServeChild.
func roles() map[string]processgroup.Role[int] {
	return map[string]processgroup.Role[int]{"worker": {Run: worker}}
}

// worker adds up its chunks (WORKER says which), sends each partial sum to
// the consumer and meets it at the fence.
func worker(ctx context.Context, m managedprocess.Member[int]) error {
	w, err := strconv.Atoi(os.Getenv("WORKER"))
	if err != nil {
		return err
	}
	for lo := 1 + w*chunk; lo <= n; lo += workers * chunk {
		partial := 0
		for i := lo; i < lo+chunk && i <= n; i++ {
			partial += i
		}
		if err := m.Send(ctx, "consumer", partial); err != nil {
			return err
		}
	}
	_, err = m.Barrier(ctx, "sum", "done", fence.DeliveryFence)
	return err
}

func run(ctx context.Context, stdout io.Writer) error {
	c := processgroup.New[int]()
	defer c.Close(ctx) // stops the children, and reaps them
	if _, err := c.NewGroup("sum"); err != nil {
		return err
	}
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
		_, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{
			Name:   fmt.Sprintf("worker-%d", w),
			Groups: []string{"sum"},
			Role:   "worker", // this program again, serving roles()["worker"]
			Env:    []string{fmt.Sprintf("WORKER=%d", w)},
		})
		if err != nil {
			return err
		}
	}
	if _, err := consumer.Barrier(ctx, "sum", "done", fence.DeliveryFence); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sum of 1…%d = %d, from %d partial sums by %d child processes\n", n, total, parts, workers)
	return c.Wait(ctx)
}
