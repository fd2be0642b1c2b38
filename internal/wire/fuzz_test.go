package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
)

// FuzzReadFramed feeds the frame reader arbitrary bytes. It must never
// panic or read past its limit, and must either refuse them with an error
// wrapping ErrBadFrame (io.EOF for an empty stream) or return a frame that
// encodes and reads back to the same bytes. A connection's reader, with a
// buffer smaller and larger than the frames, must read the same frames from
// the bytes as a stream, and stop with the same error. The seeds run as a
// regular test.
func FuzzReadFramed(f *testing.F) {
	for _, fr := range []*wire.Frame{
		{Op: wire.OpDeliver, From: fence.Identity{Name: "a", ID: 1}, Seq: 7, Count: 2, Body: wire.AppendMessage(wire.AppendMessage(nil, []byte(`{"x":1}`)), nil)},
		{Op: wire.OpPublish, Call: 1, Group: "g", Body: []byte(`"hi"`), Handler: true},
		{Op: wire.OpBarrier, Call: 3, Group: "g", Barrier: "b", Mode: fence.ProcessingFence},
		{Op: wire.OpReply, Call: 3, Result: wire.EncodeResult(fence.NewResult(4, nil, []fence.Identity{{Name: "l", ID: 9}}))},
		{Op: wire.OpCrashed, Panic: &wire.Panic{Value: "boom", Stack: []byte("goroutine 1")}},
		{Op: wire.OpClose, Err: wire.EncodeError(fence.ErrClosed)},
		{Op: wire.OpPost, To: &fence.Identity{Name: "c", ID: 3}, Count: 1, Body: wire.AppendMessage(nil, []byte(`[1,2]`)), Handler: true},
		{Op: wire.OpHandled, Count: 300, Drop: true},
		{Op: wire.OpArm, Count: 1 << 40},
		{Op: wire.OpResolve, Call: 4, Name: "d"},
		{Op: wire.OpRevoke, To: &fence.Identity{Name: "e", ID: 5}},
		{Op: wire.OpArrive, Call: 5, Group: "g", Barrier: "b", Mode: fence.DeliveryFence, Handler: true, Deadline: time.Unix(1e9, 5)},
		{Op: wire.OpWait, Call: 6, Arrival: 2, Foreign: true},
		{Op: wire.OpReply, Call: 6, Result: &wire.Result{Round: 3}, Arrival: 1, Round: 3},
		{Op: wire.OpReply, Call: 7, To: &fence.Identity{Name: "f", ID: 6}, Count: 1024},
		{Op: wire.OpUndecodable, From: fence.Identity{Name: "g", ID: 7}, Seq: 2, Err: wire.EncodeError(fence.ErrInvalidArgument)},
	} {
		b, err := wire.AppendFramed(nil, fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 9, '{', '"', 'o', 'p', '"', ':', '6', '6', '}'})
	f.Add(bytes.Repeat([]byte{0, 0, 0, 3, 0, byte(wire.OpArm), 1}, 3))
	var stream []byte // deliveries and posts whose payloads a later read must not overwrite
	for i, body := range []string{"ab", "cd", "ef", "gh"} {
		fr := &wire.Frame{Op: wire.OpDeliver, From: fence.Identity{Name: "a", ID: 1}, Seq: uint64(i + 1), Count: 1, Body: wire.AppendMessage(nil, []byte(body))}
		if i%2 == 1 {
			fr = &wire.Frame{Op: wire.OpPost, To: &fence.Identity{Name: body, ID: uint64(i)}, Count: 1, Body: wire.AppendMessage(nil, []byte(body))}
		}
		stream, _ = wire.AppendFramed(stream, fr)
	}
	f.Add(stream)
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		sameStream(t, data, limit)
		fr, err := wire.ReadFramed(bytes.NewReader(data), limit)
		if err != nil {
			if !errors.Is(err, wire.ErrBadFrame) && !errors.Is(err, io.EOF) {
				t.Fatalf("an error that is neither a bad frame nor the end: %v", err)
			}
			return
		}
		once, err := wire.AppendFramed(nil, fr)
		if err != nil {
			t.Fatalf("an accepted frame does not encode: %v", err)
		}
		again, err := wire.ReadFramed(bytes.NewReader(once), 1<<30)
		if err != nil {
			t.Fatalf("an accepted frame, encoded, does not read back: %v", err)
		}
		twice, err := wire.AppendFramed(nil, again)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("encoding is not stable: %q, then %q (%v)", once, twice, err)
		}
	})
}

// sameStream fails t unless a connection's reader, with a small buffer and
// a large one, reads from data the frames ReadFramed reads one by one, and
// stops with the same error.
func sameStream(t *testing.T, data []byte, limit int) {
	var want [][]byte
	r := bytes.NewReader(data)
	var end error
	for {
		fr, err := wire.ReadFramed(r, limit)
		if err != nil {
			end = err
			break
		}
		b, err := wire.AppendFramed(nil, fr)
		if err != nil {
			t.Fatalf("an accepted frame does not encode: %v", err)
		}
		want = append(want, b)
	}
	for _, size := range []int{16, 1 << 14} {
		got, err := wire.ReadStream(data, size, limit)
		if err == nil || err.Error() != end.Error() {
			t.Fatalf("with a %d-byte buffer the reader stops with %v, ReadFramed with %v", size, err, end)
		}
		if len(got) != len(want) {
			t.Fatalf("with a %d-byte buffer the reader reads %d frames, ReadFramed %d", size, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("with a %d-byte buffer frame %d reads as %q, by ReadFramed as %q", size, i, got[i], want[i])
			}
		}
	}
}
