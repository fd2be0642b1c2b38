package watcher

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/internal/progress"
)

// unstarted returns a Watcher whose loop body the test runs by hand with
// turn, one iteration at a time, without its goroutine.
func unstarted(rec *recorder) *Watcher[string] {
	return &Watcher[string]{box: newMailbox[string](), onDrained: rec.onDrained}
}

func (w *Watcher[R]) turn() {
	w.box.take(&w.in)
	w.step()
}

func calls(rec *recorder) []string {
	var out []string
	for {
		select {
		case r := <-rec.calls:
			out = append(out, r)
		default:
			return out
		}
	}
}

func TestStepDropCancelsASubmitTakenWithIt(t *testing.T) {
	rec := newRecorder(t, nil)
	w := unstarted(rec)
	ctr := progress.NewCounter()
	w.Submit("A", []Target{{Counter: ctr, Seq: 5}})
	w.Submit("B", nil)
	w.Drop("A")
	w.turn()
	require.Equal(t, []string{"B"}, calls(rec))
	require.Zero(t, w.core.Pending())
	require.Equal(t, uint64(progress.None), ctr.Threshold())
}

func TestStepHandlesInputBeforeReQueuedRounds(t *testing.T) {
	met, ctr := progress.NewCounter(), progress.NewCounter()
	met.Publish(1)
	rec := newRecorder(t, func(r string, call int) []Target {
		if r == "spin" && call < 3 {
			return []Target{{Counter: met, Seq: 1}}
		}
		return nil
	})
	w := unstarted(rec)
	w.Submit("spin", nil)
	w.Submit("A", []Target{{Counter: ctr, Seq: 2}})
	w.turn()
	require.Equal(t, []string{"spin"}, calls(rec))
	require.Equal(t, []string{"spin"}, w.requeued)

	ctr.Publish(1)
	require.True(t, ctr.Publish(2))
	w.Notify(ctr)
	w.Submit("B", nil)
	w.turn()
	require.Equal(t, []string{"B", "A", "spin"}, calls(rec), "submits, notifies, then the re-queued round")

	w.Drop("spin")
	w.turn()
	require.Empty(t, calls(rec), "a dropped round is not re-handled")
	require.Empty(t, w.requeued)
}

func TestStepSubmitCopiesTargets(t *testing.T) {
	rec := newRecorder(t, nil)
	w := unstarted(rec)
	ctr := progress.NewCounter()
	targets := []Target{{Counter: ctr, Seq: 5}}
	w.Submit("A", targets)
	targets[0].Seq = 0
	w.turn()
	require.Empty(t, calls(rec))
	require.Equal(t, uint64(5), ctr.Threshold())
}
