//go:build unix && !linux

package processgroup

import "syscall"

// childAttr puts a child in a process group of its own, so that it and its
// own children are killed together. This system has no parent-death
// signal: a child whose coordinator died notices by its connection ending.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
