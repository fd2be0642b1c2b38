//go:build unix

package processgroup

import "syscall"

// killGroup kills the process group of the child pid leads with SIGKILL.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
