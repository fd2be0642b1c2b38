package managedprocess_test

import (
	"context"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReplyWithoutARecipientIsRefused: a Message built without a recipient
// (to call a handler directly, in a test) has nobody to reply as.
func TestReplyWithoutARecipientIsRefused(t *testing.T) {
	from := fence.Identity{Name: "s", ID: 1}
	msg := managedprocess.NewMessage[int](nil, from, 7, 42)
	assert.Equal(t, from, msg.From)
	assert.EqualValues(t, 7, msg.Seq)
	assert.Equal(t, 42, msg.Body)
	assert.Nil(t, msg.Recipient())
	assert.ErrorIs(t, msg.Reply(context.Background(), 1), fence.ErrUnknownMember)
}
