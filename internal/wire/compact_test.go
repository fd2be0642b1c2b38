package wire_test

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every frame with a compact encoding reads back with every field it
// carries; a reply with an error, and a result that lists departures, still
// cross (as JSON).
func TestCompactFramesRoundTrip(t *testing.T) {
	deadline := time.Unix(1_700_000_000, 123)
	id := &fence.Identity{Name: "r", ID: 9}
	for _, f := range []*wire.Frame{
		{Op: wire.OpPost, To: id, Count: 2, Body: wire.AppendMessage(wire.AppendMessage(nil, []byte("payload")), nil), Handler: true},
		{Op: wire.OpDeliver, From: *id, Seq: 1 << 40, Count: 1, Body: wire.AppendMessage(nil, []byte(`{"x":1}`))},
		{Op: wire.OpHandled, Count: 300, Drop: true},
		{Op: wire.OpArm, Count: 7},
		{Op: wire.OpArrive, Call: 2, Group: "g", Barrier: "b", Mode: fence.ProcessingFence, Handler: true, Deadline: deadline},
		{Op: wire.OpBarrier, Call: 3, Group: "g", Barrier: "b", Mode: fence.Rendezvous, Foreign: true},
		{Op: wire.OpWait, Call: 4, Arrival: 5},
		{Op: wire.OpLocalFence, Call: 6},
		{Op: wire.OpReply, Call: 3, Result: &wire.Result{Round: 8}},
		{Op: wire.OpReply, Call: 2, Arrival: 1, Round: 8},
		{Op: wire.OpReply, Call: 7, To: id, Count: 1024},
		{Op: wire.OpReply, Call: 9, Err: wire.EncodeError(fence.ErrClosed)},
		{Op: wire.OpReply, Call: 10, Result: wire.EncodeResult(fence.NewResult(2, nil, []fence.Identity{*id}))},
	} {
		b, err := wire.AppendFramed(nil, f)
		require.NoError(t, err)
		got, err := wire.ReadFramed(bytes.NewReader(b), wire.DefaultFrameLimit)
		require.NoError(t, err, "%+v", f)
		assert.True(t, got.Deadline.Equal(f.Deadline), "%+v: deadline %v", f, got.Deadline)
		got.Deadline = f.Deadline
		assert.Equal(t, f, got)
	}
}

// A compact frame with a flag it does not define, or cut short, is refused.
func TestCompactFramesRefuseWhatTheyDoNotDefine(t *testing.T) {
	good, err := wire.AppendFramed(nil, &wire.Frame{Op: wire.OpWait, Call: 4, Arrival: 5})
	require.NoError(t, err)
	body := good[4:]
	for name, b := range map[string][]byte{
		"unknown flag": append([]byte{0, body[1], body[2], 0x80}, body[4:]...),
		"cut short":    body[:len(body)-1],
		"trailing":     append(append([]byte{}, body...), 0),
	} {
		_, err := wire.Decode(b)
		assert.Error(t, err, name)
	}
}

// TestPostSizeIsTheEncodedLength: the lengths checked against a frame
// limit are those of the post and the delivery that would be sent, across
// the sizes of varints.
func TestPostSizeIsTheEncodedLength(t *testing.T) {
	for _, id := range []uint64{0, 1, 127, 128, 1 << 14, 1<<63 + 5} {
		for _, name := range []string{"", "w", string(bytes.Repeat([]byte{'n'}, 200))} {
			for _, body := range [][]byte{nil, {1}, make([]byte, 1000)} {
				to := fence.Identity{ID: id, Name: name}
				b, err := wire.Encode(&wire.Frame{Op: wire.OpPost, To: &to, Count: 1, Body: wire.AppendMessage(nil, body), Handler: true})
				require.NoError(t, err)
				assert.Equal(t, len(b), wire.PostSize(to, body), "id %d, name of %d, body of %d", id, len(name), len(body))
				for _, seq := range []uint64{1, 300, 1<<64 - 1} {
					b, err := wire.Encode(&wire.Frame{Op: wire.OpDeliver, From: to, Seq: seq, Count: 1, Body: wire.AppendMessage(nil, body)})
					require.NoError(t, err)
					assert.Equal(t, len(b), wire.DeliverSize(to, seq, body), "delivery %d of %d", seq, id)
				}
			}
		}
	}
}

// TestPublishFrameFitsItsBound: a publish's frame is never longer than the
// bound a member side checks before it encodes one to measure it: the
// payload in base64, six bytes a byte of the group, and CallRoom, with
// every other field at its longest.
func TestPublishFrameFitsItsBound(t *testing.T) {
	deadline := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(23*3600+59*60)))
	for _, group := range []string{"", "g", "<&>\x01\u2028é", string(bytes.Repeat([]byte("\x01<"), 100))} {
		for _, body := range [][]byte{nil, {0}, bytes.Repeat([]byte{0xff}, 1001)} {
			f := &wire.Frame{Op: wire.OpPublish, Call: 1<<64 - 1, Deadline: deadline, Handler: true, Foreign: true, Group: group, Body: body}
			b, err := wire.Encode(f)
			require.NoError(t, err)
			bound := base64.StdEncoding.EncodedLen(len(body)) + 6*len(group) + wire.CallRoom
			assert.LessOrEqual(t, len(b), bound, "group %q, body of %d: %s", group, len(body), b)
		}
	}
}
