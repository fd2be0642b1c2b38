package managedprocess

import (
	"context"

	"github.com/muster-go/muster/fence"
)

// Message is one delivered message.
type Message[T any] struct {
	From fence.Identity
	Seq  uint64 // the sequence number in From's stream
	Body T
}

// Handler handles a member's incoming messages. It runs on the member's reader
// goroutine, one message at a time, in order per sender. ctx is the handler's
// context: pass it to Send (handler sends are exempt from inbox bounds) and to
// RunAfterCurrentHandler. It is cancelled when the member stops. A Handler
// must not block on a barrier: barrier calls with a handler's context fail
// with fence.ErrInHandler.
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
