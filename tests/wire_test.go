package tests

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
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

// refusing is the JSON codec, but it cannot encode a message whose Hop is
// negative; it counts the messages it encodes.
type refusing struct {
	managedprocess.Codec[msg]
	encoded *atomic.Int64
}

func (c refusing) Append(dst []byte, m msg) ([]byte, error) {
	if m.Hop < 0 {
		return dst, errors.New("test: a negative hop")
	}
	c.encoded.Add(1)
	return c.Codec.Append(dst, m)
}

// TestWireSendOfAMessageTheCodecRefuses: a goroutine member's send or
// publish of a message the codec cannot encode, to a member behind a wire,
// fails at once with fence.ErrInvalidArgument and the codec's error, and
// sends nothing to anyone; the recipient, the other members and the sender
// go on. (The coordinator encoding it later, for the wire, had nobody to
// tell.) A publish to two members behind wires encodes the message once.
func TestWireSendOfAMessageTheCodecRefuses(t *testing.T) {
	ctx := testCtx(t)
	var encoded atomic.Int64
	c := newCoordinator(t, processgroup.WithCodec[msg](refusing{managedprocess.JSON[msg](), &encoded}))
	newGroup(t, c, "g")
	behind := wire.WithLoopback(context.Background(), wire.Placement{Behind: func(fence.Identity) bool { return true }})
	gotR, gotQ := make(chan msg, 4), make(chan msg, 4)
	r, err := c.Spawn(behind, processgroup.Spec[msg]{Name: "r", Groups: []string{"g"},
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { gotR <- m.Body }})
	require.NoError(t, err)
	_, isRemote := r.(*wire.Remote[msg])
	require.True(t, isRemote, "r is behind a wire")
	_, err = c.Spawn(behind, processgroup.Spec[msg]{Name: "r2", Groups: []string{"g"},
		Handler: func(context.Context, managedprocess.Message[msg]) {}})
	require.NoError(t, err)
	_, err = c.Spawn(context.Background(), processgroup.Spec[msg]{Name: "q", Groups: []string{"g"},
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { gotQ <- m.Body }})
	require.NoError(t, err)
	p, err := c.Spawn(context.Background(), processgroup.Spec[msg]{Name: "p", Groups: []string{"g"}})
	require.NoError(t, err)

	for _, err := range []error{p.Send(ctx, "r", msg{Hop: -1}), p.Publish(ctx, "g", msg{Hop: -1})} {
		require.ErrorIs(t, err, fence.ErrInvalidArgument)
		assert.Contains(t, err.Error(), "test: a negative hop")
	}
	require.NoError(t, p.Send(ctx, "r", msg{Hop: 1}))
	before := encoded.Load()
	require.NoError(t, p.Publish(ctx, "g", msg{Hop: 2}))
	assert.EqualValues(t, 1, encoded.Load()-before, "encodings of one publish to two wires")
	assert.Equal(t, 1, within(t, gotR).Hop, "the refused ones were not sent")
	assert.Equal(t, 2, within(t, gotR).Hop)
	assert.Equal(t, 2, within(t, gotQ).Hop, "the refused publish reached nobody")
	require.NoError(t, p.Err())
	require.NoError(t, r.Err())
}
