package names_test

import (
	"strings"
	"testing"

	"github.com/muster-go/muster/internal/names"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuoteKeepsShortNamesWhole(t *testing.T) {
	assert.Equal(t, `"worker-1"`, names.Quote("worker-1"))
}

func TestQuoteCutsLongNames(t *testing.T) {
	q := names.Quote(strings.Repeat("x", 1<<20))
	assert.Less(t, len(q), 100, "a 1 MiB name must not make a 1 MiB error")
	assert.Contains(t, q, "(1048576 bytes)")
}

func TestQuoteNeverSplitsARune(t *testing.T) {
	q := names.Quote(strings.Repeat("é", 100)) // 2 bytes each: byte 64 ends a rune, 63 does not
	assert.NotContains(t, q, `\x`)
	q = names.Quote("a" + strings.Repeat("é", 100))
	assert.NotContains(t, q, `\x`)
}
