package processgroup

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRelayArenaCopies: a relay arena's copies keep their bytes while the
// buffer they came from is reused and more payloads are copied after them,
// across chunks; appending to one does not reach the next; an empty payload
// is a copy (not nil, which would say "not relayed"); a large one is copied
// on its own.
func TestRelayArenaCopies(t *testing.T) {
	var a relayArena
	buf := make([]byte, relayLarge+1)
	var refs []*[]byte
	var want [][]byte
	for i := range 3 * relayChunk / 64 { // several chunks of bytes and of references
		p := fmt.Appendf(buf[:0], "payload %d %s", i, bytes.Repeat([]byte{'x'}, i%70))
		refs = append(refs, a.copy(p))
		want = append(want, bytes.Clone(p))
		clear(buf) // the reader reads over it
	}
	_ = append(*refs[0], "overwrite?"...)
	for i, ref := range refs {
		require.Equal(t, string(want[i]), string(*ref), "payload %d", i)
	}
	empty := a.copy(nil)
	assert.NotNil(t, *empty)
	assert.Empty(t, *empty)
	large := bytes.Repeat([]byte{'y'}, relayLarge+1)
	got := a.copy(large)
	large[0] = 'z'
	assert.Equal(t, byte('y'), (*got)[0])
	assert.Len(t, *got, relayLarge+1)
}
