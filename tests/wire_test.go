package tests

import (
	"context"
	"os"
	"testing"

	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
)

// TestWirePlacesMembersAsMusterWireSays: the suite runs through the loopback
// wire when MUSTER_WIRE asks for it, so a green run with it set proves what
// it claims. Every member of the mix with an even ID is behind the wire;
// with socket every member is, through a Unix socket pair.
func TestWirePlacesMembersAsMusterWireSays(t *testing.T) {
	ctx := testCtx(t)
	c := newCoordinator(t)
	for _, name := range []string{"a", "b", "c", "d"} {
		m := spawnIdle(t, c, name, func(context.Context, managedprocess.Message[msg]) {})
		_, remote := m.(*wire.Remote[msg])
		var want bool
		switch os.Getenv("MUSTER_WIRE") {
		case "all", "socket":
			want = true
		case "mix":
			want = m.ID().ID%2 == 0
		}
		assert.Equal(t, want, remote, "%v (MUSTER_WIRE=%q)", m, os.Getenv("MUSTER_WIRE"))
		assert.NoError(t, m.SendTo(ctx, m.ID(), msg{}))
		assert.NoError(t, m.WaitForDeliveryFence(ctx))
	}
}
