package member

import "context"

// handlerKey marks a handler's context; its value is the *Member[T] whose
// reader runs the handler.
type handlerKey struct{}

// InHandler reports whether ctx is the context of a running handler of any
// member.
func InHandler(ctx context.Context) bool { return ctx.Value(handlerKey{}) != nil }

// IsRunContext reports whether ctx is the context m was started with (its
// run function's): then it is no handler's, and InHandler need not walk it.
func (m *Member[T]) IsRunContext(ctx context.Context) bool { return ctx == m.runCtx }

// inHandlerOf reports whether ctx is the handler context of m.
func (m *Member[T]) inHandlerOf(ctx context.Context) bool {
	v, ok := ctx.Value(handlerKey{}).(*Member[T])
	return ok && v == m
}

// AsHandler returns ctx marked as the handler context of m: what a call
// made with it is exempt from, or refused for, is what a call made by m's
// handler would be. The coordinator's side of a wire serves the calls of a
// member's remote handler with it.
func AsHandler[T any](ctx context.Context, m *Member[T]) context.Context {
	return context.WithValue(ctx, handlerKey{}, m)
}
