package watcher

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/internal/progress"
)

// Once its input is handled the loop blocks on its channels: synctest.Wait
// returns only when every goroutine of the bubble is durably blocked, so a
// busy loop would never let it return.
func TestWatcherIdlesBetweenInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		met, ctr := progress.NewCounter(), progress.NewCounter()
		met.Publish(1)
		rec := newRecorder(t, func(r string, call int) []Target {
			if r == "A" && call < 5 {
				return []Target{{Counter: met, Seq: 1}}
			}
			return nil
		})
		w := Start(rec.onDrained)
		defer w.Stop()
		w.Submit("A", []Target{{Counter: met, Seq: 1}})
		w.Submit("B", []Target{{Counter: ctr, Seq: 3}})
		synctest.Wait()
		require.Equal(t, 5, rec.count("A"), "re-drained until onDrained returned nil")
		require.Zero(t, rec.count("B"))
		require.Equal(t, uint64(3), ctr.Threshold())

		w.Notify(ctr) // stray: nothing crossed
		synctest.Wait()
		require.Zero(t, rec.count("B"))

		require.False(t, ctr.Publish(2))
		require.True(t, ctr.Publish(3))
		w.Notify(ctr)
		synctest.Wait()
		require.Equal(t, 1, rec.count("B"))
	})
}
