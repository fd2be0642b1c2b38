package redisgroup

import (
	"testing"

	"github.com/stretchr/testify/require"
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
