package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/muster-go/muster/internal/bsp"
	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/internal/repro"
	"github.com/muster-go/muster/processgroup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain serves the repro and bsp workers when the test binary runs as
// one.
func TestMain(m *testing.M) {
	if child, err := repro.ServeChild(context.Background()); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if child, err := processgroup.ServeChild(context.Background(), bsp.Roles()); child {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	goleak.VerifyTestMain(m)
}

// runArgs calls run in-process and returns its exit status and outputs.
func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runWithArgs is runArgs with ctx and a stand-in for repro.Run.
func runWithArgs(t *testing.T, ctx context.Context, r runner, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runWith(ctx, r, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// decodeJSON decodes the one -json object in stdout and checks that its
// "ok" agrees with the exit status.
func decodeJSON(t *testing.T, code int, stdout string) reproJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var obj reproJSON
	require.NoError(t, dec.Decode(&obj), "stdout: %q", stdout)
	require.False(t, dec.More(), "exactly one JSON object: %q", stdout)
	assert.Equal(t, code == 0, obj.OK, "ok must agree with the exit status %d", code)
	return obj
}

func TestReproJSON(t *testing.T) {
	code, stdout, stderr := runArgs(t, "repro", "-json", "-iterations", "8", "-handler-delay", "0", "-timeout", "20s")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	dec := json.NewDecoder(strings.NewReader(stdout))
	var obj map[string]any
	require.NoError(t, dec.Decode(&obj))
	assert.False(t, dec.More(), "exactly one JSON object: %q", stdout)
	for _, k := range []string{"mode", "members", "iterations", "messages", "missing", "barrier_p50_us", "barrier_p99_us", "ok",
		"duplicates", "out_of_order", "burst", "handler_delay_us", "hops", "sent", "released_iterations", "verdict"} {
		assert.Contains(t, obj, k)
	}
	assert.NotContains(t, obj, "error")
	assert.NotContains(t, obj, "stuck")
	assert.Equal(t, "ok", obj["verdict"])
	assert.EqualValues(t, 128, obj["sent"])
	assert.EqualValues(t, 8, obj["released_iterations"])
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

// The workers are child processes by default, goroutines with -members
// inproc; both fence modes miss nothing either way, with handler chains
// that start in a child.
func TestReproMembers(t *testing.T) {
	for _, members := range []string{"children", "inproc"} {
		for _, mode := range []string{"delivery", "processing"} {
			t.Run(members+"/"+mode, func(t *testing.T) {
				code, stdout, stderr := runArgs(t, "repro", "-json", "-members", members, "-mode", mode, "-hops", map[string]string{"delivery": "0", "processing": "2"}[mode],
					"-iterations", "16", "-handler-delay", "0", "-timeout", "20s")
				require.Equal(t, 0, code, "stderr: %s", stderr)
				obj := decodeJSON(t, code, stdout)
				assert.Equal(t, members, obj.WorkersAt)
				assert.Equal(t, "ok", obj.Verdict)
				assert.Zero(t, obj.Missing)
				assert.Equal(t, obj.Messages, obj.Sent)
				assert.Equal(t, obj.Messages, obj.Handled)
			})
		}
	}
	code, _, stderr := runArgs(t, "repro", "-members", "threads")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, stderr, `-members "threads": want children or inproc`)
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
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, "rendezvous", obj.Mode)
	assert.Positive(t, obj.Missing)
	assert.NotEmpty(t, obj.FirstMissing)
	assert.Zero(t, obj.Lost)
	assert.Equal(t, "expected", obj.Verdict)
	assert.True(t, obj.OK, "exit 0: the expected demonstration")
	assert.False(t, obj.Fences)
	assert.Empty(t, stderr)

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
		for _, f := range []string{"-mode", "-workers", "-iterations", "-burst", "-handler-delay", "-hops", "-members", "-timeout", "-json"} {
			assert.Contains(t, stdout, f)
		}
		assert.Contains(t, stdout, "worker → relay-0 → … → relay-(N-1) → consumer")
	}
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
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, "delivery", obj.Mode)
	assert.Equal(t, 3, obj.Hops)
	assert.Equal(t, 6, obj.Members, "the consumer, 2 workers and 3 relays")
	assert.Positive(t, obj.Missing)
	assert.Zero(t, obj.FirstHopMissing)
	assert.Equal(t, 128, obj.Handled)
	assert.Zero(t, obj.Lost)
	assert.Equal(t, "expected", obj.Verdict)
	assert.True(t, obj.OK, "exit 0: the expected demonstration")

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
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, 3, obj.Hops)
	assert.Zero(t, obj.Missing)
	assert.Equal(t, "ok", obj.Verdict)
	assert.True(t, obj.OK)
}

// A run that cannot finish in time — the consumer's work per marker
// outlasts -timeout — exits 1 and says what it was stuck on: the round it
// waited in (everyone arrived, the workers' streams to the consumer lag) and
// the coordinator's snapshot, after the partial summary. The workers are
// goroutines: child processes may not all have started within 50 ms.
func TestReproTimeout(t *testing.T) {
	args := []string{"repro", "-members", "inproc", "-iterations", "4", "-burst", "3", "-handler-delay", "1h", "-timeout", "50ms"}
	start := time.Now()
	code, stdout, stderr := runArgs(t, args...)
	assert.Less(t, time.Since(start), 10*time.Second, "the consumer's work ends when the run stops")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "muster repro: delivery barrier, 3 members (1 consumer, 2 workers)")
	assert.Contains(t, stdout, "released       0 of 4 iterations before the run stopped")
	assert.Contains(t, stdout, "markers        6 of 24 sent, 0 handled")
	assert.NotContains(t, stdout, "lost")
	assert.Contains(t, stdout, "TIMEOUT: the run did not finish within -timeout 50ms")
	lines := strings.Split(stderr, "\n")
	assert.Equal(t, "muster repro: run did not finish: context deadline exceeded", lines[0])
	assert.Equal(t, "stuck: the members were waiting in", lines[1])
	assert.Regexp(t, `^  muster: wait repro/iteration#1 \(delivery\) by .*: context deadline exceeded; lagging: \[worker-`, lines[2])
	assert.NotContains(t, lines[2], "not arrived")
	assert.Equal(t, "the coordinator when the run stopped:", lines[3])
	assert.Regexp(t, `(?m)^  member consumer#1 .*queued=[0-9]+ .*handling=\[worker-`, stderr, "its handler runs")
	assert.Contains(t, stderr, "\n    iteration#1 delivery draining arrived=[consumer#1 worker-0#2 worker-1#3] missing=[] lagging=[worker-")

	code, stdout, stderr = runArgs(t, append(args, "-json")...)
	assert.Equal(t, 1, code)
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, "timeout", obj.Verdict)
	assert.Equal(t, "run did not finish: context deadline exceeded", obj.Error)
	assert.Equal(t, 6, obj.Sent)
	assert.Zero(t, obj.Released)
	assert.Zero(t, obj.Lost)
	require.NotNil(t, obj.Stuck)
	require.Len(t, obj.Stuck.Barriers, 1)
	assert.Contains(t, obj.Stuck.Barriers[0], "repro/iteration#1 (delivery)")
	assert.Contains(t, obj.Stuck.Barriers[0], "lagging: [worker-")
	assert.Contains(t, obj.Stuck.Snapshot, "group repro members=[consumer#1 worker-0#2 worker-1#3]")
	assert.Equal(t, "muster repro: run did not finish: context deadline exceeded\n", stderr, "the diagnosis is in the object")
}

// An interrupt (the context main cancels on SIGINT) ends the run like a
// timeout, with its own verdict.
func TestReproInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupt := func(rctx context.Context, cfg repro.Config) (repro.Report, error) {
		cfg.OnArrive = func(w, it int) {
			if w == repro.Consumer && it == 0 {
				cancel()
			}
		}
		return repro.Run(rctx, cfg)
	}
	code, stdout, stderr := runWithArgs(t, ctx, interrupt, "repro", "-json", "-handler-delay", "1h")
	assert.Equal(t, 1, code)
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, "interrupted", obj.Verdict)
	assert.Contains(t, obj.Error, "context canceled")
	assert.NotNil(t, obj.Stuck)
	assert.Contains(t, stderr, "muster repro: run did not finish: context canceled")
}

// A member that fails — here the consumer's handler panics in the second
// iteration — fails the run: exit 1, the error on stderr naming the member
// and the panic, a partial summary on stdout.
func TestReproMemberFailure(t *testing.T) {
	crash := func(ctx context.Context, cfg repro.Config) (repro.Report, error) {
		cfg.Gate = func(mk repro.Marker) {
			if mk.Iteration == 1 {
				panic("disk on fire")
			}
		}
		return repro.Run(ctx, cfg)
	}
	code, stdout, stderr := runWithArgs(t, context.Background(), crash, "repro", "-iterations", "4")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "released       1 of 4 iterations before the run stopped")
	assert.Contains(t, stdout, "ERROR: the run failed before it finished; stderr shows why")
	// Whoever reports first: the consumer, or a worker whose barrier or send
	// failed because the consumer crashed.
	assert.Regexp(t, `^muster repro: .*consumer#1.*: muster: member crashed: panic: disk on fire`, stderr)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one error line: %q", stderr)
	assert.NotContains(t, stderr, "stuck:", "nothing was stuck: a member failed")

	code, stdout, _ = runWithArgs(t, context.Background(), crash, "repro", "-iterations", "4", "-json")
	assert.Equal(t, 1, code)
	obj := decodeJSON(t, code, stdout)
	assert.Equal(t, "error", obj.Verdict)
	assert.Contains(t, obj.Error, "panic: disk on fire")
	assert.Nil(t, obj.Stuck)
	assert.Equal(t, 1, obj.Released)
}

// Every finished run's verdict and exit status, from reports no real run
// produces on demand (a fence that missed, a marker handled twice): the
// exit status and the -json "ok" agree on each.
func TestReproVerdicts(t *testing.T) {
	base := repro.Report{Mode: fence.DeliveryFence, Members: 3, Workers: 2, Iterations: 2, Burst: 2, Messages: 8, Sent: 8, Handled: 8,
		PerIteration: make([]repro.Iteration, 2)}
	with := func(change func(*repro.Report)) repro.Report {
		r := base
		change(&r)
		return r
	}
	for _, tc := range []struct {
		name    string
		rep     repro.Report
		verdict string
		code    int
		line    string
	}{
		{"ok", with(func(r *repro.Report) { r.OK = true }), "ok", 0,
			"OK: every marker was handled before the delivery barrier released"},
		{"fence missed", with(func(r *repro.Report) {
			r.Missing, r.MissingIterations, r.FirstMissing = 2, 1, []repro.Marker{{Worker: 1, Iteration: 1, Seq: 0}, {Worker: 1, Iteration: 1, Seq: 1}}
		}), "fail", 1, "FAIL: the delivery barrier released with 2 markers unhandled"},
		{"first hop missed", with(func(r *repro.Report) { r.Hops, r.Missing, r.FirstHopMissing = 2, 3, 1 }), "fail", 1,
			"FAIL: the delivery barrier released with 1 markers not handled by their first hop"},
		{"rendezvous missing", with(func(r *repro.Report) { r.Mode, r.Missing = fence.Rendezvous, 4 }), "expected", 0,
			"EXPECTED: rendezvous does not fence"},
		{"delivery beyond the first hop", with(func(r *repro.Report) { r.Hops, r.Missing = 2, 4 }), "expected", 0,
			"EXPECTED: delivery fences only the first hop"},
		{"rendezvous duplicates", with(func(r *repro.Report) { r.Mode, r.Missing, r.Duplicates = fence.Rendezvous, 4, 1 }), "fail", 1,
			"FAIL: 1 markers handled twice"},
		{"lost", with(func(r *repro.Report) { r.Handled, r.Lost = 7, 1 }), "fail", 1, "FAIL: 1 markers lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := func(context.Context, repro.Config) (repro.Report, error) { return tc.rep, nil }
			code, stdout, stderr := runWithArgs(t, context.Background(), stub, "repro")
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stdout, tc.line)
			assert.Empty(t, stderr)

			code, stdout, _ = runWithArgs(t, context.Background(), stub, "repro", "-json")
			assert.Equal(t, tc.code, code)
			obj := decodeJSON(t, code, stdout)
			assert.Equal(t, tc.verdict, obj.Verdict)
			assert.Empty(t, obj.Error)
		})
	}
}
