package processgroup

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// waitWake with ctxWakes trusts the end of ctx to leave a token on wake,
// but only once: a wait that starts after an earlier one took that token
// must see the end without one, and not block.
func TestWaitWakeSeesAnEndedContextWithoutItsToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	assert.True(t, waitWake(ctx, withToken(wake), true), "a token, ctx live: look again")
	cancel()
	assert.False(t, waitWake(ctx, wake, true), "ctx ended, its token taken: no token to wait for")
	assert.False(t, waitWake(ctx, wake, false), "a select sees the end itself")
}

// withToken leaves a token on wake and returns it.
func withToken(wake chan struct{}) chan struct{} {
	wake <- struct{}{}
	return wake
}
