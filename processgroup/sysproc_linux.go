package processgroup

import "syscall"

// childAttr puts a child in a process group of its own, so that it and its
// own children are killed together, and has it sent SIGTERM when the thread
// that started it ends (see forkLoop): a child whose coordinator died by
// SIGKILL ends too.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
