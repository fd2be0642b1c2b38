//go:build !unix

package wire

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/muster-go/muster/fence"
)

// SocketPipe needs Unix socket pairs; elsewhere NewSocketPipes fails.
type SocketPipe struct{}

// NewSocketPipes returns an error: socket pairs need a Unix system.
func NewSocketPipes(_, _ func(*Frame), _ int, _ func(error)) (*SocketPipe, *SocketPipe, error) {
	return nil, nil, fmt.Errorf("wire: socket pipes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Send is never called: no SocketPipe exists here.
func (*SocketPipe) Send(*Frame) {}

// Post is never called: no SocketPipe exists here.
func (*SocketPipe) Post(fence.Identity, bool, []byte) {}

// Deliver is never called: no SocketPipe exists here.
func (*SocketPipe) Deliver(fence.Identity, uint64, []byte) {}

// Relay is never called: no SocketPipe exists here.
func (*SocketPipe) Relay(fence.Identity, uint64, uint32, []byte) {}

// Close is never called: no SocketPipe exists here.
func (*SocketPipe) Close() {}
