package processgroup

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/muster-go/muster/internal/member"
	"github.com/muster-go/muster/internal/wire"
	"github.com/muster-go/muster/managedprocess"
)

// TestRelayArenaCopies: a relay arena's copies keep their bytes and counts
// while the buffer they came from is reused and more runs are copied after
// them, across chunks; appending to one does not reach the next; a large
// one is copied on its own.
func TestRelayArenaCopies(t *testing.T) {
	var a relayArena
	buf := make([]byte, relayLarge+1)
	var refs []*member.Run
	var want [][]byte
	for i := range 3 * relayChunk / 64 { // several chunks of bytes and of references
		p := fmt.Appendf(buf[:0], "run %d %s", i, bytes.Repeat([]byte{'x'}, i%70))
		refs = append(refs, a.copy(p, uint32(i+1)))
		want = append(want, bytes.Clone(p))
		clear(buf) // the reader reads over it
	}
	_ = append(refs[0].Packed, "overwrite?"...)
	for i, ref := range refs {
		require.Equal(t, string(want[i]), string(ref.Packed), "run %d", i)
		require.Equal(t, uint32(i+1), ref.Count, "run %d", i)
	}
	large := bytes.Repeat([]byte{'y'}, relayLarge+1)
	got := a.copy(large, 1)
	large[0] = 'z'
	assert.Equal(t, byte('y'), got.Packed[0])
	assert.Len(t, got.Packed, relayLarge+1)
}

// TestRelayArenaPacks: a relay arena's encodings are runs of one that read
// back as the messages encoded, across chunks, one that outgrows its chunk
// included; a codec's error is returned.
func TestRelayArenaPacks(t *testing.T) {
	var a relayArena
	codec := managedprocess.Bytes()
	var refs []*member.Run
	var want [][]byte
	for i := range 3 * relayChunk / 64 {
		msg := fmt.Appendf(nil, "message %d %s", i, bytes.Repeat([]byte{'x'}, i%70))
		if i == 100 {
			msg = bytes.Repeat([]byte{'y'}, relayChunk) // longer than any chunk
		}
		run, err := pack(&a, codec, msg)
		require.NoError(t, err)
		refs, want = append(refs, run), append(want, msg)
	}
	_ = append(refs[0].Packed, "overwrite?"...)
	for i, run := range refs {
		require.EqualValues(t, 1, run.Count)
		body, rest := wire.NextMessage(run.Packed)
		require.Equal(t, string(want[i]), string(body), "message %d", i)
		require.Empty(t, rest)
	}
	_, err := pack(&a, managedprocess.JSON[chan int](), make(chan int))
	assert.Error(t, err)
}
