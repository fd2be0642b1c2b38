// Package repro runs the delivery-fence repro scenario against muster: W
// workers send a burst of markers to a slow consumer and meet it at a
// barrier; when the consumer's barrier returns it checks that it has already
// handled every marker of the iteration.
//
// Each iteration every member meets at a Rendezvous "handshake", each worker
// sends its burst to the consumer and arrives at the "iteration" barrier in
// the configured mode, and the consumer arrives too. The check runs at the
// instant the consumer's iteration barrier returns. A DeliveryFence or
// ProcessingFence must find nothing missing; a Rendezvous does not fence and
// finds the markers still queued behind the slow handler. Those are handled
// afterwards (the run ends with a local delivery fence on the consumer), so a
// Rendezvous run terminates cleanly and markers that were late are told
// apart from markers that were lost.
//
// With Config.Hops = N > 0 every marker travels a handler chain first:
// worker → relay-0 → … → relay-(N-1) → consumer, each relay a member of the
// group whose handler forwards it. The relays arrive at each iteration
// barrier before its markers are sent, so a DeliveryFence (which covers what
// each member sent before arriving) only covers the first hop and is
// expected to miss markers still in the chain; a ProcessingFence, which
// waits until the group is quiescent, must miss none.
package repro

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// closeGrace bounds how long Run waits for the coordinator to close once the
// scenario ended: only a Gate that never returns can use it up.
const closeGrace = 10 * time.Second

// stopGrace bounds how long a run whose context ended waits for its stopped
// members' reports: a member waiting at a barrier reports at once, one held
// in an OnArrive hook may not.
const stopGrace = time.Second

// Run runs the scenario described by cfg and reports what the consumer saw.
// It returns an error wrapping ErrInvalidConfig for a bad cfg, or the first
// failure of a member (a barrier or send error), or an error wrapping
// ErrNotFinished and ctx's cause if ctx ended first; the report is then
// partial, and when ctx ended first its Stuck says what the run was waiting
// for. Its coordinator is closed and every goroutine it started has exited
// when Run returns. Its errors say which member and iteration failed but
// carry no "repro:" prefix: the program that prints them adds its own.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	start := time.Now()
	stopped, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	s := &scenario{cfg: cfg, ledger: NewLedger(cfg.Workers, cfg.Iterations, cfg.Burst),
		firstHop: newHopCount(cfg.Iterations, cfg.Workers*cfg.Burst), stopped: stopped, stop: stop}
	c := processgroup.New[Marker]()
	err := s.run(ctx, c)
	s.closing.Store(true)
	if !cfg.InProcess {
		s.countRunningChildren(c.Snapshot())
	}

	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
	defer cancel()
	var iters []Iteration
	var failure *fence.MemberError
	// Close returns the members' failures, which may wrap ctx's error too,
	// or closeCtx's error if members still run.
	switch cerr := c.Close(closeCtx); {
	case cerr != nil && closeCtx.Err() != nil && !errors.As(cerr, &failure): // members still run
		err = errors.Join(err, fmt.Errorf("closing the coordinator: %w", cerr))
	default:
		iters = s.iters // the consumer's goroutine has exited
		// A failure no member reported on results (a handler crash).
		if err == nil && cerr != nil {
			err = cerr
		}
	}

	rep := Report{
		Mode: cfg.Mode, Members: cfg.Members(), Workers: cfg.Workers,
		Iterations: cfg.Iterations, Burst: cfg.Burst, HandlerDelay: cfg.HandlerDelay, Hops: cfg.Hops, InProcess: cfg.InProcess,
		Messages: cfg.Messages(), Sent: int(s.sent.Load()), PerIteration: iters, Elapsed: time.Since(start),
		Stuck: s.stuck,
	}
	rep.Summarize(s.ledger, err == nil)
	return rep, err
}

type scenario struct {
	cfg      Config
	ledger   *Ledger
	firstHop *hopCount // relay-0's, with Hops > 0
	group    *processgroup.Group[Marker]
	consumer managedprocess.Member[Marker]
	relays   []managedprocess.Member[Marker] // relay-0 … relay-(Hops-1)
	iters    []Iteration                     // written by the consumer's run goroutine, read after it reported
	sent     atomic.Int64                    // markers the workers sent
	closing  atomic.Bool                     // Run is closing the coordinator: child workers that end now did not finish

	// stopped ends the members' bodies (stop cancels it) once Run's context
	// ended and stuck recorded what they were waiting for.
	stopped context.Context
	stop    context.CancelCauseFunc
	stuck   *Stuck
}

// run spawns the members, starts them together and waits until each has
// reported, the first failure, or the end of ctx.
func (s *scenario) run(ctx context.Context, c *processgroup.Coordinator[Marker]) error {
	g, err := c.NewGroup(GroupName)
	if err != nil {
		return err
	}
	s.group = g
	// Members wait for start: each arrives on its own, so the first one
	// spawned could otherwise complete a round alone (a round expects the
	// members that join while it is arriving, but one whose every expected
	// member arrived is over).
	start := make(chan struct{})
	results := make(chan error, s.cfg.Members()) // one per member: never blocks
	if err := s.spawn(ctx, c, start, results); err != nil {
		return err
	}
	close(start)
	for reported := 0; reported < s.cfg.Members(); reported++ {
		select {
		case err := <-results:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			s.stopStuck(context.Cause(ctx), c, results, s.cfg.Members()-reported)
			return fmt.Errorf("%w: %w", ErrNotFinished, context.Cause(ctx))
		}
	}
	if ctx.Err() != nil { // ended while the last results came in
		return fmt.Errorf("%w: %w", ErrNotFinished, context.Cause(ctx))
	}
	return nil
}

// stopStuck is run's answer to its context ending first. It records the
// coordinator's snapshot while the members still wait where they were stuck,
// then stops their bodies with cause and keeps, from the reports of the
// pending members, one barrier diagnosis per round.
func (s *scenario) stopStuck(cause error, c *processgroup.Coordinator[Marker], results <-chan error, pending int) {
	st := &Stuck{Snapshot: c.Snapshot()}
	s.stuck = st
	s.stop(cause)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	for range pending {
		select {
		case err := <-results:
			st.add(err)
		case <-timer.C:
			return
		}
	}
}

// spawn spawns the consumer, the relays and the workers, each waiting for
// start and then reporting its outcome on results.
func (s *scenario) spawn(ctx context.Context, c *processgroup.Coordinator[Marker],
	start <-chan struct{}, results chan<- error) error {
	var err error
	s.consumer, err = c.Spawn(ctx, processgroup.Spec[Marker]{
		Name:    ConsumerName,
		Groups:  []string{GroupName},
		Handler: s.handle,
		Run:     s.member(start, results, s.consume),
		// One iteration's markers always fit: workers are never held at
		// Send by a consumer whose Gate waits for their arrival.
		Window: max(processgroup.DefaultWindow, s.cfg.Workers*s.cfg.Burst),
	})
	if err != nil {
		return err
	}
	if err := s.spawnRelays(ctx, c, start, results); err != nil {
		return err
	}
	for w := range s.cfg.Workers {
		if !s.cfg.InProcess {
			if err := s.spawnChild(ctx, c, w, results); err != nil {
				return err
			}
			continue
		}
		_, err := c.Spawn(ctx, processgroup.Spec[Marker]{
			Name:   WorkerName(w),
			Groups: []string{GroupName},
			Run: s.member(start, results, func(ctx context.Context, m managedprocess.Member[Marker]) error {
				return s.work(ctx, m, w)
			}),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// member wraps a member's body: wait for the start, run, report, then stay a
// member until the coordinator closes (a member whose run returns departs,
// and a relay's handler could no longer forward). The body's context also
// ends when the scenario stops its members; a member stopped stays a member
// too, whatever its body returned.
func (s *scenario) member(start <-chan struct{}, results chan<- error,
	body func(context.Context, managedprocess.Member[Marker]) error) processgroup.RunFunc[Marker] {
	return func(ctx context.Context, m managedprocess.Member[Marker]) error {
		select {
		case <-start:
		case <-ctx.Done():
			return nil
		}
		bctx, cancel := context.WithCancelCause(ctx)
		detach := context.AfterFunc(s.stopped, func() { cancel(context.Cause(s.stopped)) })
		err := body(bctx, m)
		detach()
		cancel(nil)
		results <- err
		// A failure fails the rounds that expect the member; one caused by
		// the stop would fail the rounds the others are still reporting
		// on, so a stopped member stays until Close.
		if err != nil && s.stopped.Err() == nil {
			return err
		}
		<-ctx.Done()
		return nil
	}
}

// work is worker w's body. It sends its markers to their first hop: relay-0,
// or the consumer without relays.
func (s *scenario) work(ctx context.Context, m managedprocess.Member[Marker], w int) error {
	for it := range s.cfg.Iterations {
		if _, err := m.Barrier(ctx, s.group.Name(), HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
		}
		to := s.next(s.cfg.Hops)
		for seq := range s.cfg.Burst {
			if err := m.SendTo(ctx, to.ID(), Marker{Worker: w, Iteration: it, Seq: seq, HopsLeft: s.cfg.Hops}); err != nil {
				return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
			}
			s.sent.Add(1)
		}
		a, err := m.Arrive(ctx, s.group.Name(), IterationBarrier, s.cfg.Mode)
		if err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
		}
		if s.cfg.OnArrive != nil {
			s.cfg.OnArrive(w, it)
		}
		if _, err := a.Wait(ctx); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
		}
	}
	return nil
}

// consume is the consumer's body: the check runs the instant its iteration
// barrier returns.
func (s *scenario) consume(ctx context.Context, m managedprocess.Member[Marker]) error {
	s.iters = make([]Iteration, 0, s.cfg.Iterations)
	for it := range s.cfg.Iterations {
		if _, err := m.Barrier(ctx, s.group.Name(), HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		t0 := time.Now()
		a, err := m.Arrive(ctx, s.group.Name(), IterationBarrier, s.cfg.Mode)
		if err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		pending := s.ledger.Unhandled(it)
		if s.cfg.OnArrive != nil {
			s.cfg.OnArrive(Consumer, it)
		}
		if _, err := a.Wait(ctx); err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		s.iters = append(s.iters, s.released(it, pending, time.Since(t0)))
	}
	// Every marker was queued for its first hop before its worker arrived
	// at the last iteration barrier, which has released: these local fences
	// wait for the stragglers a Rendezvous (or, in the relays, a
	// DeliveryFence) left behind, so that late is told from lost.
	if err := s.drainChain(ctx); err != nil {
		return fmt.Errorf("consumer, final drain: %w", err)
	}
	return nil
}

// released is the consumer's check the instant its iteration barrier for
// iteration it returned; it calls OnRelease.
func (s *scenario) released(it, pending int, latency time.Duration) Iteration {
	iter := Iteration{Index: it, Pending: pending, Latency: latency}
	iter.Missing = s.ledger.Release(it)
	if s.cfg.Hops > 0 {
		iter.FirstHopMissing = s.firstHop.unhandled(it)
	}
	if s.cfg.OnRelease != nil {
		s.cfg.OnRelease(it, iter.Missing)
	}
	return iter
}

// handle is the consumer's handler: the gate, then the ledger's Consume. A
// consumer stopped (by Close, or by its departure) during the work leaves the
// marker unrecorded: the run did not finish.
func (s *scenario) handle(hctx context.Context, msg managedprocess.Message[Marker]) {
	if s.cfg.Gate != nil {
		s.cfg.Gate(msg.Body)
	}
	s.ledger.Consume(hctx, msg.Body, s.cfg.HandlerDelay)
}
