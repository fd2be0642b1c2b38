// Package bsp runs a bulk-synchronous job across muster members: PageRank
// on a generated graph, one superstep per barrier round, with the workers
// exchanging the rank flowing along their edges as messages. A delivery
// fence makes each superstep see every contribution sent in it; a
// rendezvous does not, and the ranks come out wrong.
package bsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Config describes a job.
type Config struct {
	Nodes      int        `json:"nodes"`
	Degree     int        `json:"degree"` // successors per node
	Seed       uint64     `json:"seed"`
	Supersteps int        `json:"supersteps"`
	Damping    float64    `json:"damping"`
	Workers    int        `json:"workers"`
	Mode       fence.Mode `json:"mode"`
	// HandlerDelay is slept per message handled, to show what a barrier
	// that does not fence lets through.
	HandlerDelay time.Duration `json:"handler_delay,omitempty"`
	// InProcess runs the workers as goroutine members instead of child
	// processes.
	InProcess bool `json:"-"`
}

// DefaultConfig is a job that takes a few seconds with child processes.
func DefaultConfig() Config {
	return Config{Nodes: 20_000, Degree: 8, Seed: 1, Supersteps: 30, Damping: 0.85, Workers: 4, Mode: fence.DeliveryFence}
}

// Tolerance is the largest difference from the single-process result a
// correct run may show: the sums add up in another order.
const Tolerance = 1e-9

// ErrInvalidConfig is wrapped by Run's error for a config it refuses.
var ErrInvalidConfig = errors.New("bsp: invalid config")

func (c Config) validate() error {
	switch {
	case c.Nodes < 1, c.Degree < 1, c.Supersteps < 1, c.Workers < 1:
		return fmt.Errorf("%w: nodes, degree, supersteps and workers must be at least 1", ErrInvalidConfig)
	case c.Workers > c.Nodes:
		return fmt.Errorf("%w: more workers (%d) than nodes (%d)", ErrInvalidConfig, c.Workers, c.Nodes)
	case c.Damping < 0 || c.Damping > 1:
		return fmt.Errorf("%w: damping %v outside 0 … 1", ErrInvalidConfig, c.Damping)
	case c.HandlerDelay < 0:
		return fmt.Errorf("%w: negative handler delay", ErrInvalidConfig)
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	Supersteps int             `json:"supersteps"`
	Messages   int             `json:"messages"`
	PerStep    []time.Duration `json:"per_superstep_ns"`
	MaxDiff    float64         `json:"max_diff"` // against Reference
	Elapsed    time.Duration   `json:"elapsed_ns"`
}

// OK reports whether the ranks agree with the single-process computation.
func (r Result) OK() bool { return r.MaxDiff <= Tolerance }

// Run runs the job: cfg.Workers workers (child processes of this program,
// which must serve Roles, unless cfg.InProcess), and the program as member
// DriverName meeting them once all are spawned and at every superstep,
// which it reports to progress (nil: none) once released. It returns the result, with the
// largest difference from Reference; its error is a member's failure or
// ctx's.
func Run(ctx context.Context, cfg Config, progress func(step int, took time.Duration)) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	c := processgroup.New[Msg]()
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.NewGroup(GroupName); err != nil {
		return Result{}, err
	}
	ranks := make([][]float64, cfg.Workers)
	reports := make(chan Msg, cfg.Workers)
	if _, err := c.Spawn(ctx, processgroup.Spec[Msg]{Name: CollectorName,
		Handler: func(_ context.Context, m managedprocess.Message[Msg]) { reports <- m.Body }}); err != nil {
		return Result{}, err
	}
	driver, err := c.Spawn(ctx, processgroup.Spec[Msg]{Name: DriverName, Groups: []string{GroupName}})
	if err != nil {
		return Result{}, err
	}
	if err := spawnWorkers(ctx, c, cfg); err != nil {
		return Result{}, err
	}
	if _, err := driver.Barrier(ctx, GroupName, StartBarrier, fence.Rendezvous); err != nil {
		return Result{}, errors.Join(err, c.Wait(ctx))
	}
	res := Result{Supersteps: cfg.Supersteps, Messages: cfg.Supersteps * cfg.Workers * cfg.Workers}
	for step := 1; step <= cfg.Supersteps; step++ {
		t := time.Now()
		if _, err := driver.Barrier(ctx, GroupName, SuperstepBarrier, cfg.Mode); err != nil {
			return res, errors.Join(fmt.Errorf("superstep %d: %w", step, err), c.Wait(ctx))
		}
		res.PerStep = append(res.PerStep, time.Since(t))
		if progress != nil {
			progress(step, time.Since(t))
		}
	}
	if err := c.Wait(ctx); err != nil {
		return res, err
	}
	for range cfg.Workers {
		select {
		case m := <-reports:
			ranks[m.From] = m.Ranks
		case <-ctx.Done():
			return res, context.Cause(ctx)
		}
	}
	res.MaxDiff = MaxDiff(cfg, ranks)
	res.Elapsed = time.Since(start)
	return res, nil
}

// spawnWorkers starts the workers, as children or goroutines.
func spawnWorkers(ctx context.Context, c *processgroup.Coordinator[Msg], cfg Config) error {
	for i := range cfg.Workers {
		p := part{Config: cfg, Index: i}
		if cfg.InProcess {
			w := newWorker(p)
			if _, err := c.Spawn(ctx, processgroup.Spec[Msg]{Name: WorkerName(i), Groups: []string{GroupName},
				Handler: w.handle, Run: w.run}); err != nil {
				return err
			}
			continue
		}
		env, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: WorkerName(i), Groups: []string{GroupName},
			Role: workerRole, Env: []string{workerEnv + "=" + string(env)}}); err != nil {
			return err
		}
	}
	return nil
}

// MaxDiff is the largest difference between the ranks the workers of the
// job cfg describes computed and Reference's: ranks[w] are worker w's, of
// its nodes w, w+W, w+2W, … (W = cfg.Workers), as its final Msg reports
// them.
func MaxDiff(cfg Config, ranks [][]float64) float64 {
	want := Reference(NewGraph(cfg.Nodes, cfg.Degree, cfg.Seed), cfg.Supersteps, cfg.Damping)
	diff := 0.0
	for w, rs := range ranks {
		for i, r := range rs {
			diff = math.Max(diff, math.Abs(r-want[w+i*cfg.Workers]))
		}
	}
	return diff
}
