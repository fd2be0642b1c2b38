package managedprocess

import (
	"context"
	"fmt"

	"github.com/muster-go/muster/fence"
)

// Message is one delivered message.
type Message[T any] struct {
	From fence.Identity
	Seq  uint64 // the sequence number in From's stream
	Body T

	to Member[T] // the member whose handler it was delivered to
}

// NewMessage returns the message body from from's stream, at sequence seq,
// as delivered to recipient: what a handler receives. Members build their
// messages themselves; NewMessage is for calling a handler directly, in a
// test.
func NewMessage[T any](recipient Member[T], from fence.Identity, seq uint64, body T) Message[T] {
	return Message[T]{From: from, Seq: seq, Body: body, to: recipient}
}

// Recipient returns the member whose handler received msg, so that a
// handler can send, publish or schedule post-handler work without a closure
// over the member. It is nil for a Message built without one.
func (msg Message[T]) Recipient() Member[T] { return msg.to }

// Reply sends body to msg's sender, as the next message of the recipient's
// stream: msg.Recipient().SendTo(ctx, msg.From, body). Pass the handler's
// context, so that the reply is exempt from the window and never blocks the
// reader. Errors are SendTo's; a Message without a recipient gets one
// wrapping fence.ErrUnknownMember.
func (msg Message[T]) Reply(ctx context.Context, body T) error {
	if msg.to == nil {
		return fmt.Errorf("managedprocess: reply to %s: no recipient: %w", msg.From, fence.ErrUnknownMember)
	}
	return msg.to.SendTo(ctx, msg.From, body)
}

// Handler handles a member's incoming messages. It runs on the member's
// reader goroutine, one message at a time, in order per sender. ctx is the
// handler's context: pass it to Send or msg.Reply (handler sends are exempt
// from the window) and to RunAfterCurrentHandler; msg.Recipient() is the
// member. ctx is cancelled when the member stops. A Handler must not block
// on a barrier: barrier calls with a handler's context fail with
// fence.ErrInHandler.
type Handler[T any] func(ctx context.Context, msg Message[T])
