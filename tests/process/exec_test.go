package process

import (
	"context"
	"os"
	"os/exec"
)

// execCommand runs the program path with env added to this environment.
func execCommand(ctx context.Context, path string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}
