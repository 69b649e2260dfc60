package main

import "syscall"

// sysProcAttr has the kernel kill a child if satdemo dies without stopping
// it (SIGKILL, a crash), so that no btcd or satnode is left holding the
// demo's ports. Pdeathsig fires when the thread that started the child
// exits; Go does not end the threads of unlocked goroutines, so that is
// satdemo's exit.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
