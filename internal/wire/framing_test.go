package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// framed returns f length-prefixed, as it crosses a socket.
func framed(t testing.TB, f *wire.Frame) []byte {
	t.Helper()
	b, err := wire.AppendFramed(nil, f)
	require.NoError(t, err)
	return b
}

// prefixed returns body behind a length prefix that announces n bytes.
func prefixed(n uint32, body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), body...)
}

func TestFramedFramesRoundTrip(t *testing.T) {
	in := []*wire.Frame{
		{Op: wire.OpDeliver, From: fence.Identity{Name: "a", ID: 1}, Seq: 7, Count: 1, Body: wire.AppendMessage(nil, []byte(`{"x":1}`))},
		{Op: wire.OpBarrier, Call: 3, Group: "g", Barrier: "b", Mode: fence.DeliveryFence},
		{Op: wire.OpReply, Call: 3, Err: wire.EncodeError(fence.ErrClosed)},
	}
	var stream []byte
	for _, f := range in {
		stream = append(stream, framed(t, f)...)
	}
	r := bytes.NewReader(stream)
	for _, want := range in {
		got, err := wire.ReadFramed(r, wire.DefaultFrameLimit)
		require.NoError(t, err)
		assert.Equal(t, want.Op, got.Op)
		assert.Equal(t, want.Seq, got.Seq)
		assert.Equal(t, want.Barrier, got.Barrier)
	}
	_, err := wire.ReadFramed(r, wire.DefaultFrameLimit)
	assert.Equal(t, io.EOF, err, "a clean end between frames")
}

// Every way a stream can carry something that is not a whole, valid frame
// is refused with a *FrameError that says what was wrong; an oversized one
// before anything beyond its prefix is read.
func TestReadFramedRefusesBadFrames(t *testing.T) {
	good := framed(t, &wire.Frame{Op: wire.OpStart})
	for _, tc := range []struct {
		name, reason string
		stream       []byte
	}{
		{"longer than the limit", "frame longer than the limit", prefixed(1<<20, "")},
		{"empty", "empty frame", prefixed(0, "")},
		{"cut in the prefix", "stream ends inside a length prefix", []byte{0, 0}},
		{"cut in the frame", "stream ends inside a frame", good[:len(good)-1]},
		{"not JSON", "not a frame", prefixed(3, "{{{")},
		{"not an object", "not a frame", prefixed(2, "[]")},
		{"unknown operation", "unknown operation 200", prefixed(10, `{"op":200}`)},
		{"no operation", "unknown operation 0", prefixed(2, `{}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wire.ReadFramed(bytes.NewReader(tc.stream), 1024)
			require.ErrorIs(t, err, wire.ErrBadFrame)
			var fe *wire.FrameError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.reason, fe.Reason)
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
}

// An oversized frame is refused from its prefix: the reader does not wait
// for (or allocate) the bytes it announces.
func TestReadFramedRefusesAnOversizedFrameBeforeReadingIt(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(prefixed(1<<31, "")), blockingReader{})
	_, err := wire.ReadFramed(r, wire.DefaultFrameLimit)
	var fe *wire.FrameError
	require.ErrorAs(t, err, &fe)
	assert.EqualValues(t, 1<<31, fe.Size)
	assert.Equal(t, wire.DefaultFrameLimit, fe.Limit)
}

// blockingReader fails the test if read: ReadFramed must not read past an
// oversized frame's prefix.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { return 0, errors.New("read past the prefix") }

// TestSocketPipeKeepsOrderAndDrainsOnClose: frames cross a Unix socket pair
// in the order sent, and Close returns once all were received.
func TestSocketPipeKeepsOrderAndDrainsOnClose(t *testing.T) {
	var mu sync.Mutex
	var got [2][]uint64
	record := func(i int) func(*wire.Frame) {
		return func(f *wire.Frame) { // a delivery's Seq, a handled's Count
			mu.Lock()
			got[i] = append(got[i], max(f.Seq, f.Count))
			mu.Unlock()
		}
	}
	bad := func(err error) { t.Errorf("bad frame: %v", err) }
	ab, ba, err := wire.NewSocketPipes(record(0), record(1), 0, bad)
	require.NoError(t, err)
	const n = 20_000
	body := []byte(`"` + strings.Repeat("x", 100) + `"`)
	for i := range uint64(n) {
		ab.Send(&wire.Frame{Op: wire.OpDeliver, Seq: i + 1, Count: 1, Body: wire.AppendMessage(nil, body)})
		ba.Send(&wire.Frame{Op: wire.OpHandled, Count: i + 1})
	}
	ab.Close()
	ba.Close()
	ab.Send(&wire.Frame{Op: wire.OpDeliver, Seq: n + 1, Count: 1, Body: wire.AppendMessage(nil, body)}) // dropped: closed
	for i := range got {
		require.Len(t, got[i], n)
		for j, s := range got[i] {
			require.Equal(t, uint64(j+1), s)
		}
	}
}

// A frame over the reader's limit disconnects the pair: the error names
// the limit, both directions end (a send on the other no longer arrives),
// and closing them does not hang.
func TestSocketPipeDisconnectsOnAFrameOverItsLimit(t *testing.T) {
	bad := make(chan error, 2)
	ab, ba, err := wire.NewSocketPipes(func(*wire.Frame) {}, func(f *wire.Frame) { t.Errorf("received %v after the disconnect", f.Op) }, 64,
		func(err error) { bad <- err })
	require.NoError(t, err)
	ab.Send(&wire.Frame{Op: wire.OpDeliver, Count: 1, Body: wire.AppendMessage(nil, []byte(`"`+strings.Repeat("x", 100)+`"`))})
	err = <-bad
	require.ErrorIs(t, err, wire.ErrBadFrame)
	assert.Contains(t, err.Error(), "limit 64")
	ba.Send(&wire.Frame{Op: wire.OpHandled, Seq: 5})
	ab.Close()
	ba.Close()
}

// connPair returns the two ends of a connection to a child process, both
// in this process: the parent's, and the child's as a child inherits it.
func connPair(t *testing.T) (parent, child *wire.Conn) {
	t.Helper()
	parent, files, err := wire.SocketForChild()
	require.NoError(t, err)
	var fds [2]uintptr
	for i, f := range files {
		fd, err := syscall.Dup(int(f.Fd()))
		require.NoError(t, err)
		fds[i] = uintptr(fd)
		require.NoError(t, f.Close())
	}
	child, err = wire.InheritedConn(fds[0], fds[1])
	require.NoError(t, err)
	return parent, child
}

// A connection's reader hands nothing on before Start, even a frame that
// was already written: receive may use what its caller sets up between
// NewSocketConn and Start (the race detector sees no order through the
// other process otherwise). A connection never started still closes.
func TestSocketConnReadsOnlyOnceStarted(t *testing.T) {
	parent, child := connPair(t)
	var setUp *uint64 // what receive uses, set after the frame was written
	got := make(chan uint64, 1)
	toParent := wire.NewSocketConn(child, func(*wire.Frame) {}, nil, 0, nil)
	fromChild := wire.NewSocketConn(parent, func(f *wire.Frame) { got <- *setUp + f.Count }, nil, 0, nil)
	toParent.Start()
	toParent.Send(&wire.Frame{Op: wire.OpHandled, Count: 1})
	toParent.Flush() // written: the parent's reader could read it now
	base := uint64(41)
	setUp = &base
	fromChild.Start()
	require.Equal(t, uint64(42), <-got)
	fromChild.Close() // ends the parent's stream, which toParent's Close waits for
	toParent.Close()

	parent, child = connPair(t)
	never := wire.NewSocketConn(parent, func(*wire.Frame) { t.Error("a frame was handed on without Start") }, nil, 0, nil)
	other := wire.NewSocketConn(child, func(*wire.Frame) {}, nil, 0, nil)
	other.Start()
	other.Send(&wire.Frame{Op: wire.OpHandled, Count: 1})
	never.Close()
	other.Abort()
	other.Close()
}
