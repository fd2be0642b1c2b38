package repro

import (
	"errors"
	"fmt"
	"time"

	"github.com/muster-go/muster/fence"
)

// Names the scenario uses inside its coordinator.
const (
	GroupName        = "repro"
	ConsumerName     = "consumer"
	HandshakeBarrier = "handshake"
	IterationBarrier = "iteration"
)

// Consumer is the worker index OnArrive reports for the consumer.
const Consumer = -1

// MaxMessages bounds Workers × Iterations × Burst: the consumer keeps one
// flag per marker.
const MaxMessages = 1 << 24

// MaxFirstMissing is how many missing markers a Report lists.
const MaxFirstMissing = 8

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("repro: invalid config")

// WorkerName is the member name of worker w.
func WorkerName(w int) string { return fmt.Sprintf("worker-%d", w) }

// Marker is one message a worker sends to the consumer: the Seq-th marker
// (0 … Burst-1) of the worker's burst in iteration Iteration.
type Marker struct {
	Worker    int
	Iteration int
	Seq       int
}

// String returns "w0/it3/seq5".
func (m Marker) String() string { return fmt.Sprintf("w%d/it%d/seq%d", m.Worker, m.Iteration, m.Seq) }

// Config describes one run of the scenario. Start from DefaultConfig.
type Config struct {
	// Mode is the iteration barrier's mode. The handshake barrier is always
	// a Rendezvous.
	Mode fence.Mode
	// Workers is the number of worker members (≥ 1); the group also holds
	// the consumer.
	Workers int
	// Iterations is the number of handshake/burst/barrier iterations (≥ 1).
	Iterations int
	// Burst is how many markers each worker sends per iteration (≥ 1).
	Burst int
	// HandlerDelay is the consumer's work per marker (≥ 0): its handler
	// sleeps that long before recording the marker. It is the workload that
	// makes the consumer slow, not a synchronisation device.
	HandlerDelay time.Duration

	// Gate, if set, is called by the consumer's handler with each marker
	// before the delay and before the marker is recorded; it may block to
	// hold the consumer back. It runs on the consumer's reader goroutine and
	// must return once the caller's context ends: Run cannot close the
	// coordinator while a handler is blocked.
	Gate func(Marker)
	// OnArrive, if set, is called by each member right after its arrival at
	// the iteration barrier and before it waits for the release. worker is
	// the worker's index, or Consumer. It may block (it delays the caller's
	// wait, not the round).
	OnArrive func(worker, iteration int)
	// OnRelease, if set, is called by the consumer right after its iteration
	// barrier returned and it counted the markers of that iteration not yet
	// handled (missing).
	OnRelease func(iteration, missing int)
}

// DefaultConfig is the command's default run: DeliveryFence, 2 workers, 64
// iterations of bursts of 8, 50µs per marker.
func DefaultConfig() Config {
	return Config{
		Mode:         fence.DeliveryFence,
		Workers:      2,
		Iterations:   64,
		Burst:        8,
		HandlerDelay: 50 * time.Microsecond,
	}
}

// Messages returns the number of markers a run sends.
func (c Config) Messages() int { return c.Workers * c.Iterations * c.Burst }

// Validate reports the first bad field with an error wrapping
// ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case !c.Mode.Valid():
		return bad("mode %v is not rendezvous, delivery or processing", c.Mode)
	case c.Workers < 1:
		return bad("workers must be at least 1, got %d", c.Workers)
	case c.Iterations < 1:
		return bad("iterations must be at least 1, got %d", c.Iterations)
	case c.Burst < 1:
		return bad("burst must be at least 1, got %d", c.Burst)
	case c.HandlerDelay < 0:
		return bad("handler delay must not be negative, got %v", c.HandlerDelay)
	case c.Workers > MaxMessages || c.Iterations > MaxMessages || c.Burst > MaxMessages ||
		c.Workers*c.Iterations > MaxMessages || c.Messages() > MaxMessages:
		return bad("workers × iterations × burst must be at most %d, got %d × %d × %d", MaxMessages, c.Workers, c.Iterations, c.Burst)
	}
	return nil
}
