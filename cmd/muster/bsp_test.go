package main

import (
	"encoding/json"
	"testing"

	"github.com/muster-go/muster/internal/cli"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBSPChildrenMatchOneProcess: the demo with child processes checks out,
// exits 0 and says so, in lines (not a terminal) and in JSON.
func TestBSPChildrenMatchOneProcess(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bsp", "-nodes", "2000", "-supersteps", "5", "-workers", "3")
	require.Equal(t, cli.ExitOK, code, stderr)
	assert.Contains(t, stdout, "superstep 5/5: ")
	assert.Contains(t, stdout, "by 3 workers (child processes), mode delivery")
	assert.Contains(t, stdout, "ok: the ranks match")

	code, stdout, stderr = runArgs(t, "bsp", "-json", "-nodes", "2000", "-supersteps", "5", "-members", "inproc")
	require.Equal(t, cli.ExitOK, code, stderr)
	var out struct {
		OK         bool      `json:"ok"`
		Members    string    `json:"members"`
		Supersteps int       `json:"supersteps"`
		PerStep    []float64 `json:"per_superstep_ms"`
		MaxDiff    float64   `json:"max_diff"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.True(t, out.OK)
	assert.Equal(t, "inproc", out.Members)
	assert.Equal(t, 5, out.Supersteps)
	assert.Len(t, out.PerStep, 5)
	assert.LessOrEqual(t, out.MaxDiff, 1e-9)
}

// TestBSPRendezvousFailsTheCheck: without a fence the ranks come out wrong,
// and the exit status says so, agreeing with "ok" in the JSON.
func TestBSPRendezvousFailsTheCheck(t *testing.T) {
	code, stdout, _ := runArgs(t, "bsp", "-json", "-mode", "rendezvous", "-nodes", "2000", "-supersteps", "4", "-handler-delay", "5ms")
	assert.Equal(t, cli.ExitFail, code)
	var out struct {
		OK      bool    `json:"ok"`
		MaxDiff float64 `json:"max_diff"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.False(t, out.OK)
	assert.Greater(t, out.MaxDiff, 1e-9)
}

func TestBSPUsage(t *testing.T) {
	code, stdout, stderr := runArgs(t, "bsp", "-h")
	assert.Equal(t, cli.ExitOK, code)
	assert.Contains(t, stdout, "usage: muster bsp")
	assert.Empty(t, stderr)
	for _, args := range [][]string{{"bsp", "-mode", "fast"}, {"bsp", "-members", "threads"}, {"bsp", "-workers", "0"}, {"bsp", "extra"}} {
		code, _, stderr := runArgs(t, args...)
		assert.Equal(t, cli.ExitUsage, code, "%v", args)
		assert.NotEmpty(t, stderr, "%v", args)
	}
}
