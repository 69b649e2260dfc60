//go:build !linux

package btcdtest

import "syscall"

// sysProcAttr: other systems have no parent-death signal; btcd is killed by
// the test's cleanup only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
