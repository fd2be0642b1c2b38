package redisgroup_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// A producer dispatches tasks to worker processes and waits with its
// outbound fence. The first worker takes a task and is killed with SIGKILL
// before acknowledging it: once its heartbeat lapsed the task goes to
// another worker, and the producer's wait completes with every task handled.
func TestQueueHandsOverAKilledWorkersTask(t *testing.T) {
	srv := redisserver.Start(t)
	c := newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := c.Queue("tasks")
	require.NoError(t, err)
	producer := spawnWaiter(t, c, "g", "producer")
	hanger := startMember(t, srv.Addr, "g", "hanger", "hanger", 0)
	const n = 50
	tasks := make([]int, n)
	for i := range tasks {
		tasks[i] = i
	}
	require.NoError(t, q.Dispatch(ctx, producer, tasks...))
	hanger.expect(t, "taken")
	require.NoError(t, hanger.cmd.Process.Signal(syscall.SIGKILL))
	startMember(t, srv.Addr, "g", "w1", "worker", 0)
	startMember(t, srv.Addr, "g", "w2", "worker", 0)
	require.NoError(t, producer.WaitForOutboundFence(ctx))
	handled, err := srv.Client(t, 1).SMembers(ctx, t.Name()+":handled").Result()
	require.NoError(t, err)
	require.Len(t, handled, n, "every task was handled when the producer's wait returned")
}

// Tasks count in the producer's delivery fence, and a worker that panics
// mid-task leaves it to another worker; a task is counted once even if it
// was handled twice.
func TestQueueTasksAreFenced(t *testing.T) {
	srv := redisserver.Start(t)
	c, d := newGroup(t, srv, "g"), newGroup(t, srv, "g")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qc, err := c.Queue("tasks")
	require.NoError(t, err)
	qd, err := d.Queue("tasks")
	require.NoError(t, err)
	var handled [100]atomic.Int64
	var panicked atomic.Bool
	for i := range 3 {
		coord := c
		q := qc
		if i%2 == 1 {
			coord, q = d, qd
		}
		_, err := coord.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("w", i),
			Run: func(ctx context.Context, m managedprocess.Member[int]) error {
				err := q.Serve(ctx, m, func(_ context.Context, t managedprocess.Message[int]) {
					if panicked.CompareAndSwap(false, true) { // the first task taken
						panic("worker bug")
					}
					time.Sleep(100 * time.Microsecond)
					handled[t.Body].Add(1)
				})
				if ctx.Err() != nil {
					return nil
				}
				return err
			}})
		require.NoError(t, err)
	}
	producer := spawnWaiter(t, c, "g", "producer")
	tasks := make([]int, len(handled))
	for i := range tasks {
		tasks[i] = i
	}
	require.NoError(t, qc.Dispatch(ctx, producer, tasks...))
	_, err = producer.Barrier(ctx, "g", "b", fence.DeliveryFence)
	require.NoError(t, err)
	for i := range handled {
		require.GreaterOrEqual(t, handled[i].Load(), int64(1), "task %d was not handled at release", i)
	}
	require.True(t, panicked.Load())
}
