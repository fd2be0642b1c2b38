// Package bench measures muster against plain-Go references run in the same
// benchmark invocation. Every target is a ratio: muster's cost divided by the
// reference's, both measured in interleaved chunks so that machine noise
// cancels. Run it with
//
//	go test -run '^$' -bench . ./tests/bench/
//
// and `-noref` to skip the references (for clean CPU profiles of muster).
package bench

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
