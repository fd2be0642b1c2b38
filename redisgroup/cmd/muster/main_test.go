package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/muster-go/muster/internal/cli"
	"github.com/muster-go/muster/redisgroup/internal/redisserver"
)

// TestMain serves a child process's part when the test binary runs as one
// (the runs below start it so), and otherwise runs the tests, checking that
// none leaks a goroutine.
func TestMain(m *testing.M) {
	if child, code := serveChild(); child {
		os.Exit(code)
	}
	// A child built with -race sleeps a second before it exits, unless told
	// not to: every run would wait for it.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}

// runArgs runs the program in this process, its children being the test
// binary, and returns its exit status and outputs. It checks that the run
// left no child process and no key behind.
func runArgs(t *testing.T, srv *redisserver.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runContext(context.Background(), args, &out, &errOut)
	assert.Empty(t, children(t), "child processes left running")
	if srv != nil {
		n, err := srv.Client(t, 1).DBSize(context.Background()).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "keys left in Redis")
	}
	return code, out.String(), errOut.String()
}

// children returns the pids of this process's children that run this
// binary (Linux only: nil elsewhere).
func children(t *testing.T) []int {
	if runtime.GOOS != "linux" {
		return nil
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, not ')'.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		dir := filepath.Dir(st)
		if link, _ := os.Readlink(filepath.Join(dir, "exe")); link == exe {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			pids = append(pids, pid)
		}
	}
	return pids
}

// reproOut is the part of the repro's -json object the tests read.
type reproOut struct {
	Backend   string `json:"backend"`
	Procs     int    `json:"procs"`
	Placement string `json:"placement"`
	Mode      string `json:"mode"`
	Messages  int    `json:"messages"`
	Sent      int    `json:"sent"`
	Handled   int    `json:"handled"`
	Released  int    `json:"released_iterations"`
	Missing   int    `json:"missing"`
	FirstHop  int    `json:"first_hop_missing"`
	Lost      int    `json:"lost"`
	Verdict   string `json:"verdict"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Waiting   []string
}

func decode[T any](t *testing.T, stdout string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(stdout))
	require.NoError(t, dec.Decode(&v), "stdout: %q", stdout)
	require.False(t, dec.More(), "exactly one JSON object: %q", stdout)
	return v
}

// TestReproFencesMissNothing: with the members in three processes on
// Redis, a delivery and a processing fence release the consumer with every
// marker handled, also through relays in other processes with processing.
func TestReproFencesMissNothing(t *testing.T) {
	srv := redisserver.Start(t)
	small := []string{"-backend", "redis", "-redis-addr", srv.Addr, "-workers", "4", "-iterations", "8", "-burst", "4", "-handler-delay", "200us", "-json"}
	for _, extra := range [][]string{{"-mode", "delivery"}, {"-mode", "processing"}, {"-mode", "processing", "-hops", "2", "-procs", "4"}} {
		t.Run(strings.Join(extra, " "), func(t *testing.T) {
			code, stdout, stderr := runArgs(t, srv, append(append([]string{"repro"}, small...), extra...)...)
			require.Equal(t, cli.ExitOK, code, "stderr: %s", stderr)
			out := decode[reproOut](t, stdout)
			assert.True(t, out.OK)
			assert.Equal(t, "ok", out.Verdict)
			assert.Equal(t, "redis", out.Backend)
			assert.Equal(t, extra[1], out.Mode)
			assert.Zero(t, out.Missing)
			assert.Zero(t, out.FirstHop)
			assert.Zero(t, out.Lost)
			assert.Equal(t, 128, out.Messages)
			assert.Equal(t, 128, out.Sent)
			assert.Equal(t, 128, out.Handled)
			assert.Equal(t, 8, out.Released)
			assert.Empty(t, out.Error)
		})
	}
}

// TestReproSummary: without -json the summary says where the members ran
// and ends with the verdict.
func TestReproSummary(t *testing.T) {
	srv := redisserver.Start(t)
	code, stdout, stderr := runArgs(t, srv, "repro", "-redis-addr", srv.Addr, "-iterations", "4", "-handler-delay", "0")
	require.Equal(t, cli.ExitOK, code, "stderr: %s", stderr)
	assert.Contains(t, stdout, "in 3 processes on Redis "+srv.Addr)
	assert.Contains(t, stdout, "process 0: consumer; process 1: worker-0; process 2: worker-1")
	assert.Contains(t, stdout, "missing        0 at the consumer's release")
	assert.Contains(t, stdout, "OK: every marker was handled before the delivery barrier released")
}

// TestReproTimeout: a run that cannot finish in time stops every process,
// says where the members were waiting, and leaves no process or key behind
// (runArgs checks).
func TestReproTimeout(t *testing.T) {
	srv := redisserver.Start(t)
	code, stdout, stderr := runArgs(t, srv, "repro", "-redis-addr", srv.Addr, "-iterations", "1000000", "-timeout", "700ms", "-json")
	assert.Equal(t, cli.ExitFail, code)
	out := decode[reproOut](t, stdout)
	assert.False(t, out.OK)
	assert.Equal(t, "timeout", out.Verdict)
	assert.Contains(t, out.Error, "context deadline exceeded")
	assert.Contains(t, stderr, "where the members were when the run stopped them")
	assert.Contains(t, stderr, "process 1: stopped by the parent process")
}

// bspOut is the part of the bsp's -json object the tests read.
type bspOut struct {
	OK         bool      `json:"ok"`
	Backend    string    `json:"backend"`
	Procs      int       `json:"procs"`
	Mode       string    `json:"mode"`
	Supersteps int       `json:"supersteps"`
	PerStep    []float64 `json:"per_superstep_ms"`
	MaxDiff    float64   `json:"max_diff"`
	Error      string    `json:"error"`
}

// TestBSPMatchesOneProcess: the workers in two child processes compute the
// single-process ranks, in lines and in JSON.
func TestBSPMatchesOneProcess(t *testing.T) {
	srv := redisserver.Start(t)
	small := []string{"bsp", "-backend", "redis", "-redis-addr", srv.Addr, "-nodes", "2000", "-supersteps", "5", "-workers", "4"}
	code, stdout, stderr := runArgs(t, srv, small...)
	require.Equal(t, cli.ExitOK, code, "stderr: %s", stderr)
	assert.Contains(t, stdout, "superstep 5/5: ")
	assert.Contains(t, stdout, "by 4 workers (3 processes on Redis "+srv.Addr+"), mode delivery")
	assert.Contains(t, stdout, "ok: the ranks match")

	code, stdout, stderr = runArgs(t, srv, append(small, "-json", "-mode", "processing", "-procs", "5")...)
	require.Equal(t, cli.ExitOK, code, "stderr: %s", stderr)
	out := decode[bspOut](t, stdout)
	assert.True(t, out.OK)
	assert.Equal(t, "processing", out.Mode)
	assert.Equal(t, 5, out.Procs)
	assert.Len(t, out.PerStep, 5)
	assert.LessOrEqual(t, out.MaxDiff, 1e-9)
}

// TestBSPRendezvousFailsTheCheck: without a fence the ranks come out wrong
// across processes too, and the exit status says so.
func TestBSPRendezvousFailsTheCheck(t *testing.T) {
	srv := redisserver.Start(t)
	code, stdout, stderr := runArgs(t, srv, "bsp", "-redis-addr", srv.Addr, "-json", "-mode", "rendezvous",
		"-nodes", "2000", "-supersteps", "4", "-handler-delay", "5ms")
	assert.Equal(t, cli.ExitFail, code, "stderr: %s", stderr)
	out := decode[bspOut](t, stdout)
	assert.False(t, out.OK)
	assert.Empty(t, out.Error, "the run finished: only its check failed")
	assert.Greater(t, out.MaxDiff, 1e-9)
}

// TestUsage: -h prints the usage on stdout; a bad command line exits 2 with
// the reason on stderr, before reaching Redis.
func TestUsage(t *testing.T) {
	for _, cmd := range []string{"repro", "bsp"} {
		code, stdout, stderr := runArgs(t, nil, cmd, "-h")
		assert.Equal(t, cli.ExitOK, code)
		assert.Contains(t, stdout, "usage: muster "+cmd+" -backend redis -redis-addr HOST:PORT")
		assert.Contains(t, stdout, "-procs int")
		assert.Empty(t, stderr)
	}
	code, stdout, _ := runArgs(t, nil, "-h")
	assert.Equal(t, cli.ExitOK, code)
	assert.Contains(t, stdout, "usage: muster <subcommand>")
	for _, args := range [][]string{
		{}, {"nosuch"}, {"repro", "-backend", "inproc"}, {"repro", "-procs", "1"}, {"repro", "-procs", "4"},
		{"repro", "-mode", "fast"}, {"repro", "-workers", "0"}, {"repro", "extra"}, {"repro", "-nosuch"},
		{"bsp", "-workers", "0"}, {"bsp", "-timeout", "0s"}, {"bsp", "-heartbeat", "-1s"}, {"bsp", "-redis-addr", ""},
	} {
		code, stdout, stderr := runArgs(t, nil, args...)
		assert.Equal(t, cli.ExitUsage, code, "%v", args)
		assert.Empty(t, stdout, "%v", args)
		assert.NotEmpty(t, stderr, "%v", args)
	}
}
