package redisgroup

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/fence"
)

// A plain release is recognised without JSON, and only the exact form the
// steps write is: anything else is decoded, as before.
func TestPlainRelease(t *testing.T) {
	for out, plain := range map[string]bool{
		`{"s":"ok","r":12,"left":{},"dep":{}}`:                 true,
		`{"s":"ok","r":,"left":{},"dep":{}}`:                   false,
		`{"s":"ok","r":1x,"left":{},"dep":{}}`:                 false,
		`{"s":"fail","r":3,"left":{},"dep":{}}`:                false,
		`{"s":"ok","r":3,"left":[[4,"w"]],"dep":{}}`:           false,
		`{"s":"ok","r":3,"left":{},"dep":{},"x":1}`:            false,
		`{"dep":{},"left":{},"r":3,"s":"ok"}`:                  false,
		`missing`:                                              false,
		`{"s":"ok","r":3,"left":{},"dep":[[[5,"v"],"cause"]]}`: false,
	} {
		require.Equal(t, plain, plainRelease(out), out)
		if plain {
			require.Equal(t, outcome{State: "ok"}, parseOutcome(out))
		}
	}
	// What the fast path returns is what decoding the same outcome gives.
	o := parseOutcome(`{"dep":{},"left":{},"r":3,"s":"ok"}`)
	require.Equal(t, "ok", o.State)
	require.Empty(t, list[[]byte](o.Left))
	require.Empty(t, list[[]byte](o.Dep))
}

// A batch whose sender had departed is dropped whole: the script's reply
// then carries the sender's own cause at index 0, not a recipient's.
func TestSettleABatchOfADepartedSender(t *testing.T) {
	m := &member[string]{links: map[string]*link{}, byID: map[uint64]*link{}, flushed: make(chan struct{})}
	batch := []pending{{seq: 1, to: "b"}, {seq: 2, to: "c"}}
	raw := []any{"self", int64(0), []any{}, []any{int64(0), "self", `{"id":3,"name":"a","err":"heartbeat lapsed"}`}}
	flushed := m.flushed
	require.False(t, m.settleLocked(batch, parseBatch(raw, batch), nil))
	require.Empty(t, m.outbox)
	require.False(t, m.inflight)
	select {
	case <-flushed:
	default:
		t.Fatal("a dropped batch leaves the queue flushed")
	}

	// A refusal whose index is outside the batch marks no link; one inside
	// marks its recipient's, so that later sends to it fail at once.
	m.links["b"], m.links["c"] = &link{name: "b"}, &link{name: "c"}
	raw = []any{"ok", int64(2), []any{}, []any{int64(7), "unknown", ""}}
	require.False(t, m.settleLocked(batch, parseBatch(raw, batch), nil))
	require.NoError(t, m.links["b"].err)
	raw = []any{"ok", int64(2), []any{}, []any{int64(2), "gone", ""}}
	require.False(t, m.settleLocked(batch, parseBatch(raw, batch), nil))
	require.NoError(t, m.links["b"].err)
	require.ErrorIs(t, m.links["c"].err, fence.ErrUnknownMember)
}
