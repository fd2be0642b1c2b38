package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// Payload is a 64-byte message body. It is a value type: muster copies it
// into the recipient's inbox, so sending it allocates nothing.
type Payload [64]byte

// lastMark in byte 0 marks a chunk's last message: the receiver then signals.
const lastMark = 1

// sendChunk sends n payloads through send, marking the last one.
func sendChunk(n int, send func(Payload) error) error {
	var p Payload
	for j := range n {
		if j == n-1 {
			p[0] = lastMark
		}
		if err := send(p); err != nil {
			return err
		}
	}
	return nil
}

// waitChunk waits for the sender's result and the receiver's signal.
func waitChunk(ctx context.Context, sent <-chan error, got <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, chunkTimeout)
	defer cancel()
	for sentDone, gotDone := false, false; !sentDone || !gotDone; {
		select {
		case err := <-sent:
			if err != nil {
				return err
			}
			sentDone = true
		case <-got:
			gotDone = true
		case <-ctx.Done():
			return fmt.Errorf("chunk: sent=%v received=%v: %w", sentDone, gotDone, ctx.Err())
		}
	}
	return nil
}

// musterPipe is a sender member whose Run sends with SendTo (the recipient
// resolved once, as a hot loop would) and a receiver member whose handler
// counts.
type musterPipe struct {
	c     *processgroup.Coordinator[Payload]
	cmd   chan int
	sent  chan error
	got   chan struct{}
	count int64 // the receiver's; read after got
}

func newMusterPipe(ctx context.Context) (*musterPipe, error) {
	p := &musterPipe{c: processgroup.New[Payload](), cmd: make(chan int, 1), sent: make(chan error, 1), got: make(chan struct{}, 1)}
	recv, err := p.c.Spawn(ctx, processgroup.Spec[Payload]{
		Name: "receiver",
		Handler: func(_ context.Context, msg managedprocess.Message[Payload]) {
			p.count++
			if msg.Body[0] == lastMark {
				p.got <- struct{}{}
			}
		},
	})
	if err == nil {
		_, err = p.c.Spawn(ctx, processgroup.Spec[Payload]{
			Name: "sender",
			Run: func(ctx context.Context, m managedprocess.Member[Payload]) error {
				for {
					select {
					case n := <-p.cmd:
						p.sent <- sendChunk(n, func(pl Payload) error { return m.SendTo(ctx, recv.ID(), pl) })
					case <-ctx.Done():
						return nil
					}
				}
			},
		})
	}
	if err != nil {
		_ = p.close()
		return nil, err
	}
	return p, nil
}

func (p *musterPipe) run(ctx context.Context, n int) error {
	p.cmd <- n
	return waitChunk(ctx, p.sent, p.got)
}

// received is the receiver's count; call it between chunks.
func (p *musterPipe) received() int64 { return p.count }

func (p *musterPipe) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return p.c.Close(ctx)
}

// chanPipe is the reference: a buffered channel (capacity 1024) between a
// sender goroutine and a receiver goroutine, doing the same work per message.
type chanPipe struct {
	ch    chan Payload
	cmd   chan int
	sent  chan error
	got   chan struct{}
	count int64
	wg    sync.WaitGroup
}

func newChanPipe() *chanPipe {
	p := &chanPipe{ch: make(chan Payload, 1024), cmd: make(chan int, 1), sent: make(chan error, 1), got: make(chan struct{}, 1)}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for pl := range p.ch {
			p.count++
			if pl[0] == lastMark {
				p.got <- struct{}{}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		for n := range p.cmd {
			p.sent <- sendChunk(n, func(pl Payload) error { p.ch <- pl; return nil })
		}
	}()
	return p
}

func (p *chanPipe) run(ctx context.Context, n int) error {
	p.cmd <- n
	return waitChunk(ctx, p.sent, p.got)
}

func (p *chanPipe) close() error {
	close(p.cmd)
	close(p.ch)
	p.wg.Wait()
	return nil
}

// BenchmarkThroughput measures Send→handler of 64-byte payloads, one sender
// member to one receiver member; b.N = messages. It reports msgs/s, the
// channel reference's msgs/s and x_chan = muster msgs/s ÷ channel msgs/s
// (target ≥ 1.2), and fails if muster allocates per message (allocs/msg
// counts every allocation in muster's timed chunks, divided by b.N).
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	mp, err := newMusterPipe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := mp.close(); err != nil {
			b.Error(err)
		}
	}()
	var ref rounder
	if !*noRef {
		cp := newChanPipe()
		defer cp.close()
		warmup(b, ctx, cp, 4096)
		ref = cp
	}
	warmup(b, ctx, mp, 4096)
	before := mp.received()

	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	mt, rt := interleave(b, ctx, b.N, mp, ref)
	runtime.ReadMemStats(&ms1)
	if got := mp.received() - before; got != int64(b.N) {
		b.Fatalf("receiver handled %d messages, want %d", got, b.N)
	}

	// Mallocs over the whole interleaved run: the reference allocates nothing
	// per message either, so this bounds muster's per-message allocations.
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(b.N)
	b.ReportMetric(allocs, "allocs/msg")
	musterRate := float64(b.N) / mt.Seconds()
	b.ReportMetric(musterRate, "msgs/s")
	if ref != nil {
		chanRate := float64(b.N) / rt.Seconds()
		b.ReportMetric(chanRate, "chan-msgs/s")
		b.ReportMetric(musterRate/chanRate, "x_chan")
	}
	if b.N >= 100_000 && allocs > 0.01 {
		b.Error(errors.New("muster allocates per message"), allocs)
	}
}
