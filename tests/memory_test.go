package tests

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSenderForgetsLinksToDepartedMembers: a long-lived sender sends one
// message to each of 5 000 short-lived members, each of which departs (its
// Run returns) once it handled the message. Afterwards the sender's snapshot
// lists at most a small constant of links — the stream's sweep floor — not
// one per member it ever sent to, and every link it lists is delivered.
func TestSenderForgetsLinksToDepartedMembers(t *testing.T) {
	const members, maxLinks = 5_000, 64
	ctx := testCtx(t)
	c := newCoordinator(t)
	sender := spawnIdle(t, c, "sender", nil)
	for i := range members {
		handled := make(chan struct{})
		m, err := c.Spawn(ctx, processgroup.Spec[msg]{
			Name:    fmt.Sprintf("short%d", i),
			Handler: func(context.Context, managedprocess.Message[msg]) { close(handled) },
			Run: func(ctx context.Context, _ managedprocess.Member[msg]) error {
				select {
				case <-handled:
				case <-ctx.Done():
				}
				return nil
			},
		})
		require.NoError(t, err)
		require.NoError(t, sender.SendTo(ctx, m.ID(), msg{}))
		within(t, m.Done())
	}
	var streams []managedprocess.StreamState
	for _, ms := range c.Snapshot().Members {
		if ms.ID == sender.ID() {
			streams = ms.Streams
		}
	}
	assert.LessOrEqual(t, len(streams), maxLinks, "links the sender keeps after %d members departed", members)
	for _, s := range streams {
		assert.Equal(t, s.Sent, s.Delivered, "link to %s", s.Recipient)
	}
}
