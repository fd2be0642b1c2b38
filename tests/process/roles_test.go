package process

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// msg is the message type of these tests.
type msg struct {
	From  int    // the sender's index
	Round int    // the round it belongs to
	Hop   int    // its hop in a chain
	Count uint64 // a report: messages handled so far
}

// Environment variables that configure a child role.
const (
	envIndex   = "TEST_INDEX"   // this worker's index, 0 … workers-1
	envWorkers = "TEST_WORKERS" // how many workers there are, named w0, w1, …
	envRounds  = "TEST_ROUNDS"
	envPerPeer = "TEST_PER_PEER" // messages to each peer per round
	envHops    = "TEST_HOPS"     // a chain's length
	envMode    = "TEST_MODE"     // the barrier mode
	envCount   = "TEST_COUNT"    // messages a producer sends
	envSlow    = "TEST_SLOW"     // the consumer pauses now and then
)

// envInt returns the number in the environment variable name; 0 if unset.
func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// workerConfig is a worker's part (see workerRole), and the window its
// member is spawned with (0: the default), which the child is not told.
type workerConfig struct {
	index, workers, rounds, perPeer, hops int
	mode                                  fence.Mode
	window                                int
}

// workerFromEnv returns the part the environment gives this child.
func workerFromEnv() workerConfig {
	mode, _ := fence.ParseMode(os.Getenv(envMode))
	return workerConfig{index: envInt(envIndex), workers: envInt(envWorkers), rounds: envInt(envRounds),
		perPeer: envInt(envPerPeer), hops: envInt(envHops), mode: mode}
}

// env returns the environment that gives a child cfg.
func (cfg workerConfig) env() []string {
	return []string{envIndex + "=" + strconv.Itoa(cfg.index), envWorkers + "=" + strconv.Itoa(cfg.workers),
		envRounds + "=" + strconv.Itoa(cfg.rounds), envPerPeer + "=" + strconv.Itoa(cfg.perPeer),
		envHops + "=" + strconv.Itoa(cfg.hops), envMode + "=" + cfg.mode.String()}
}

func workerName(i int) string { return fmt.Sprintf("w%d", i) }

// roles are what the children of these tests run (with scenarioRoles).
func roles() map[string]processgroup.Role[msg] {
	rs := scenarioRoles()
	maps.Copy(rs, map[string]processgroup.Role[msg]{
		"worker":  workerRole(workerFromEnv()),
		"rounder": rounderRole(workerFromEnv(), managedprocess.JSON[msg](), msg{Hop: 1}),
		"sleeper": {Run: untilDone},
		"arriver": {Run: arrive},
		"stubborn": {Run: func(context.Context, managedprocess.Member[msg]) error {
			signal.Ignore(syscall.SIGTERM)
			select {} // ignores its context
		}},
		"exit3": {Run: func(context.Context, managedprocess.Member[msg]) error {
			fmt.Fprintln(os.Stderr, "about to exit with status 3")
			os.Exit(3)
			return nil
		}},
		"sendsUnknown": {Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			return m.Send(ctx, "nobody", msg{})
		}},
		"gated": {Handler: func(ctx context.Context, _ managedprocess.Message[msg]) {
			<-ctx.Done() // stuck until the member departs
		}},
		"producer": {Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			for i := 1; i <= envInt(envCount); i++ {
				if err := m.Send(ctx, "consumer", msg{Round: i}); err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
			}
			return nil
		}},
		"consumer": consumerRole(),
		"stuckOnTwo": {Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
			if m.Body.Hop != 1 {
				if err := m.Recipient().Send(ctx, "collector", msg{Hop: m.Body.Hop}); err != nil {
					panic(err)
				}
			}
			switch m.Body.Hop {
			case 0:
				time.Sleep(300 * time.Millisecond) // busy while the next two messages queue up behind it
			case 2:
				<-ctx.Done() // stuck until the member departs
			}
		}},
		"leaver": {Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if err := m.Send(ctx, "p", msg{Hop: 7}); err != nil { // sent before leaving: still fenced
				return err
			}
			if err := m.Leave("g"); err != nil {
				return err
			}
			<-ctx.Done() // runs on, outside the group
			return nil
		}},
		"returns": {Run: func(context.Context, managedprocess.Member[msg]) error { return nil }},
		"panicsInHandler": {
			Handler: func(context.Context, managedprocess.Message[msg]) { panic("kaboom") },
			Run:     untilDone,
		},
		"panicsAtHop": { // a handler that panics at the message whose Hop is crashHop
			Handler: func(_ context.Context, m managedprocess.Message[msg]) {
				if m.Body.Hop == crashHop {
					panic("kaboom")
				}
			},
			Run: untilDone,
		},
		"panicsAfterArriving": panicsAfterArriving(),
		"stuck": { // a member whose handler never returns while it runs
			Handler: func(ctx context.Context, _ managedprocess.Message[msg]) { <-ctx.Done() },
			Run:     untilDone,
		},
		"processingArriver": {Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			_, err := m.Barrier(ctx, "g", "b", fence.ProcessingFence)
			return err
		}},
		"impatient": {Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := m.Barrier(short, "g", "b", fence.DeliveryFence)
			return err
		}},
		"handler": {Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
			m.Body.Hop++
			if err := m.Reply(ctx, m.Body); err != nil {
				panic(err)
			}
		}},
	})
	return rs
}

// workerRole is a worker of group "g": each round it sends TEST_PER_PEER
// messages to every other worker, each starting a chain of TEST_HOPS
// messages that its handlers pass on to the next worker, then meets the
// others at barrier "b" in TEST_MODE, and checks what the fence promises: a
// delivery fence, that it handled every message the others sent it before
// the barrier; a processing fence, that every chain ended — which it shows
// by reporting its count to member "collector" (outside the group), which
// sums the reports. A rendezvous "counted" ends the round once every count
// was read, and one called "start" begins the first.
func workerRole(cfg workerConfig) processgroup.Role[msg] {
	var handled atomic.Uint64
	me, n, perPeer, hops, mode := cfg.index, cfg.workers, cfg.perPeer, cfg.hops, cfg.mode
	return processgroup.Role[msg]{
		Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
			handled.Add(1)
			if m.Body.Hop > 1 {
				next := workerName((me + 1) % n)
				if err := m.Recipient().Send(ctx, next, msg{From: me, Round: m.Body.Round, Hop: m.Body.Hop - 1}); err != nil {
					panic(err)
				}
			}
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if _, err := m.Barrier(ctx, "g", "start", fence.Rendezvous); err != nil {
				return err // every worker is spawned once the program arrives
			}
			for r := 1; r <= cfg.rounds; r++ {
				for peer := range n {
					for k := 0; peer != me && k < perPeer; k++ {
						if err := m.Send(ctx, workerName(peer), msg{From: me, Round: r, Hop: hops}); err != nil {
							return err
						}
					}
				}
				if _, err := m.Barrier(ctx, "g", "b", mode); err != nil {
					return err
				}
				got := handled.Load()
				if mode == fence.DeliveryFence && hops == 1 {
					if want := uint64(r * (n - 1) * perPeer); got != want {
						return fmt.Errorf("round %d: handled %d messages, want %d", r, got, want)
					}
				}
				if mode == fence.ProcessingFence {
					if err := m.Send(ctx, "collector", msg{From: me, Round: r, Count: got}); err != nil {
						return err
					}
				}
				if _, err := m.Barrier(ctx, "g", "counted", fence.Rendezvous); err != nil {
					return err // no worker sends the next round's messages before every count was read
				}
			}
			return nil
		},
	}
}

// untilDone runs until the member's context ends, then returns nil.
func untilDone(ctx context.Context, _ managedprocess.Member[msg]) error {
	<-ctx.Done()
	return nil
}

// arrive arrives at barrier "b" of group "g" as a rendezvous and returns
// the outcome.
func arrive(ctx context.Context, m managedprocess.Member[msg]) error {
	_, err := m.Barrier(ctx, "g", "b", fence.Rendezvous)
	return err
}

// consumerRole handles the producer's messages (with TEST_SLOW, slowly: a
// pause every 500),
// checks that each comes once and in order, and tells member "collector"
// when it handled TEST_COUNT of them.
func consumerRole() processgroup.Role[msg] {
	next, last := 1, envInt(envCount)
	return processgroup.Role[msg]{Handler: func(ctx context.Context, m managedprocess.Message[msg]) {
		if m.Body.Round != next {
			panic(fmt.Sprintf("message %d, want %d", m.Body.Round, next))
		}
		if next%500 == 0 && os.Getenv(envSlow) != "" {
			time.Sleep(time.Millisecond)
		}
		if next == last {
			if err := m.Recipient().Send(ctx, "collector", msg{Count: uint64(next)}); err != nil {
				panic(err)
			}
		}
		next++
	}}
}

// panicsAfterArriving arrives at barrier "b" of group "g" as a rendezvous
// and panics with 42 once its handler got a message.
func panicsAfterArriving() processgroup.Role[msg] {
	told := make(chan struct{}, 1)
	return processgroup.Role[msg]{
		Handler: func(context.Context, managedprocess.Message[msg]) {
			select {
			case told <- struct{}{}:
			default:
			}
		},
		Run: func(ctx context.Context, m managedprocess.Member[msg]) error {
			if _, err := m.Arrive(ctx, "g", "b", fence.Rendezvous); err != nil {
				return err
			}
			select {
			case <-told:
				panic(42)
			case <-ctx.Done():
				return nil
			}
		},
	}
}
