package testenv

import "syscall"

// sysProcAttr makes the kernel kill a child server when the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
