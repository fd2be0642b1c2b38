package bsp

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestReport(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.Workers = 10, 2
	res := Result{Supersteps: 2, Messages: 8, PerStep: []time.Duration{time.Millisecond, 3 * time.Millisecond}, MaxDiff: 1e-12, Elapsed: 5 * time.Millisecond}
	rep := Report{Config: cfg, Result: res, Where: "goroutines", Members: "inproc"}
	assert.True(t, rep.OK())

	var b bytes.Buffer
	rep.Write(&b, false)
	assert.Equal(t, "2 supersteps of PageRank on 10 nodes by 2 workers (goroutines), mode delivery: 8 messages, 2ms per superstep, max difference 1e-12\n"+
		"ok: the ranks match the single-process computation\n", b.String())

	b.Reset()
	rep.Write(&b, true)
	assert.Equal(t, `{
  "ok": true,
  "mode": "delivery",
  "members": "inproc",
  "nodes": 10,
  "workers": 2,
  "supersteps": 2,
  "messages": 8,
  "per_superstep_ms": [
    1,
    3
  ],
  "max_diff": 1e-12,
  "elapsed_ms": 5
}
`, b.String(), "no backend, no procs")

	rep.Backend, rep.Procs, rep.Err = "redis", 3, errors.New("boom")
	assert.False(t, rep.OK())
	b.Reset()
	rep.Write(&b, true)
	assert.Contains(t, b.String(), "{\n  \"ok\": false,\n  \"backend\": \"redis\",\n  \"procs\": 3,\n  \"mode\": \"delivery\",")
	assert.Contains(t, b.String(), "\"error\": \"boom\"\n}")
}
