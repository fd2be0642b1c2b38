package processgroup

import "github.com/muster-go/muster/managedprocess"

// Role is what a child process runs as a member (see ServeChild): the
// member's handler and body, as in Spec.
type Role[T any] struct {
	// Handler handles the messages the member receives; nil consumes
	// them unhandled.
	Handler managedprocess.Handler[T]
	// Run is the member's body; nil means the member only handles
	// messages, until it is stopped.
	Run RunFunc[T]
	// Codec encodes and decodes the member's messages; nil means
	// managedprocess.JSON. It must have the name of the coordinator's (see
	// WithCodec), or ServeChild fails.
	Codec managedprocess.Codec[T]
}
