package processgroup

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
)

// Option configures a Coordinator.
type Option interface{ apply(*config) }

type config struct {
	logger *slog.Logger
	window int
	codec  any // a managedprocess.Codec[T] for the coordinator's T, or nil
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger logs membership changes and failed rounds to l. By default
// muster logs nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// DefaultWindow is a member's window (see Spec.Window) when neither Spec nor
// WithWindow sets one.
const DefaultWindow = 1024

// DefaultProcessWindow is a child process member's window (see
// ProcessSpec.Window) when neither its ProcessSpec nor WithWindow sets one.
// It is larger than DefaultWindow because the credit a sender gets back as
// a child handles its messages crosses two sockets and three processes'
// schedulers: a stream of small messages from one child to another needs
// this many in flight to keep them busy (64-byte messages, on one day:
// about 1.5 M a second with a window of 1 024, 2.3 M with 4 096; on a slower
// one, 1.8 M with 4 096).
const DefaultProcessWindow = 4096

// processWindow is the window of a child process member whose ProcessSpec
// says window.
func (c *Coordinator[T]) processWindow(window int) int {
	if window == 0 && c.cfg.window == 0 {
		return DefaultProcessWindow
	}
	return window
}

// WithWindow sets the window of members whose Spec (or ProcessSpec) does
// not set one (see Spec.Window), child processes included. Zero keeps the
// defaults, DefaultWindow and DefaultProcessWindow; a negative n makes Spawn
// and SpawnProcess fail with fence.ErrInvalidArgument for such members.
func WithWindow(n int) Option {
	return optionFunc(func(c *config) { c.window = n })
}

// WithCodec makes the coordinator's messages cross to and from child
// processes encoded by codec instead of managedprocess.JSON; its children's
// roles must use a codec of the same name (Role.Codec). codec must be a
// Codec of the coordinator's message type: SpawnProcess fails with
// fence.ErrInvalidArgument if it is not. Goroutine members pass values to
// each other without it; a goroutine member's send or publish to a child
// encodes the message with it, and fails with fence.ErrInvalidArgument (and
// the codec's error) if it cannot.
func WithCodec[T any](codec managedprocess.Codec[T]) Option {
	return optionFunc(func(c *config) { c.codec = codec })
}

// codecFor returns the codec configured for T (JSON by default), or an error
// if the one configured is for another type.
func codecFor[T any](cfg config) (managedprocess.Codec[T], error) {
	if cfg.codec == nil {
		return managedprocess.JSON[T](), nil
	}
	codec, ok := cfg.codec.(managedprocess.Codec[T])
	if !ok {
		var zero T
		return managedprocess.JSON[T](), fmt.Errorf("processgroup: WithCodec: a %T is no codec of %T: %w", cfg.codec, zero, fence.ErrInvalidArgument)
	}
	return codec, nil
}

func newConfig(opts []Option) config {
	c := config{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// GroupOption configures a Group.
type GroupOption interface{ applyGroup(*groupConfig) }

type groupConfig struct {
	survivors bool
}

type groupOptionFunc func(*groupConfig)

func (f groupOptionFunc) applyGroup(c *groupConfig) { f(c) }

// CompleteForSurvivors makes a round whose member departs complete for the
// members that remain, listing the departed in Result.Departed, instead of
// failing for everyone (the default).
func CompleteForSurvivors() GroupOption {
	return groupOptionFunc(func(c *groupConfig) { c.survivors = true })
}
