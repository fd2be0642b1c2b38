package process

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/managedprocess"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bytesEnv makes a child serve the roles of a coordinator of []byte
// messages with the bytes codec (see bytesRoles) instead of roles().
const bytesEnv = "TEST_BYTES"

// bytesRoles are the roles of []byte children: a producer sending
// TEST_COUNT payloads of frameSize bytes, numbered in their first eight, to
// "consumer", which checks the order and tells "collector" after the last;
// and the round benchmark's rounder, with payloads of frameSize bytes.
func bytesRoles() map[string]processgroup.Role[[]byte] {
	codec := managedprocess.Bytes()
	n := uint64(envInt(envCount))
	return map[string]processgroup.Role[[]byte]{
		"rounder": rounderRole(workerFromEnv(), codec, make([]byte, frameSize)),
		"oversized": {Codec: codec, Run: func(ctx context.Context, m managedprocess.Member[[]byte]) error {
			for _, send := range []func([]byte) error{
				func(b []byte) error { return m.Send(ctx, "collector", b) },
				func(b []byte) error { return m.Publish(ctx, "g", b) },
			} {
				if err := send(make([]byte, oversized)); !errors.Is(err, fence.ErrInvalidArgument) {
					return fmt.Errorf("a message over the frame limit: %v, want ErrInvalidArgument", err)
				}
			}
			return m.Send(ctx, "collector", binary.BigEndian.AppendUint64(nil, 7)) // the member goes on
		}},
		"producer": {Codec: codec, Run: func(ctx context.Context, m managedprocess.Member[[]byte]) error {
			payload := make([]byte, frameSize)
			for i := uint64(1); i <= n; i++ {
				binary.BigEndian.PutUint64(payload, i)
				if err := m.Send(ctx, "consumer", payload); err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
			}
			return nil
		}},
		"consumer": {Codec: codec, Handler: func() managedprocess.Handler[[]byte] {
			next := uint64(1)
			return func(ctx context.Context, m managedprocess.Message[[]byte]) {
				if got := binary.BigEndian.Uint64(m.Body); got != next || len(m.Body) != frameSize {
					panic(fmt.Sprintf("message %d of %d bytes, want %d", got, len(m.Body), next))
				}
				if next == n {
					if err := m.Recipient().Send(ctx, "collector", m.Body[:8]); err != nil {
						panic(err)
					}
				}
				next++
			}
		}()},
	}
}

// bytesRun has a []byte producer child send n payloads through the
// coordinator, whose window is window (0: the default), to a consumer child
// whose frame limit is limit (0: the default); it returns how long that
// took from the spawn of the two to the last message's arrival, or fails
// tb.
func bytesRun(tb testing.TB, n, window, limit int) time.Duration {
	ctx := context.Background()
	c := processgroup.New[[]byte](processgroup.WithCodec(managedprocess.Bytes()), processgroup.WithWindow(window))
	defer c.Close(ctx)
	done := make(chan uint64, 1)
	_, err := c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[[]byte]) { done <- binary.BigEndian.Uint64(m.Body) }})
	require.NoError(tb, err)
	env := []string{envCount + "=" + strconv.Itoa(n), bytesEnv + "=1", quickExit}
	start := time.Now()
	var children []*processgroup.Process
	for _, role := range []string{"consumer", "producer"} {
		spec := processgroup.ProcessSpec{Name: role, Role: role, Env: env, Stderr: os.Stderr}
		if role == "consumer" {
			spec.FrameLimit = limit
		}
		p, err := c.SpawnProcess(ctx, spec)
		require.NoError(tb, err)
		children = append(children, p)
	}
	select {
	case last := <-done:
		require.EqualValues(tb, n, last)
	case <-children[0].Done(): // the consumer crashed: it panics at a message out of order
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		tb.Fatalf("the consumer ended before the last message: %v", c.Wait(wctx))
	}
	return time.Since(start)
}

// TestProcessBytesCodec: []byte messages cross between two children with
// the bytes codec, relayed by the coordinator, every one in order.
func TestProcessBytesCodec(t *testing.T) {
	bytesRun(t, 20_000, 0, 0)
}

// TestProcessRelayedRunsFitTheRecipientsLimit: the runs a child sends
// another through the coordinator are as long as the sender's frame limit
// allows; for a recipient whose limit is shorter, the coordinator splits
// them, and every message arrives, in order.
func TestProcessRelayedRunsFitTheRecipientsLimit(t *testing.T) {
	bytesRun(t, 20_000, 0, 256)
}

// oversized is a payload longer than the frame limit of the child that
// sends it in TestProcessSendOverTheFrameLimit.
const oversized = 2 << 10

// TestProcessSendOverTheFrameLimit: a child's send and publish of a message
// whose frame would be longer than its frame limit fail with
// fence.ErrInvalidArgument, and send nothing; the child goes on, and its next
// message arrives. (Sent, the frame would have disconnected the child.)
func TestProcessSendOverTheFrameLimit(t *testing.T) {
	ctx := testCtx(t)
	c := processgroup.New[[]byte](processgroup.WithCodec(managedprocess.Bytes()))
	defer c.Close(ctx)
	_, err := c.NewGroup("g")
	require.NoError(t, err)
	got := make(chan []byte, 2)
	_, err = c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "collector", Groups: []string{"g"},
		Handler: func(_ context.Context, m managedprocess.Message[[]byte]) { got <- m.Body }})
	require.NoError(t, err)
	p, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "o", Role: "oversized", FrameLimit: oversized / 2,
		Env: []string{bytesEnv + "=1", quickExit}, Stderr: os.Stderr})
	require.NoError(t, err)
	within(t, p.Done())
	require.NoError(t, p.Err()) // not disconnected: a frame over the limit would have been refused
	select {
	case b := <-got: // the first message to arrive is the one after the refused ones
		assert.Equal(t, uint64(7), binary.BigEndian.Uint64(b))
	case <-ctx.Done():
		t.Fatal("the message after the refused ones did not arrive")
	}
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var failed *fence.MemberError
	err = c.Wait(wctx) // the collector still runs: Wait ends with wctx, and the failures so far
	assert.False(t, errors.As(err, &failed), "a member failed: %v", err)
}

// TestProcessDeliveryOverTheFrameLimit: a goroutine member's send and
// publish to a child of a message that would not fit the child's frame
// limit fail at once with fence.ErrInvalidArgument, naming the size and the
// limit, and send nothing; the child goes on, and the sender's next message
// reaches it. (Sent, the frame would have made the child exit.)
func TestProcessDeliveryOverTheFrameLimit(t *testing.T) {
	ctx := testCtx(t)
	c := processgroup.New[[]byte](processgroup.WithCodec(managedprocess.Bytes()))
	defer c.Close(ctx)
	if _, err := c.NewGroup("g"); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	_, err := c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[[]byte]) { got <- m.Body }})
	require.NoError(t, err)
	child, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "consumer", Role: "consumer", Groups: []string{"g"},
		FrameLimit: oversized / 2, Env: []string{bytesEnv + "=1", envCount + "=1", quickExit}})
	require.NoError(t, err)
	p, err := c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "p", Groups: []string{"g"}})
	require.NoError(t, err)
	for _, send := range []func([]byte) error{
		func(b []byte) error { return p.Send(ctx, "consumer", b) },
		func(b []byte) error { return p.Publish(ctx, "g", b) },
	} {
		err := send(make([]byte, oversized))
		require.ErrorIs(t, err, fence.ErrInvalidArgument)
		assert.Contains(t, err.Error(), "a message of 2048 bytes, encoded, does not fit the frame limit of consumer#")
		assert.Contains(t, err.Error(), "1024 bytes")
	}
	require.NoError(t, p.Send(ctx, "consumer", binary.BigEndian.AppendUint64(make([]byte, 0, frameSize), 1)[:frameSize]))
	select {
	case b := <-got: // the consumer tells the collector of its first (and last) message
		assert.Equal(t, uint64(1), binary.BigEndian.Uint64(b))
	case <-child.Done():
		t.Fatalf("the child ended: %v", child.Err())
	case <-ctx.Done():
		t.Fatal("the message after the refused ones did not arrive")
	}
	require.NoError(t, p.Err(), "the sender goes on")
}

// TestProcessCodecMismatch: a child whose role has another codec than the
// coordinator refuses to serve, and says why.
func TestProcessCodecMismatch(t *testing.T) {
	c := newCoordinator(t)
	p, err := c.SpawnProcess(testCtx(t), processgroup.ProcessSpec{Name: "p", Role: "consumer",
		Env: []string{bytesEnv + "=1", quickExit}})
	require.NoError(t, err)
	within(t, p.Done())
	pe := processError(t, p.Err())
	assert.Equal(t, 2, pe.ExitCode)
	assert.Contains(t, strings.Join(pe.Stderr, "\n"), `role "consumer" has the bytes codec, the coordinator the json codec`)
}

// BenchmarkProcessThroughputBytes is BenchmarkProcessThroughput with
// []byte payloads of 64 bytes and the bytes codec, with a child's default
// window (processgroup.DefaultProcessWindow) and with a goroutine member's
// (processgroup.DefaultWindow, a quarter of it); it also reports the rate of
// the same frames relayed raw from one child to another through this
// process (relay-msgs/s: see relayRun).
func BenchmarkProcessThroughputBytes(b *testing.B) {
	for _, window := range []int{0, processgroup.DefaultWindow} {
		name := fmt.Sprintf("window=%d", window)
		if window == 0 {
			name = fmt.Sprintf("window=default(%d)", processgroup.DefaultProcessWindow)
		}
		b.Run(name, func(b *testing.B) { benchThroughputBytes(b, window) })
	}
}

func benchThroughputBytes(b *testing.B, window int) {
	mt := bytesRun(b, b.N, window, 0)
	b.StopTimer()
	fds, stop := rawPeers(b, 1, "framer", envCount+"="+strconv.Itoa(b.N))
	rt := readFrames(b, fds[0], b.N)
	stop()
	relay := relayRun(b, b.N)
	b.ReportMetric(float64(b.N)/mt.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/rt.Seconds(), "raw-msgs/s")
	b.ReportMetric(float64(mt)/float64(rt), "x_raw")
	b.ReportMetric(float64(b.N)/relay.Seconds(), "relay-msgs/s")
}

// BenchmarkProcessThroughputFromProgram: b.N []byte messages of 64 bytes
// (the Bytes codec) from a goroutine member of this process to a child,
// into a handler that only checks their order: msgs/s is the rate, from the
// first send to the child's word that it handled the last; allocs/msg what
// the sends allocate here, encoding for the child included.
func BenchmarkProcessThroughputFromProgram(b *testing.B) {
	ctx := context.Background()
	c := processgroup.New[[]byte](processgroup.WithCodec(managedprocess.Bytes()))
	defer c.Close(ctx)
	done := make(chan uint64, 1)
	if _, err := c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "collector",
		Handler: func(_ context.Context, m managedprocess.Message[[]byte]) { done <- binary.BigEndian.Uint64(m.Body) }}); err != nil {
		b.Fatal(err)
	}
	child, err := c.SpawnProcess(ctx, processgroup.ProcessSpec{Name: "consumer", Role: "consumer",
		Env: []string{envCount + "=" + strconv.Itoa(b.N), bytesEnv + "=1", quickExit}, Stderr: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	p, err := c.Spawn(ctx, processgroup.Spec[[]byte]{Name: "p"})
	if err != nil {
		b.Fatal(err)
	}
	// Each message has a payload of its own while it may be queued (a
	// window's worth and more): a goroutine member's message is a value,
	// and a []byte is not copied by its send.
	ring := make([]byte, 2*processgroup.DefaultProcessWindow*frameSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for i := uint64(1); i <= uint64(b.N); i++ {
		at := int(i%(2*processgroup.DefaultProcessWindow)) * frameSize
		payload := ring[at : at+frameSize : at+frameSize]
		binary.BigEndian.PutUint64(payload, i)
		if err := p.Send(ctx, "consumer", payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-child.Done():
		b.Fatalf("the consumer ended: %v", child.Err())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/msg")
}
