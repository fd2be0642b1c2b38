package bsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Msg is what the members exchange: a worker's contributions to the ranks of
// another's nodes in one superstep, or, at the end, a worker's final ranks
// for the collector.
type Msg struct {
	Step     int       `json:"step,omitempty"`
	From     int       `json:"from"`
	Contribs []Contrib `json:"contribs,omitempty"`
	Ranks    []float64 `json:"ranks,omitempty"` // the final report: the ranks of nodes From, From+W, From+2W, …
	Final    bool      `json:"final,omitempty"`
}

// Contrib is one node's share of the rank flowing into node Node.
type Contrib struct {
	Node  int     `json:"n"`
	Value float64 `json:"v"`
}

// workerRole is the name of the worker role among Roles.
const workerRole = "bsp-worker"

// workerEnv holds a child worker's part, as JSON.
const workerEnv = "MUSTER_BSP_WORKER"

// part is one worker's share of the job.
type part struct {
	Config
	Index int `json:"index"`
}

// Roles are the roles a program serves as a child (see
// processgroup.ServeChild) for Run's workers.
func Roles() map[string]processgroup.Role[Msg] {
	return map[string]processgroup.Role[Msg]{workerRole: childRole()}
}

// WorkerRole is worker i (0 … cfg.Workers-1) of the job cfg describes: the
// member's handler and body, for a program that spawns the workers itself.
func WorkerRole(cfg Config, i int) processgroup.Role[Msg] {
	w := newWorker(part{Config: cfg, Index: i})
	return processgroup.Role[Msg]{Handler: w.handle, Run: w.run}
}

// childRole reads the worker's part from its environment when it starts.
func childRole() processgroup.Role[Msg] {
	var w *worker
	var err error
	if s, ok := os.LookupEnv(workerEnv); ok {
		var p part
		if err = json.Unmarshal([]byte(s), &p); err == nil {
			w = newWorker(p)
		}
	}
	return processgroup.Role[Msg]{
		Handler: func(ctx context.Context, m managedprocess.Message[Msg]) { w.handle(ctx, m) },
		Run: func(ctx context.Context, m managedprocess.Member[Msg]) error {
			if w == nil {
				return fmt.Errorf("bsp: worker without a valid %s: %v", workerEnv, err)
			}
			return w.run(ctx, m)
		},
	}
}

// worker owns the nodes v with v mod Workers = Index.
type worker struct {
	p     part
	g     Graph
	rank  []float64 // of its nodes, by v / Workers
	mu    sync.Mutex
	inbox [2][]float64 // contributions received, by superstep parity and v / Workers
}

func newWorker(p part) *worker {
	w := &worker{p: p, g: NewGraph(p.Nodes, p.Degree, p.Seed)}
	mine := (p.Nodes - p.Index + p.Workers - 1) / p.Workers
	w.rank = make([]float64, mine)
	for i := range w.rank {
		w.rank[i] = 1 / float64(p.Nodes)
	}
	w.inbox = [2][]float64{make([]float64, mine), make([]float64, mine)}
	return w
}

// WorkerName is the member name of worker i.
func WorkerName(i int) string { return fmt.Sprintf("bsp-%d", i) }

// run meets the others at "start", then computes Supersteps supersteps: it
// sends each worker the contributions
// of its own nodes to that worker's nodes, meets the others at the
// superstep's barrier, and then takes what it received as its new ranks.
// Finally it reports its ranks to the collector.
func (w *worker) run(ctx context.Context, m managedprocess.Member[Msg]) error {
	n, workers := w.p.Nodes, w.p.Workers
	if _, err := m.Barrier(ctx, GroupName, StartBarrier, fence.Rendezvous); err != nil {
		return err // every worker is spawned once the driver arrives: sends find them
	}
	for step := 1; step <= w.p.Supersteps; step++ {
		out := make([]map[int]float64, workers)
		for i := range out {
			out[i] = make(map[int]float64)
		}
		for i, r := range w.rank {
			v := w.p.Index + i*workers
			share := r / float64(len(w.g.Out[v]))
			for _, u := range w.g.Out[v] {
				out[u%workers][u] += share
			}
		}
		for to, sums := range out {
			msg := Msg{Step: step, From: w.p.Index, Contribs: make([]Contrib, 0, len(sums))}
			for u, s := range sums {
				msg.Contribs = append(msg.Contribs, Contrib{Node: u, Value: s})
			}
			if err := m.Send(ctx, WorkerName(to), msg); err != nil {
				return fmt.Errorf("superstep %d: %w", step, err)
			}
		}
		if _, err := m.Barrier(ctx, GroupName, SuperstepBarrier, w.p.Mode); err != nil {
			return fmt.Errorf("superstep %d: %w", step, err)
		}
		w.mu.Lock()
		in := w.inbox[step%2]
		for i := range w.rank {
			w.rank[i] = (1-w.p.Damping)/float64(n) + w.p.Damping*in[i]
		}
		clear(in)
		w.mu.Unlock()
	}
	return m.Send(ctx, CollectorName, Msg{From: w.p.Index, Ranks: w.rank, Final: true})
}

// handle adds a message's contributions to the superstep's inbox.
func (w *worker) handle(_ context.Context, m managedprocess.Message[Msg]) {
	if w.p.HandlerDelay > 0 {
		time.Sleep(w.p.HandlerDelay)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	in := w.inbox[m.Body.Step%2]
	for _, c := range m.Body.Contribs {
		in[c.Node/w.p.Workers] += c.Value
	}
}

// The names of a job's group, its barriers and its members besides the
// workers (see WorkerName): a program that runs a job itself, as Run does,
// spawns the driver and the collector.
const (
	GroupName        = "bsp"           // the group of the workers and the driver
	StartBarrier     = "start"         // a Rendezvous, once every worker is spawned
	SuperstepBarrier = "superstep"     // one round per superstep, in the job's mode
	CollectorName    = "bsp-collector" // receives the workers' final ranks, outside the group
	DriverName       = "bsp-driver"    // meets the workers at every barrier
)
