package processgroup_test

import (
	"context"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/processgroup"
)

// BenchmarkBarrierAlone measures the fixed cost of one round of a group of
// one: arrival, release and return, with no waiting.
func BenchmarkBarrierAlone(b *testing.B) {
	ctx := context.Background()
	c := processgroup.New[int]()
	defer c.Close(ctx)
	g, _ := c.NewGroup("g")
	m, _ := c.Spawn(ctx, processgroup.Spec[int]{Name: "solo", Groups: []string{"g"}})
	b.ReportAllocs()
	for range b.N {
		if _, err := m.Barrier(ctx, g.Name(), "b", fence.Rendezvous); err != nil {
			b.Fatal(err)
		}
	}
}
