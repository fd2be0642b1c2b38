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

	to *Member[T] // the member whose handler it was delivered to
}

// Recipient returns the member whose handler received msg, so that a
// handler can send, publish or schedule post-handler work without a closure
// over the member. It is nil for a Message the caller built itself.
func (msg Message[T]) Recipient() *Member[T] { return msg.to }

// Reply sends body to msg's sender, as the next message of the recipient's
// stream: msg.Recipient().Send(ctx, msg.From.Name, body). Pass the handler's
// context, so that the reply is exempt from the inbox bound and never blocks
// the reader. Errors are Send's; a Message the caller built itself gets one
// wrapping fence.ErrUnknownMember.
func (msg Message[T]) Reply(ctx context.Context, body T) error {
	if msg.to == nil {
		return fmt.Errorf("managedprocess: reply to %s: no recipient: %w", msg.From, fence.ErrUnknownMember)
	}
	return msg.to.Send(ctx, msg.From.Name, body)
}

// Handler handles a member's incoming messages. It runs on the member's reader
// goroutine, one message at a time, in order per sender. ctx is the handler's
// context: pass it to Send or msg.Reply (handler sends are exempt from inbox
// bounds) and to RunAfterCurrentHandler; msg.Recipient() is the member. ctx
// is cancelled when the member stops. A Handler must not block on a barrier:
// barrier calls with a handler's context fail with fence.ErrInHandler.
type Handler[T any] func(ctx context.Context, msg Message[T])

// handlerKey marks a handler's context; its value is the *Member[T] whose
// reader runs the handler.
type handlerKey struct{}

// InHandler reports whether ctx is the context of a running handler of any
// member.
func InHandler(ctx context.Context) bool { return ctx.Value(handlerKey{}) != nil }

// inHandlerOf reports whether ctx is the handler context of m.
func (m *Member[T]) inHandlerOf(ctx context.Context) bool {
	v, ok := ctx.Value(handlerKey{}).(*Member[T])
	return ok && v == m
}
