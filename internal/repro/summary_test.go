package repro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/muster-go/muster/fence"
	"github.com/stretchr/testify/assert"
)

// roundTo keeps three figures or so, in units no coarser than coarsest.
func TestRoundTo(t *testing.T) {
	for _, tc := range []struct{ d, coarsest, want time.Duration }{
		{1234567 * time.Microsecond, 100 * time.Millisecond, 1230 * time.Millisecond},
		{123456 * time.Microsecond, 100 * time.Millisecond, 123 * time.Millisecond},
		{1234 * time.Microsecond, 100 * time.Millisecond, 1230 * time.Microsecond},
		{123456 * time.Nanosecond, 100 * time.Millisecond, 123 * time.Microsecond},
		{12345 * time.Nanosecond, 100 * time.Millisecond, 12345 * time.Nanosecond},
		{123456 * time.Millisecond, 100 * time.Millisecond, 123500 * time.Millisecond},
		{123456 * time.Millisecond, time.Second, 123 * time.Second},
		{12345 * time.Millisecond, time.Second, 12300 * time.Millisecond},
	} {
		assert.Equal(t, tc.want, roundTo(tc.d, tc.coarsest), "%v to %v", tc.d, tc.coarsest)
	}
}

func TestJudge(t *testing.T) {
	notFinished := func(cause error) error { return fmt.Errorf("%w: %w", ErrNotFinished, cause) }
	for _, tc := range []struct {
		rep  Report
		err  error
		want Verdict
	}{
		{Report{OK: true}, nil, VerdictOK},
		{Report{Mode: fence.Rendezvous, Missing: 3}, nil, VerdictExpected},
		{Report{Mode: fence.DeliveryFence, Missing: 3}, nil, VerdictFail},
		{Report{OK: true}, notFinished(context.DeadlineExceeded), VerdictTimeout},
		{Report{OK: true}, notFinished(context.Canceled), VerdictInterrupted},
		{Report{OK: true}, errors.New("member crashed"), VerdictError},
	} {
		v := Judge(tc.rep, tc.err)
		assert.Equal(t, tc.want, v, "%+v, %v", tc.rep, tc.err)
		assert.Equal(t, tc.want == VerdictOK || tc.want == VerdictExpected, v.OK())
	}
}

func TestSummaryParts(t *testing.T) {
	rep := Report{Mode: fence.DeliveryFence, Members: 5, Workers: 2, Hops: 2, FirstHopMissing: 1, Missing: 10,
		FirstMissing: []Marker{{Worker: 1, Iteration: 0, Seq: 3}}, Elapsed: 1500 * time.Millisecond}
	assert.Equal(t, "muster repro: delivery barrier, 5 members (1 consumer, 2 workers, 2 relays)", Headline(rep))
	var b bytes.Buffer
	WriteFindings(&b, rep, time.Second)
	assert.Equal(t, `  first hop      1 not yet handled by relay-0 at the consumer's release
  first missing  w1/it0/seq3 … (9 more)
  duplicates     0
  out of order   0
  elapsed        1.5s
`, b.String())
	assert.Equal(t, "TIMEOUT: the run did not finish within -timeout 1m0s; stderr shows what it was stuck on",
		Conclusion(rep, VerdictTimeout, time.Minute, "what it was stuck on"))
	assert.Equal(t, "FAIL: the delivery barrier released with 1 markers not handled by their first hop",
		Conclusion(rep, VerdictFail, time.Minute, ""))
}
