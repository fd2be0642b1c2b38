package bench

import (
	"fmt"
	"testing"

	"github.com/muster-go/muster/fence"
)

// BenchmarkScaling measures a DeliveryFence round (ns/op = ns/round) as the
// group grows: every member sends one message to its ring neighbour, then
// arrives. ns/round/member stays flat while the round cost grows at most
// linearly — an N×N scan anywhere would show as ns/round/member growing
// with N.
func BenchmarkScaling(b *testing.B) {
	for _, n := range []int{2, 8, 32, 128, 512, 1024} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			benchRounds(b, shape{n: n, k: 1, mode: fence.DeliveryFence, ring: true}, nil)
		})
	}
}
