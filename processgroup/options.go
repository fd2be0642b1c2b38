package processgroup

import (
	"io"
	"log/slog"
)

// Option configures a Coordinator.
type Option interface{ apply(*config) }

type config struct {
	logger *slog.Logger
	window int
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

// WithWindow sets the window of members whose Spec does not set one (see
// Spec.Window). Zero keeps DefaultWindow; a negative n makes Spawn fail with
// fence.ErrInvalidArgument for such members.
func WithWindow(n int) Option {
	return optionFunc(func(c *config) { c.window = n })
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
