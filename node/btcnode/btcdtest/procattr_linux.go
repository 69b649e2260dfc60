package btcdtest

import "syscall"

// sysProcAttr asks the kernel to kill btcd if the test process dies without
// running its cleanups (a panic, a `go test -timeout` kill), so no orphan
// keeps its ports and datadir. Pdeathsig fires when the thread that started
// the child exits; Go does not end threads of unlocked goroutines, so in a
// test binary that is process exit.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
