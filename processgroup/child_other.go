//go:build !unix

package processgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// ServeChild reports false: child processes need a Unix system. A process
// started as a child fails with an error wrapping errors.ErrUnsupported.
func ServeChild[T any](_ context.Context, _ map[string]Role[T]) (bool, error) {
	if _, ok := os.LookupEnv(childEnv); !ok {
		return false, nil
	}
	return true, fmt.Errorf("processgroup: child processes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// SpawnProcess fails with an error wrapping errors.ErrUnsupported: child
// processes need a Unix system.
func (c *Coordinator[T]) SpawnProcess(_ context.Context, spec ProcessSpec) (*Process, error) {
	return nil, fmt.Errorf("processgroup: spawn process %q on %s: %w", spec.Name, runtime.GOOS, errors.ErrUnsupported)
}
