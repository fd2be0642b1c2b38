package repro

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Workers run as child processes of the program unless Config.InProcess:
// the program runs itself again in the worker role, and its main must call
// ServeChild first. The consumer and the relays stay in the program, where
// the check runs and the ledger is.

// workerRole is the child worker's role.
const workerRole = "repro-worker"

// workerEnv holds a child worker's part, as JSON; its presence is what makes
// ServeChild serve.
const workerEnv = "MUSTER_REPRO_WORKER"

// part is what a child worker needs of the run.
type part struct {
	Index      int        `json:"index"`
	Mode       fence.Mode `json:"mode"`
	Iterations int        `json:"iterations"`
	Burst      int        `json:"burst"`
	Hops       int        `json:"hops"`
}

// ServeChild serves a repro worker if this process was started as one (see
// processgroup.ServeChild), and reports whether it was; a program whose main
// may run repro calls it first.
func ServeChild(ctx context.Context) (child bool, err error) {
	s, ok := os.LookupEnv(workerEnv)
	if !ok {
		return false, nil
	}
	os.Unsetenv(workerEnv)
	var p part
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return true, fmt.Errorf("%s does not decode: %w", workerEnv, err)
	}
	roles := map[string]processgroup.Role[Marker]{workerRole: {Run: p.run}}
	return processgroup.ServeChild(ctx, roles)
}

// run is a child worker's body: the in-process worker's iterations, sending
// to the first hop by name. It returns nil once the last iteration
// released: the worker then leaves the group and its process exits.
func (p part) run(ctx context.Context, m managedprocess.Member[Marker]) error {
	first := ConsumerName
	if p.Hops > 0 {
		first = RelayName(0)
	}
	for it := range p.Iterations {
		if _, err := m.Barrier(ctx, GroupName, HandshakeBarrier, fence.Rendezvous); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", p.Index, it, err)
		}
		for seq := range p.Burst {
			if err := m.Send(ctx, first, Marker{Worker: p.Index, Iteration: it, Seq: seq, HopsLeft: p.Hops}); err != nil {
				return fmt.Errorf("worker %d, iteration %d: %w", p.Index, it, err)
			}
		}
		if _, err := m.Barrier(ctx, GroupName, IterationBarrier, p.Mode); err != nil {
			return fmt.Errorf("worker %d, iteration %d: %w", p.Index, it, err)
		}
	}
	return nil
}

// spawnChild spawns worker w as a child process and reports its outcome on
// results once it exited: nil after its last iteration, else its error.
func (s *scenario) spawnChild(ctx context.Context, c *processgroup.Coordinator[Marker], w int, results chan<- error) error {
	b, err := json.Marshal(part{Index: w, Mode: s.cfg.Mode, Iterations: s.cfg.Iterations, Burst: s.cfg.Burst, Hops: s.cfg.Hops})
	if err != nil {
		return err
	}
	p, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: WorkerName(w), Groups: []string{GroupName},
		Role: workerRole, Env: []string{workerEnv + "=" + string(b)}, Stderr: os.Stderr})
	if err != nil {
		return err
	}
	go func() {
		<-p.Done()
		if err := p.Err(); err != nil {
			results <- fmt.Errorf("worker %d: %w", w, err)
			return
		}
		if !s.closing.Load() { // it left after its last iteration
			s.sent.Add(int64(s.cfg.Iterations * s.cfg.Burst))
		}
		results <- nil
	}()
	return nil
}

// countRunningChildren adds to sent what the child workers still running
// sent, as the coordinator counted it; Run calls it once closing is set,
// before it closes the coordinator.
func (s *scenario) countRunningChildren(snap processgroup.Snapshot) {
	for _, m := range snap.Members {
		if !strings.HasPrefix(m.ID.Name, workerPrefix) {
			continue
		}
		for _, st := range m.Streams {
			s.sent.Add(int64(st.Sent))
		}
	}
}
