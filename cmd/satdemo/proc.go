package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is a child process whose output goes to a log file and, if echo
// is set, its live-path lines also to echo.
type proc struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
	err       error // cmd.Wait's, once done is closed
	stopping  atomic.Bool
}

// procSet are the demo's processes, in start order. died receives a
// process that exited while nobody was stopping it.
type procSet struct {
	procs []*proc
	died  chan *proc
}

// echoed are the log messages worth showing.
var echoed = []string{"bitcoin block applied", "bitcoin blocks applied", "synchronizer", "endorsed", "reorg",
	"waiting for the block body", "level=ERROR"}

func (s *procSet) start(name, logPath string, echo io.Writer, quiet *atomic.Bool, bin string, args ...string) error {
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = sysProcAttr()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	s.procs = append(s.procs, p)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(f, line)
			if echo != nil && !quiet.Load() && matches(line) {
				fmt.Fprintln(echo, line)
			}
		}
		_, _ = io.Copy(f, pr) // a line beyond the scanner's buffer: keep draining
		f.Close()
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-copied
		close(p.done)
		if !p.stopping.Load() {
			s.died <- p // buffered: one slot per process
		}
	}()
	return nil
}

func matches(line string) bool {
	for _, e := range echoed {
		if strings.Contains(line, e) {
			return true
		}
	}
	return false
}

// exitError describes a process that exited on its own.
func (p *proc) exitError() error {
	return fmt.Errorf("%s exited (%v); its log: %s", p.name, p.err, p.log)
}

// stop asks the process to exit (SIGTERM) and waits up to 20 s before
// killing it; killing it is an error.
func (p *proc) stop() error {
	p.stopping.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within 20s of SIGTERM and was killed; its log: %s", p.name, p.log)
	}
}

// stopAll stops the processes, the last started first (satnode before
// the btcd it follows).
func (s *procSet) stopAll() error {
	var errs []error
	for i := len(s.procs) - 1; i >= 0; i-- {
		errs = append(errs, s.procs[i].stop())
	}
	return errors.Join(errs...)
}
