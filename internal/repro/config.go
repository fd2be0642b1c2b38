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

// MaxHops bounds Config.Hops: each hop is a relay member of the group.
const MaxHops = 64

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid config")

// ErrNotFinished is wrapped, with the context's cause, by Run's error when
// its context ended before the run finished.
var ErrNotFinished = errors.New("run did not finish")

// workerPrefix begins every worker's member name.
const workerPrefix = "worker-"

// WorkerName is the member name of worker w.
func WorkerName(w int) string { return fmt.Sprintf("%s%d", workerPrefix, w) }

// RelayName is the member name of relay r (0 … Hops-1).
func RelayName(r int) string { return fmt.Sprintf("relay-%d", r) }

// Marker is one message a worker sends to the consumer: the Seq-th marker
// (0 … Burst-1) of the worker's burst in iteration Iteration. Worker,
// Iteration and Seq are its identity and never change on the way.
type Marker struct {
	Worker    int
	Iteration int
	Seq       int
	// HopsLeft is how many relays the marker has still to pass through
	// before the consumer: Config.Hops when a worker sends it, one less
	// after each relay, 0 when it reaches the consumer.
	HopsLeft int
}

// String returns "w0/it3/seq5": the identity, without HopsLeft.
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
	// Hops is how many relays each marker passes through before the
	// consumer (0 … MaxHops; 0 sends markers straight to the consumer). With
	// Hops > 0 the group also holds relay-0 … relay-(Hops-1); a worker sends
	// its markers to relay-0 and each relay's handler forwards them, with
	// the handler's context, to the next relay and the last to the consumer.
	// Relays do not sleep: only the consumer's HandlerDelay applies. A relay
	// arrives at each iteration barrier before that iteration's handshake,
	// so every marker of the iteration is forwarded after every relay
	// arrived: a DeliveryFence covers the first hop only, a ProcessingFence
	// every hop.
	Hops int
	// InProcess runs the workers as goroutine members instead of child
	// processes of the program (which must then serve ServeChild first).
	InProcess bool

	// Gate, if set, is called by the consumer's handler with each marker
	// before the delay and before the marker is recorded; it may block to
	// hold the consumer back. It runs on the consumer's reader goroutine and
	// must return once the caller's context ends: Run cannot close the
	// coordinator while a handler is blocked.
	Gate func(Marker)
	// OnArrive, if set, is called by each worker and the consumer right
	// after its arrival at the iteration barrier and before it waits for
	// the release (relays do not call it, nor workers in child processes). worker is the worker's index, or
	// Consumer. It may block (it delays the caller's wait, not the round).
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

// Members returns the size of the group: the consumer, the workers and the
// relays.
func (c Config) Members() int { return 1 + c.Workers + c.Hops }

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
	case c.Hops < 0:
		return bad("hops must not be negative, got %d", c.Hops)
	case c.Hops > MaxHops:
		return bad("hops must be at most %d, got %d", MaxHops, c.Hops)
	case c.Workers > MaxMessages || c.Iterations > MaxMessages || c.Burst > MaxMessages ||
		c.Workers*c.Iterations > MaxMessages || c.Messages() > MaxMessages:
		return bad("workers × iterations × burst must be at most %d, got %d × %d × %d", MaxMessages, c.Workers, c.Iterations, c.Burst)
	}
	return nil
}
