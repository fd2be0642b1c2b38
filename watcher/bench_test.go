package watcher

import (
	"testing"

	"github.com/muster-go/muster/internal/progress"
)

// BenchmarkCoreAddProgress measures one target's life on its own counter:
// Add arms it and reads, the reader's Publish crosses, Progress satisfies and
// disarms. Each op is one round with 64 targets on distinct counters;
// ns/target is the per-target cost.
func BenchmarkCoreAddProgress(b *testing.B) {
	const width = 64
	ctrs := make([]*progress.Counter, width)
	for i := range ctrs {
		ctrs[i] = progress.NewCounter()
	}
	targets := make([]Target, width)
	c := NewCore[int]()
	var drained []int
	b.ReportAllocs()
	seq := uint64(0)
	for i := 0; b.Loop(); i++ {
		seq++
		for j, ctr := range ctrs {
			targets[j] = Target{Counter: ctr, Seq: seq}
		}
		if c.Add(i, targets) {
			b.Fatal("drained before publishing")
		}
		for _, ctr := range ctrs {
			if ctr.Publish(seq) {
				drained = c.Progress(ctr, drained[:0])
			}
		}
		if len(drained) != 1 || c.Pending() != 0 {
			b.Fatalf("round %d not drained: %v", i, drained)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*width), "ns/target")
}
