package processgroup_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/require"
)

func TestSmokeDeliveryFence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := processgroup.New[int]()
	defer c.Close(ctx)
	g, err := c.NewGroup("g")
	require.NoError(t, err)
	var mu sync.Mutex
	got := 0
	gate := make(chan struct{})
	_, err = c.Spawn(ctx, processgroup.Spec[int]{Name: "consumer", Groups: []string{"g"},
		Handler: func(ctx context.Context, msg managedprocess.Message[int]) {
			<-gate
			mu.Lock()
			got++
			mu.Unlock()
		},
		Run: func(ctx context.Context, m *managedprocess.Member[int]) error {
			close(gate)
			_, err := g.Barrier(ctx, m, "b", fence.DeliveryFence)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if got != 200 {
				t.Errorf("got %d at release, want 200", got)
			}
			<-ctx.Done()
			return nil
		}})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, n := range []string{"w1", "w2"} {
		wg.Add(1)
		_, err = c.Spawn(ctx, processgroup.Spec[int]{Name: n, Groups: []string{"g"},
			Run: func(ctx context.Context, m *managedprocess.Member[int]) error {
				for i := 0; i < 100; i++ {
					if err := m.Send(ctx, "consumer", i); err != nil {
						return err
					}
				}
				res, err := g.Barrier(ctx, m, "b", fence.DeliveryFence)
				if err != nil {
					t.Error(err)
					return err
				}
				t.Log(res)
				wg.Done()
				<-ctx.Done()
				return nil
			}})
		require.NoError(t, err)
	}
	wg.Wait()
	require.NoError(t, c.Close(ctx))
}
