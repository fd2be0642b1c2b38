package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	require.NoError(t, run(ctx, &out))
	assert.Equal(t, "sum of 1…10000 = 50005000, from 100 partial sums by 4 workers\n", out.String())
	assert.Less(t, time.Since(start), time.Second)
}

// readmeMarker precedes, in README.md, the Go code block that must be this
// directory's main.go byte for byte.
const readmeMarker = "<!-- quickstart: internal/examples/quickstart/main.go -->\n"

func TestReadmeQuickStartIsMainGo(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	require.NoError(t, err)
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)

	text := string(readme)
	require.Equal(t, 1, strings.Count(text, readmeMarker), "README.md needs the marker exactly once: %q", readmeMarker)
	after := text[strings.Index(text, readmeMarker)+len(readmeMarker):]
	const open = "```go\n"
	require.True(t, strings.HasPrefix(after, open), "the marker's next line must open a Go code block")
	body := after[len(open):]
	end := strings.Index(body, "\n```\n")
	require.GreaterOrEqual(t, end, 0, "the code block after the marker is not closed")
	assert.Equal(t, string(src), body[:end+1], "README.md's quick start must be internal/examples/quickstart/main.go, byte for byte")
}
