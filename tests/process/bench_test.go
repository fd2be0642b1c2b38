package process

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
)

// rounderRole is a benchmark member: round after round it sends
// TEST_PER_PEER messages (body, with codec) to the next member of the ring
// w0, w1, … and meets the others at barrier "r" in TEST_MODE, until the
// coordinator closes.
func rounderRole[T any](cfg workerConfig, codec managedprocess.Codec[T], body T) processgroup.Role[T] {
	return processgroup.Role[T]{
		Codec:   codec,
		Handler: func(context.Context, managedprocess.Message[T]) {},
		Run: func(ctx context.Context, m managedprocess.Member[T]) error {
			next := workerName((cfg.index + 1) % cfg.workers)
			for ctx.Err() == nil {
				for range cfg.perPeer {
					if err := m.Send(ctx, next, body); err != nil {
						return nil // closed
					}
				}
				if _, err := m.Barrier(ctx, "g", "r", cfg.mode); err != nil {
					return nil
				}
			}
			return nil
		},
	}
}

// rawPeers starts n children of this binary in the raw role kind, each
// with a socket pair whose parent end is returned as a blocking file
// descriptor (the floor: no netpoller between the bytes and the process).
func rawPeers(b *testing.B, n int, kind string, env ...string) (fds []int, stop func()) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var cmds []*exec.Cmd
	for range n {
		syscall.ForkLock.RLock() // close-on-exec before any child can inherit them
		pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err == nil {
			syscall.CloseOnExec(pair[0])
			syscall.CloseOnExec(pair[1])
		}
		syscall.ForkLock.RUnlock()
		if err != nil {
			b.Fatal(err)
		}
		child := os.NewFile(uintptr(pair[1]), "child")
		cmd := exec.Command(self)
		cmd.Env = append(append(os.Environ(), rawEnv+"="+kind, quickExit), env...)
		cmd.ExtraFiles = []*os.File{child}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		child.Close()
		fds = append(fds, pair[0])
		cmds = append(cmds, cmd)
	}
	return fds, func() {
		for i, fd := range fds {
			syscall.Close(fd)
			cmds[i].Wait()
		}
	}
}

// hubRounds runs rounds of the bare hub barrier over fds: read every
// child's block (k messages and its arrival), then write each block on to
// the next child (its release).
func hubRounds(b *testing.B, fds []int, k, rounds int) time.Duration {
	blocks := make([][]byte, len(fds))
	for i := range blocks {
		blocks[i] = make([]byte, hubBlock(k))
	}
	start := time.Now()
	for range rounds {
		for i, fd := range fds {
			if err := readFull(fd, blocks[i]); err != nil {
				b.Fatalf("hub arrival: %v", err)
			}
		}
		for i, fd := range fds { // the messages go on to the next child, the release with them
			if err := writeFull(fd, blocks[(i+len(fds)-1)%len(fds)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	return time.Since(start)
}

// envHubK is how many messages a bare hub barrier's child sends per round.
const envHubK = "TEST_HUB_K"

// hubBlock is what a bare hub barrier's child writes per round: k
// length-prefixed frames of frameSize bytes, then its arrival byte.
func hubBlock(k int) int { return k*(lengthPrefix+frameSize) + 1 }

// lengthPrefix is the size of a frame's length in the raw references.
const lengthPrefix = 4

// writeFull writes all of b to fd with blocking writes: a signal can cut
// one short.
func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}

// readFull reads len(b) bytes from fd with blocking reads.
func readFull(fd int, b []byte) error {
	for have := 0; have < len(b); {
		n, err := syscall.Read(fd, b[have:])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		have += n
	}
	return nil
}

// BenchmarkProcessRound: a barrier round of n child members and the
// program (a goroutine member), each child sending k messages of 64 bytes
// (the Bytes codec) per round to the next, against the bare hub barrier of
// n raw children measured in the same run (x_hub): each writes k
// length-prefixed 64-byte frames and an arrival byte, the parent reads all
// of it from every child and then writes each child's block on to the next
// child, whose last byte releases it. At k = 0 that is an arrival and a
// release. ns/op is one round.
func BenchmarkProcessRound(b *testing.B) {
	for _, mode := range []fence.Mode{fence.Rendezvous, fence.DeliveryFence, fence.ProcessingFence} {
		for _, k := range []int{0, 100} {
			for _, n := range []int{2, 4, 8} {
				b.Run(fmt.Sprintf("mode=%v/n=%d/k=%d", mode, n, k), func(b *testing.B) {
					benchRound(b, managedprocess.Bytes(), mode, n, k, bytesEnv+"=1")
				})
			}
		}
	}
}

// BenchmarkProcessRoundJSON is BenchmarkProcessRound's delivery fence with
// k = 100 and the default codec, JSON, encoding a struct of four integers
// per message: the difference is the codec's cost.
func BenchmarkProcessRoundJSON(b *testing.B) {
	for _, n := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("mode=%v/n=%d/k=100", fence.DeliveryFence, n), func(b *testing.B) {
			benchRound(b, managedprocess.JSON[msg](), fence.DeliveryFence, n, 100)
		})
	}
}

// benchRound runs BenchmarkProcessRound's rounds with a coordinator of
// codec, whose children serve their roles with env.
func benchRound[T any](b *testing.B, codec managedprocess.Codec[T], mode fence.Mode, n, k int, env ...string) {
	ctx := context.Background()
	c := processgroup.New[T](processgroup.WithCodec(codec))
	defer c.Close(ctx)
	if _, err := c.NewGroup("g"); err != nil {
		b.Fatal(err)
	}
	p, err := c.Spawn(ctx, processgroup.Spec[T]{Name: "p", Groups: []string{"g"}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		cfg := workerConfig{index: i, workers: n, perPeer: k, mode: mode}
		if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: workerName(i), Groups: []string{"g"}, Role: "rounder",
			Env: append(append(cfg.env(), quickExit), env...), Stderr: os.Stderr}); err != nil {
			b.Fatal(err)
		}
	}
	fds, stop := rawPeers(b, n, "hubpeer", fmt.Sprintf("%s=%d", envHubK, k))
	defer stop()
	round := func(rounds int) time.Duration {
		start := time.Now()
		for range rounds {
			if _, err := p.Barrier(ctx, "g", "r", mode); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	round(warmRounds) // the children are up
	hubRounds(b, fds, k, warmRounds)
	b.ResetTimer()
	var mt, ht time.Duration
	const chunks = 10
	for i := range chunks {
		rounds := b.N / chunks
		if i < b.N%chunks {
			rounds++
		}
		mt += round(rounds)
		b.StopTimer()
		ht += hubRounds(b, fds, k, rounds)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(mt.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(ht.Nanoseconds())/float64(b.N), "hub-ns/round")
	b.ReportMetric(float64(mt)/float64(ht), "x_hub")
}

// warmRounds is how many rounds a round benchmark runs untimed, of muster
// and of the reference, before it measures.
const warmRounds = 50

// BenchmarkProcessPingPong is the raw round trip between this process and
// one child over a socket pair, with blocking reads and writes: ns/op is one
// round trip.
func BenchmarkProcessPingPong(b *testing.B) {
	fds, stop := rawPeers(b, 1, "hubpeer")
	defer stop()
	hubRounds(b, fds, 0, 5)
	b.ResetTimer()
	hubRounds(b, fds, 0, b.N)
}

// BenchmarkProcessThroughput: b.N messages from one child to another
// through the coordinator, into a handler that does nothing, against a child
// writing b.N length-prefixed 64-byte frames to this process over a socket
// pair, read with blocking reads into a 64 KiB buffer (x_raw = muster's time
// over the raw one; msgs/s is muster's rate).
func BenchmarkProcessThroughput(b *testing.B) {
	ctx := context.Background()
	c := processgroup.New[msg]()
	defer c.Close(ctx)
	done := make(chan msg, 1)
	if _, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[msg]) { done <- m.Body }}); err != nil {
		b.Fatal(err)
	}
	count := strconv.Itoa(b.N)
	env := []string{envCount + "=" + count, quickExit}
	start := time.Now()
	if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "consumer", Role: "consumer", Env: env, Stderr: os.Stderr}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "producer", Role: "producer", Env: env, Stderr: os.Stderr}); err != nil {
		b.Fatal(err)
	}
	<-done
	mt := time.Since(start)
	b.StopTimer()
	fds, stop := rawPeers(b, 1, "framer", envCount+"="+count)
	rt := readFrames(b, fds[0], b.N)
	stop()
	b.ReportMetric(float64(b.N)/mt.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/rt.Seconds(), "raw-msgs/s")
	b.ReportMetric(float64(mt)/float64(rt), "x_raw")
}

// frameSize is the reference's payload.
const frameSize = 64

// writeFrames writes n length-prefixed frames of frameSize bytes to fd,
// 64 KiB at a time.
func writeFrames(fd, n int) {
	frame := binary.BigEndian.AppendUint32(nil, frameSize)
	frame = append(frame, make([]byte, frameSize)...)
	buf := make([]byte, 0, 64<<10)
	for i := 0; i < n; i++ {
		if len(buf)+len(frame) > cap(buf) {
			writeFull(fd, buf)
			buf = buf[:0]
		}
		buf = append(buf, frame...)
	}
	writeFull(fd, buf)
}

// readFrames reads n frames from fd and returns how long that took.
func readFrames(b *testing.B, fd, n int) time.Duration {
	start := time.Now()
	if err := relayFrames(fd, -1, n); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// relayFrames reads n length-prefixed frames from fd with blocking reads
// into a 64 KiB buffer and, unless to is negative, writes every read's
// whole frames on to the descriptor to.
func relayFrames(fd, to, n int) error {
	buf := make([]byte, 64<<10)
	have, frames := 0, 0
	for frames < n {
		r, err := syscall.Read(fd, buf[have:])
		if err == syscall.EINTR {
			continue
		}
		if r <= 0 || err != nil {
			return fmt.Errorf("read after %d frames: %d, %v", frames, r, err)
		}
		have += r
		off := 0
		for have-off >= lengthPrefix {
			size := int(binary.BigEndian.Uint32(buf[off:]))
			if have-off < lengthPrefix+size {
				break
			}
			off += lengthPrefix + size
			frames++
		}
		if to >= 0 {
			if err := writeFull(to, buf[:off]); err != nil {
				return err
			}
		}
		have = copy(buf, buf[off:have])
	}
	return nil
}

// relayRun is the floor of any hub: a raw child writes n frames of
// frameSize bytes to this process, which relays them as relayFrames does to
// another raw child, which reads them all and answers one byte. It returns
// how long that took.
func relayRun(b *testing.B, n int) time.Duration {
	count := envCount + "=" + strconv.Itoa(n)
	in, stopIn := rawPeers(b, 1, "framer", count)
	defer stopIn()
	out, stopOut := rawPeers(b, 1, "counter", count)
	defer stopOut()
	start := time.Now()
	if err := relayFrames(in[0], out[0], n); err != nil {
		b.Fatal(err)
	}
	if err := readFull(out[0], make([]byte, 1)); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkProcessSpawn: from SpawnProcess to the release of the first
// round the new child member meets the program's member at (ns/op). The
// child's body arrives once and returns.
func BenchmarkProcessSpawn(b *testing.B) {
	ctx := context.Background()
	c := processgroup.New[msg]()
	defer c.Close(ctx)
	if _, err := c.NewGroup("g"); err != nil {
		b.Fatal(err)
	}
	p, err := c.Spawn(ctx, processgroup.Spec[msg]{Name: "p"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("c%d", i)
		if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: name, Role: "arriver", Env: []string{quickExit}}); err != nil {
			b.Fatal(err)
		}
		if err := p.Join("g"); err != nil { // rounds of g expect p and the new child only
			b.Fatal(err)
		}
		if _, err := p.Barrier(ctx, "g", "b", fence.Rendezvous); err != nil {
			b.Fatal(err)
		}
		if err := p.Leave("g"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessIdleMemory: the coordinator's heap per idle child member
// (one that only handles messages), with b.N of them alive.
func BenchmarkProcessIdleMemory(b *testing.B) {
	ctx := context.Background()
	c := processgroup.New[msg]()
	defer c.Close(ctx)
	before := heapInUse()
	for i := range b.N {
		if _, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: fmt.Sprintf("idle%d", i), Role: "handler", Env: []string{quickExit}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(heapInUse()-before)/float64(b.N), "B-heap/child")
}

// heapInUse is the heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return int64(st.HeapInuse)
}
