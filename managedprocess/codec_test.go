package managedprocess_test

import (
	"testing"

	"github.com/muster-go/muster/managedprocess"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sample struct {
	From, Round, Hop int
	Count            uint64
}

func TestJSONCodecRoundTrips(t *testing.T) {
	c := managedprocess.JSON[sample]()
	assert.Equal(t, "json", c.Name())
	b, err := c.Append([]byte("prefix"), sample{From: 1, Round: 2, Hop: 3, Count: 4})
	require.NoError(t, err)
	var got sample
	require.NoError(t, c.Decode(b[len("prefix"):], &got))
	assert.Equal(t, sample{From: 1, Round: 2, Hop: 3, Count: 4}, got)
	assert.Error(t, c.Decode([]byte("{"), &got))
	_, err = managedprocess.JSON[chan int]().Append(nil, make(chan int))
	assert.Error(t, err, "a value JSON cannot encode")
}

func TestBytesCodecDoesNotCopy(t *testing.T) {
	c := managedprocess.Bytes()
	assert.Equal(t, "bytes", c.Name())
	b, err := c.Append([]byte{1}, []byte{2, 3})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, b)
	var got []byte
	require.NoError(t, c.Decode(b, &got))
	assert.Same(t, &b[0], &got[0], "the decoded message is the received bytes")
}

// BenchmarkCodec is one message encoded and decoded: a struct of four
// integers with JSON, and 64 bytes with Bytes.
func BenchmarkCodec(b *testing.B) {
	b.Run("json", func(b *testing.B) {
		c := managedprocess.JSON[sample]()
		var buf []byte
		var got sample
		for i := range b.N {
			buf, _ = c.Append(buf[:0], sample{From: i, Round: i, Hop: 1, Count: uint64(i)})
			if err := c.Decode(buf, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bytes", func(b *testing.B) {
		c := managedprocess.Bytes()
		payload := make([]byte, 64)
		var buf, got []byte
		for range b.N {
			buf, _ = c.Append(buf[:0], payload)
			if err := c.Decode(buf, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
