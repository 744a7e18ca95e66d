//go:build !linux

package testenv

import "syscall"

// sysProcAttr returns nil: only Linux has a parent-death signal; cleanup still stops the child.
func sysProcAttr() *syscall.SysProcAttr { return nil }
