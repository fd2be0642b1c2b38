package tests

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/require"
)

// TestSenderForgetsLinksToDepartedMembers: a long-lived sender sends one
// message to each of 5 000 short-lived members, each of which departs (its
// Run returns) once it handled the message. Each departure frees the link to
// the member: afterwards the sender's snapshot lists no link at all, not one
// per member it ever sent to.
func TestSenderForgetsLinksToDepartedMembers(t *testing.T) {
	const members = 5_000
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
	// Each departure frees the links to the member once its reader
	// finished; the last ones may still be on their way.
	eventually(t, "the sender keeps no link to a departed member", func() bool {
		return len(streamsOf(c, sender.ID())) == 0
	})
}

// streamsOf returns the streams of the member with identity id.
func streamsOf(c *processgroup.Coordinator[msg], id fence.Identity) []managedprocess.StreamState {
	for _, ms := range c.Snapshot().Members {
		if ms.ID == id {
			return ms.Streams
		}
	}
	return nil
}
