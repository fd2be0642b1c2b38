package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/internal/repro"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// drainBarrier is where every member of a repro run meets after its last
// iteration, at a processing fence: once it released, every marker has been
// through the consumer's handler, so that late is told from lost. (The
// in-process scenario's consumer waits for local delivery fences of the
// relays instead, which live in other processes here.)
const drainBarrier = "drain"

// firstHopKey is the run's Redis hash where relay-0 counts the markers it
// handled, by iteration: the consumer reads it at each release.
const firstHopKey = "first-hop"

// reproOptions are the repro subcommand's flags.
type reproOptions struct {
	cfg repro.Config
	deployFlags
}

// parseRepro parses the repro flags (see cli.Parse).
func parseRepro(args []string, stdout, stderr io.Writer) (opts reproOptions, err error) {
	def := repro.DefaultConfig()
	fs := flag.NewFlagSet("muster repro", flag.ContinueOnError)
	opts.register(fs, 60*time.Second, def.Mode, "iteration barrier mode: rendezvous, delivery or processing")
	fs.IntVar(&opts.cfg.Workers, "workers", def.Workers, "worker members sending markers (≥ 1)")
	fs.IntVar(&opts.cfg.Iterations, "iterations", def.Iterations, "iterations (≥ 1)")
	fs.IntVar(&opts.cfg.Burst, "burst", def.Burst, "markers per worker per iteration (≥ 1)")
	fs.DurationVar(&opts.cfg.HandlerDelay, "handler-delay", def.HandlerDelay, "consumer's work per marker, slept in its handler (≥ 0)")
	fs.IntVar(&opts.cfg.Hops, "hops", def.Hops, fmt.Sprintf("relays each marker passes through before the consumer (0 … %d)", repro.MaxHops))
	cli.SetUsage(fs, `usage: muster repro -backend redis -redis-addr HOST:PORT [flags]

The repro scenario across OS processes, its group kept in Redis. Workers send
bursts of markers to a slow consumer, then meet it at a barrier in the chosen
mode; when the consumer's barrier returns it checks that every marker of the
iteration was already handled. Without -hops, delivery and processing must
miss none; rendezvous does not fence and is expected to miss some (exit 0
either way). With -hops N every marker goes worker → relay-0 → … →
relay-(N-1) → consumer: delivery fences only the first hop (expected to miss
markers still in the chain), processing every hop.

The consumer runs in this process, where the check is; the workers and the
relays run in -procs - 1 child processes (this program again), dealt
round-robin. Every process has its own coordinator of group "repro" on a
random key prefix, deleted at the end.

Exit status 1 when a fence missed a marker it covers, a marker was handled
twice, out of order or never, a member or a process failed, or the run did
not finish within -timeout (stderr then shows where the members were
waiting); 2 on usage errors. With -json, "ok" is true exactly when the exit
status is 0, and "verdict" says why: ok, expected, fail, timeout,
interrupted or error.

flags:
`)
	if err := cli.Parse(fs, args, stdout, stderr); err != nil {
		return opts, err
	}
	if opts.cfg.Mode, err = opts.parseMode(); err != nil {
		return opts, err
	}
	if err := opts.cfg.Validate(); err != nil {
		return opts, err
	}
	return opts, opts.check(opts.cfg.Workers+opts.cfg.Hops, "workers and relays")
}

// reproCommand runs "muster repro".
func reproCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseRepro(args, stdout, stderr)
	if err != nil {
		return cli.UsageStatus("repro", err, stderr)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	rep, res, err := runRepro(ctx, opts, stderr)
	v := repro.Judge(rep, err)
	if opts.json {
		writeReproJSON(stdout, opts, rep, res, v, err)
	} else {
		writeReproSummary(stdout, opts, rep, v)
	}
	if err != nil {
		fmt.Fprintf(stderr, "muster repro: %v\n", err)
		writeStuck(stderr, res.stuck)
	}
	return cli.Status(v.OK())
}

// runRepro runs the scenario across opts.procs processes and reports what
// the consumer saw, as repro.Run does in one.
func runRepro(ctx context.Context, opts reproOptions, stderr io.Writer) (repro.Report, deployed, error) {
	cfg := opts.cfg
	start := time.Now()
	gc := newGroupConf(opts.deployFlags, repro.GroupName)
	con := &consumer{cfg: cfg, group: gc, ledger: repro.NewLedger(cfg.Workers, cfg.Iterations, cfg.Burst)}
	res, err := deploy(ctx, deployment[repro.Marker]{group: gc, parts: reproParts(cfg, gc, opts.procs), local: 1, spawn: con.spawn}, stderr)
	rep := repro.Report{
		Mode: cfg.Mode, Members: cfg.Members(), Workers: cfg.Workers, Iterations: cfg.Iterations, Burst: cfg.Burst,
		HandlerDelay: cfg.HandlerDelay, Hops: cfg.Hops, Messages: cfg.Messages(), Sent: res.sent,
		PerIteration: con.iters, Elapsed: time.Since(start), // the consumer's goroutine has exited
	}
	rep.Summarize(con.ledger, err == nil)
	return rep, res, err
}

// reproPart is a child process's share of a repro run.
type reproPart struct {
	Mode       fence.Mode `json:"mode"`
	Iterations int        `json:"iterations"`
	Burst      int        `json:"burst"`
	Hops       int        `json:"hops"`
	Workers    []int      `json:"workers"` // the indices of the workers it serves
	Relays     []int      `json:"relays"`  // and of the relays
}

// reproParts deals the workers, then the relays, round-robin over procs-1
// child processes.
func reproParts(cfg repro.Config, gc groupConf, procs int) []part {
	parts := make([]part, procs-1)
	for i := range parts {
		parts[i] = part{Command: "repro", Proc: i + 1, Group: gc, Repro: &reproPart{
			Mode: cfg.Mode, Iterations: cfg.Iterations, Burst: cfg.Burst, Hops: cfg.Hops}}
	}
	for w := range cfg.Workers {
		p := parts[w%len(parts)].Repro
		p.Workers = append(p.Workers, w)
	}
	for r := range cfg.Hops {
		p := parts[(cfg.Workers+r)%len(parts)].Repro
		p.Relays = append(p.Relays, r)
	}
	return parts
}

// members names the part's members.
func (p *reproPart) members() []string {
	var names []string
	for _, w := range p.Workers {
		names = append(names, repro.WorkerName(w))
	}
	for _, r := range p.Relays {
		names = append(names, repro.RelayName(r))
	}
	return names
}

// share is what the child process serving p runs.
func (p *reproPart) share(gc groupConf) share[repro.Marker] {
	var sent atomic.Int64
	return share[repro.Marker]{
		members: len(p.Workers) + len(p.Relays),
		sent:    func() int { return int(sent.Load()) },
		spawn: func(ctx context.Context, g proc[repro.Marker]) error {
			for _, w := range p.Workers {
				body := func(ctx context.Context, m managedprocess.Member[repro.Marker]) error {
					return p.work(ctx, m, w, &sent)
				}
				if err := g.spawn(ctx, processgroup.Spec[repro.Marker]{Name: repro.WorkerName(w), Groups: []string{repro.GroupName}, Run: body}); err != nil {
					return err
				}
			}
			for _, r := range p.Relays {
				if err := g.spawn(ctx, processgroup.Spec[repro.Marker]{Name: repro.RelayName(r), Groups: []string{repro.GroupName},
					Handler: p.forward(r, g, gc), Run: p.relay}); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// next is where a marker with hopsLeft hops left goes: relay
// Hops-hopsLeft, or the consumer at 0. A hop count no relay can have sent
// goes to the consumer, whose ledger counts it as out of order.
func next(hops, hopsLeft int) string {
	if hopsLeft <= 0 || hopsLeft > hops {
		return repro.ConsumerName
	}
	return repro.RelayName(hops - hopsLeft)
}

// work is worker w's body: each iteration it meets the others at the
// handshake, sends its burst to the first hop and meets them at the
// iteration barrier; then it meets them at the drain.
func (p *reproPart) work(ctx context.Context, m managedprocess.Member[repro.Marker], w int, sent *atomic.Int64) error {
	first := next(p.Hops, p.Hops)
	for it := range p.Iterations {
		if _, err := m.Barrier(ctx, repro.GroupName, repro.HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
		}
		for seq := range p.Burst {
			if err := m.Send(ctx, first, repro.Marker{Worker: w, Iteration: it, Seq: seq, HopsLeft: p.Hops}); err != nil {
				return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
			}
			sent.Add(1)
		}
		if _, err := m.Barrier(ctx, repro.GroupName, repro.IterationBarrier, p.Mode); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", w, it, err)
		}
	}
	if _, err := m.Barrier(ctx, repro.GroupName, drainBarrier, fence.ProcessingFence); err != nil {
		return fmt.Errorf("worker %d, final drain: %w", w, err)
	}
	return nil
}

// relay is a relay's body. It sends nothing of its own, so each iteration
// it arrives at the iteration barrier first, then meets the others at the
// handshake and waits for the iteration's release: every marker of the
// iteration is sent, and forwarded, after every relay arrived.
func (p *reproPart) relay(ctx context.Context, m managedprocess.Member[repro.Marker]) error {
	for it := range p.Iterations {
		a, err := m.Arrive(ctx, repro.GroupName, repro.IterationBarrier, p.Mode)
		if err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m.ID().Name, it, err)
		}
		if _, err := m.Barrier(ctx, repro.GroupName, repro.HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m.ID().Name, it, err)
		}
		if _, err := a.Wait(ctx); err != nil {
			return fmt.Errorf("%s, iteration %d: %w", m.ID().Name, it, err)
		}
	}
	if _, err := m.Barrier(ctx, repro.GroupName, drainBarrier, fence.ProcessingFence); err != nil {
		return fmt.Errorf("%s, final drain: %w", m.ID().Name, err)
	}
	return nil
}

// forward returns relay r's handler: it forwards each marker with one hop
// fewer to the next member, with the handler's context (exempt from the
// window: it never waits). Relay-0 first counts the marker in Redis, for
// the consumer's first-hop check; a count that fails shows there as a
// marker the first hop missed. A forward fails only once the recipient
// departed; the marker is then never recorded and the report counts it as
// lost.
func (p *reproPart) forward(r int, g proc[repro.Marker], gc groupConf) managedprocess.Handler[repro.Marker] {
	return func(hctx context.Context, msg managedprocess.Message[repro.Marker]) {
		mk := msg.Body
		if r == 0 {
			countFirstHop(hctx, g.rdb, gc, mk.Iteration)
		}
		mk.HopsLeft--
		_ = msg.Recipient().Send(hctx, next(p.Hops, mk.HopsLeft), mk)
	}
}

// countFirstHop counts, in Redis, a marker of iteration it that relay-0
// handles.
func countFirstHop(ctx context.Context, rdb *redis.Client, gc groupConf, it int) {
	_, _ = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, gc.key(firstHopKey), strconv.Itoa(it), 1)
		p.PExpire(ctx, gc.key(firstHopKey), gc.KeyTTL)
		return nil
	})
}

// consumer is the repro's consumer, in the parent process: the check runs
// the instant its iteration barrier returns.
type consumer struct {
	cfg    repro.Config
	group  groupConf
	ledger *repro.Ledger
	g      proc[repro.Marker]
	iters  []repro.Iteration // written by its run goroutine, read once the coordinator closed
}

// spawn spawns the consumer.
func (c *consumer) spawn(ctx context.Context, g proc[repro.Marker]) error {
	c.g = g
	return g.spawn(ctx, processgroup.Spec[repro.Marker]{
		Name: repro.ConsumerName, Groups: []string{repro.GroupName}, Handler: c.handle, Run: c.run,
		// One iteration's markers always fit.
		Window: max(processgroup.DefaultWindow, c.cfg.Workers*c.cfg.Burst),
	})
}

// handle is the consumer's handler: the work, then the record (see
// repro.Ledger.Consume). A consumer stopped during the work leaves the
// marker unrecorded: the run did not finish.
func (c *consumer) handle(hctx context.Context, msg managedprocess.Message[repro.Marker]) {
	c.ledger.Consume(hctx, msg.Body, c.cfg.HandlerDelay)
}

// run is the consumer's body.
func (c *consumer) run(ctx context.Context, m managedprocess.Member[repro.Marker]) error {
	c.iters = make([]repro.Iteration, 0, c.cfg.Iterations)
	for it := range c.cfg.Iterations {
		if _, err := m.Barrier(ctx, repro.GroupName, repro.HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		t0 := time.Now()
		a, err := m.Arrive(ctx, repro.GroupName, repro.IterationBarrier, c.cfg.Mode)
		if err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		pending := c.ledger.Unhandled(it)
		if _, err := a.Wait(ctx); err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		iter, err := c.released(ctx, it, pending, time.Since(t0))
		if err != nil {
			return fmt.Errorf("consumer, iteration %d: %w", it, err)
		}
		c.iters = append(c.iters, iter)
	}
	if _, err := m.Barrier(ctx, repro.GroupName, drainBarrier, fence.ProcessingFence); err != nil {
		return fmt.Errorf("consumer, final drain: %w", err)
	}
	return nil
}

// released is the consumer's check the instant its iteration barrier for
// iteration it returned.
func (c *consumer) released(ctx context.Context, it, pending int, latency time.Duration) (repro.Iteration, error) {
	iter := repro.Iteration{Index: it, Pending: pending, Latency: latency, Missing: c.ledger.Release(it)}
	if c.cfg.Hops == 0 {
		return iter, nil
	}
	n, err := c.g.rdb.HGet(ctx, c.group.key(firstHopKey), strconv.Itoa(it)).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return iter, fmt.Errorf("reading relay-0's count: %w", err)
	}
	iter.FirstHopMissing = c.cfg.Workers*c.cfg.Burst - n
	return iter, nil
}

// placement describes which process serves which members.
func placement(parts []part) string {
	s := []string{"process 0: " + repro.ConsumerName}
	for _, p := range parts {
		s = append(s, fmt.Sprintf("process %d: %s", p.Proc, strings.Join(p.Repro.members(), ", ")))
	}
	return strings.Join(s, "; ")
}
