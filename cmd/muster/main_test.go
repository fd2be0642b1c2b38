package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runArgs calls run in-process and returns its exit status and outputs.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestReproJSON(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-json", "-iterations", "8", "-handler-delay", "0", "-timeout", "20s")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	dec := json.NewDecoder(strings.NewReader(stdout))
	var obj map[string]any
	require.NoError(t, dec.Decode(&obj))
	assert.False(t, dec.More(), "exactly one JSON object: %q", stdout)
	for _, k := range []string{"mode", "members", "iterations", "messages", "missing", "barrier_p50_us", "barrier_p99_us", "ok",
		"duplicates", "out_of_order", "burst", "handler_delay_us", "hops"} {
		assert.Contains(t, obj, k)
	}
	assert.EqualValues(t, 0, obj["hops"])
	assert.Equal(t, "delivery", obj["mode"])
	assert.EqualValues(t, 3, obj["members"])
	assert.EqualValues(t, 8, obj["iterations"])
	assert.EqualValues(t, 8, obj["burst"])
	assert.EqualValues(t, 128, obj["messages"])
	assert.EqualValues(t, 0, obj["missing"])
	assert.EqualValues(t, 0, obj["handler_delay_us"])
	assert.Equal(t, true, obj["ok"])
	assert.Empty(t, stderr)
}

func TestReproFencesOK(t *testing.T) {
	for _, mode := range []string{"delivery", "processing"} {
		t.Run(mode, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, "repro", "-mode", mode, "-iterations", "8", "-workers", "3", "-burst", "4", "-handler-delay", "20us")
			require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stdout, "muster repro: "+mode+" barrier, 4 members (1 consumer, 3 workers)")
			assert.Contains(t, stdout, "markers        96 sent, 96 handled")
			assert.Contains(t, stdout, "missing        0 at the consumer's release")
			assert.Contains(t, stdout, "OK: every marker was handled before the "+mode+" barrier released")
		})
	}
}

func TestReproRendezvousShowsMissing(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-json", "-mode", "rendezvous", "-handler-delay", "2ms", "-iterations", "8")
	require.Equal(t, 0, code, "missing markers are the expected demonstration; stderr: %s", stderr)
	var obj struct {
		Mode         string           `json:"mode"`
		Missing      int              `json:"missing"`
		Lost         int              `json:"lost"`
		FirstMissing []map[string]int `json:"first_missing"`
		OK           bool             `json:"ok"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &obj))
	assert.Equal(t, "rendezvous", obj.Mode)
	assert.Positive(t, obj.Missing)
	assert.NotEmpty(t, obj.FirstMissing)
	assert.Zero(t, obj.Lost)
	assert.False(t, obj.OK)

	code, stdout, stderr = runArgs(t, "repro", "-mode", "rendezvous", "-handler-delay", "2ms", "-iterations", "4")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stdout, "first missing  w")
	assert.Contains(t, stdout, "EXPECTED: rendezvous does not fence")
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "missing subcommand"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"unknown flag", []string{"repro", "-nope"}, "flag provided but not defined: -nope"},
		{"bad int", []string{"repro", "-workers", "many"}, `invalid value "many" for flag -workers`},
		{"bad duration", []string{"repro", "-handler-delay", "5"}, `invalid value "5" for flag -handler-delay`},
		{"unknown mode", []string{"repro", "-mode", "eventually"}, `unknown mode "eventually"`},
		{"zero workers", []string{"repro", "-workers", "0"}, "workers must be at least 1, got 0"},
		{"zero iterations", []string{"repro", "-iterations", "0"}, "iterations must be at least 1"},
		{"zero burst", []string{"repro", "-burst", "0"}, "burst must be at least 1"},
		{"negative delay", []string{"repro", "-handler-delay", "-1ms"}, "handler delay must not be negative"},
		{"negative hops", []string{"repro", "-hops", "-1"}, "hops must not be negative, got -1"},
		{"too many hops", []string{"repro", "-hops", "65"}, "hops must be at most 64, got 65"},
		{"zero timeout", []string{"repro", "-timeout", "0s"}, "-timeout must be positive"},
		{"stray argument", []string{"repro", "extra"}, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.want)
			assert.Contains(t, stderr, "usage")
			assert.NotContains(t, stderr, "repro: repro:")
		})
	}
	_, _, stderr := runArgs(t, "repro", "-workers", "0")
	assert.True(t, strings.HasPrefix(stderr, "muster repro: invalid config: workers must be at least 1, got 0\n"), "%q", stderr)
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runArgs(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "usage: muster <subcommand>")

	for _, h := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runArgs(t, h)
		assert.Equal(t, 0, code, h)
		assert.Contains(t, stdout, "usage: muster <subcommand>", h)
		assert.Empty(t, stderr, h)
	}

	for _, h := range []string{"-h", "-help", "--help"} {
		code, stdout, stderr := runArgs(t, "repro", h)
		assert.Equal(t, 0, code, h)
		assert.Empty(t, stderr, "help is not an error: it goes to stdout")
		assert.Contains(t, stdout, "usage: muster repro [flags]")
		for _, f := range []string{"-mode", "-workers", "-iterations", "-burst", "-handler-delay", "-hops", "-timeout", "-json"} {
			assert.Contains(t, stdout, f)
		}
		assert.Contains(t, stdout, "worker → relay-0 → … → relay-(N-1) → consumer")
	}
}

// hopsJSON is the part of the -json output the hops tests read.
type hopsJSON struct {
	Mode            string `json:"mode"`
	Members         int    `json:"members"`
	Hops            int    `json:"hops"`
	Messages        int    `json:"messages"`
	Handled         int    `json:"handled"`
	Missing         int    `json:"missing"`
	FirstHopMissing int    `json:"first_hop_missing"`
	Lost            int    `json:"lost"`
	OK              bool   `json:"ok"`
}

// -mode delivery -hops 3 shows markers still in the relay chain at release
// and exits 0: the fence covers the first hop, which relay-0 had handled.
// Statistical, not deterministic (the command has no hooks), but strong:
// the consumer needs at least 16 × 2ms per iteration and the round does not
// wait for it, so missing nothing would take 8 stalls of over 30ms.
// internal/repro's TestRunDeliveryHopsMisses is the deterministic version.
func TestReproDeliveryHopsShowsMissing(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-json", "-mode", "delivery", "-hops", "3", "-handler-delay", "2ms", "-iterations", "8")
	require.Equal(t, 0, code, "markers beyond the first hop are the expected demonstration; stdout: %s\nstderr: %s", stdout, stderr)
	var obj hopsJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &obj))
	assert.Equal(t, "delivery", obj.Mode)
	assert.Equal(t, 3, obj.Hops)
	assert.Equal(t, 6, obj.Members, "the consumer, 2 workers and 3 relays")
	assert.Positive(t, obj.Missing)
	assert.Zero(t, obj.FirstHopMissing)
	assert.Equal(t, 128, obj.Handled)
	assert.Zero(t, obj.Lost)
	assert.False(t, obj.OK)

	code, stdout, stderr = runArgs(t, "repro", "-mode", "delivery", "-hops", "3", "-handler-delay", "2ms", "-iterations", "4")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stdout, "muster repro: delivery barrier, 6 members (1 consumer, 2 workers, 3 relays)")
	assert.Contains(t, stdout, "hops           3 per marker: worker → relay-0 → … → relay-2 → consumer")
	assert.Contains(t, stdout, "first hop      0 not yet handled by relay-0")
	assert.Contains(t, stdout, "EXPECTED: delivery fences only the first hop")
}

// -mode processing -hops 3 misses nothing: the fence waits until the relay
// chain is quiescent.
func TestReproProcessingHopsOK(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-mode", "processing", "-hops", "3", "-iterations", "16", "-handler-delay", "20us")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	assert.Contains(t, stdout, "muster repro: processing barrier, 6 members (1 consumer, 2 workers, 3 relays)")
	assert.Contains(t, stdout, "markers        256 sent, 256 handled")
	assert.Contains(t, stdout, "missing        0 at the consumer's release")
	assert.Contains(t, stdout, "OK: every marker was handled before the processing barrier released")

	code, stdout, stderr = runArgs(t, "repro", "-json", "-mode", "processing", "-hops", "3", "-iterations", "16", "-handler-delay", "20us")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var obj hopsJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &obj))
	assert.Equal(t, 3, obj.Hops)
	assert.Zero(t, obj.Missing)
	assert.True(t, obj.OK)
}

// A run that cannot finish in time fails with exit 1, not a usage error.
func TestReproTimeout(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-iterations", "1000", "-handler-delay", "2ms", "-timeout", "50ms")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "context deadline exceeded")
}
