package redisgroup_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/muster-go/muster/redisgroup"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

func newGroup(t *testing.T, srv *redisserver.Server, group string, opt ...func(*redisgroup.Config[int])) *redisgroup.Coordinator[int] {
	t.Helper()
	cfg := redisgroup.Config[int]{Client: srv.Client(t, 32), Prefix: t.Name(), Group: group, Heartbeat: 400 * time.Millisecond}
	for _, o := range opt {
		o(&cfg)
	}
	c, err := redisgroup.New(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// The quick start's shape on Redis: workers send partial sums to a consumer
// and meet it at a delivery fence; the total is complete when it returns.
func TestQuickstartShape(t *testing.T) {
	srv := redisserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range 20 {
		c := newGroup(t, srv, fmt.Sprint("sum", round))
		var total, parts atomic.Int64
		consumer, err := c.Spawn(ctx, processgroup.Spec[int]{Name: "consumer", Groups: []string{fmt.Sprint("sum", round)},
			Handler: func(_ context.Context, m managedprocess.Message[int]) {
				time.Sleep(50 * time.Microsecond)
				total.Add(int64(m.Body))
				parts.Add(1)
			}})
		require.NoError(t, err)
		for w := range 4 {
			_, err := c.Spawn(ctx, processgroup.Spec[int]{Name: fmt.Sprint("w", w), Groups: []string{fmt.Sprint("sum", round)},
				Run: func(ctx context.Context, m managedprocess.Member[int]) error {
					for i := 1 + w; i <= 100; i += 4 {
						if err := m.Send(ctx, "consumer", i); err != nil {
							return err
						}
					}
					_, err := m.Barrier(ctx, fmt.Sprint("sum", round), "done", fence.DeliveryFence)
					return err
				}})
			require.NoError(t, err)
		}
		_, err = consumer.Barrier(ctx, fmt.Sprint("sum", round), "done", fence.DeliveryFence)
		if err != nil {
			dump(t, srv)
		}
		require.NoError(t, err)
		require.EqualValues(t, 5050, total.Load())
		require.EqualValues(t, 100, parts.Load())
		require.NoError(t, c.Wait(ctx))
		require.NoError(t, c.Close(ctx))
	}
}
