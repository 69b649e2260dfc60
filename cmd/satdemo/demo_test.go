package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satnode/satnode/node/btcnode/btcdtest"
)

// TestDemoREADME runs the demo as `make demo` does (the satdemo binary,
// with bin/satnode, bin/btcd and bin/btcctl beside it) and, once it has
// printed its coin to try, every command of README.md's block between
// <!-- demo-commands … --> and <!-- /demo-commands -->, with the demo's
// coin for TXID:VOUT, ADDR, SHA256HEX and HEIGHT, and its ports where it
// could not take the defaults, then every command the demo itself printed.
// Each must exit 0 with plausible output. Then Ctrl-C (SIGINT): the demo
// stops everything and exits 0.
func TestDemoREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd and satnode processes")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("README.md's commands need curl")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := demoCommands(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 10 {
		t.Fatalf("README.md's demo block has %d commands: %q", len(cmds), cmds)
	}

	// bin/ as make demo leaves it.
	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	build(t, root, filepath.Join(bin, "satnode"), "./cmd/satnode")
	build(t, root, filepath.Join(bin, "satdemo"), "./cmd/satdemo")
	btcd, btcctl := btcdtest.Binaries(t)
	for name, target := range map[string]string{"btcd": btcd, "btcctl": btcctl} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}

	demo := startDemo(t, work, "--dir", filepath.Join(work, "demo"), "--interval", "3s")
	out := demo.waitFor(t, 5*time.Minute, "now one block every")
	rpc := match(t, out, `node0's CometBFT RPC tcp://(127\.0\.0\.1:\d+) and API`)
	api := match(t, out, `and API http://(127\.0\.0\.1:\d+)`)
	txid := match(t, out, `(?m)^==   TXID:VOUT  ([0-9a-f]{64}):0 `)
	addr := match(t, out, `(?m)^==   ADDR       (\S+) `)
	sh := match(t, out, `(?m)^==   SHA256HEX  ([0-9a-f]{64}) `)
	height := match(t, out, `(?m)^==   HEIGHT     (\d+)$`)
	t.Logf("demo: CometBFT RPC %s, API %s; coin %s:0 of %s at height %s", rpc, api, txid, addr, height)

	// What the demo prints.
	logs := filepath.Join(work, "demo", "btcd0", "btcd.log") + ", " + filepath.Join(work, "demo", "node0.log")
	if !strings.Contains(out, "== logs: "+logs+"\n") || strings.Contains(out, "btcdI") {
		t.Errorf("the log paths are not printed as they are (%s):\n%s", logs, out)
	}
	info := match(t, out, `(?m)^== (satnode utxo info --node .*)$`)
	if strings.HasSuffix(info, ",") || !strings.Contains(info, "height "+height+",") {
		t.Errorf("utxo info line: %q", info)
	}
	if s := match(t, out, `(?m)^== (GET http://\S+/v1/status: .*)$`); !strings.Contains(s, "the finalized base") {
		t.Errorf("status line: %q", s)
	}

	ports := strings.NewReplacer("127.0.0.1:26657", rpc, "127.0.0.1:26680", api)
	coin := strings.NewReplacer("TXID", txid, "VOUT", "0", "SHA256HEX", sh, "ADDR", addr, "HEIGHT", height)
	placeholder := regexp.MustCompile(`\b(TXID|VOUT|ADDR|SHA256HEX|HEIGHT|HASH|H)\b`)
	for _, c := range cmds {
		c = ports.Replace(coin.Replace(c))
		if code, _, _ := strings.Cut(c, " #"); placeholder.MatchString(code) {
			t.Errorf("README.md's demo block: %q has a placeholder the demo does not fill", c)
			continue
		}
		runCommand(t, work, c)
	}
	printed := regexp.MustCompile(`(?m)^     ((?:bin/|curl ).*)$`).FindAllStringSubmatch(out, -1)
	for _, c := range printed {
		runCommand(t, work, c[1])
	}
	t.Logf("ran README.md's %d commands and the demo's %d", len(cmds), len(printed))

	// Ctrl-C.
	if err := demo.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-demo.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("satdemo still running 90s after SIGINT:\n%s", demo.out.String())
	}
	if demo.err != nil || !strings.Contains(demo.out.String(), "== stopped; everything is in "+filepath.Join(work, "demo")) {
		t.Fatalf("satdemo after SIGINT: %v (want exit 0)\n%s", demo.err, demo.out.String())
	}
}

// demoCommands returns the commands of README.md's demo block: the
// fenced sh block between the markers, without comments and blank lines,
// continuation lines joined.
func demoCommands(readme string) ([]string, error) {
	_, rest, ok := strings.Cut(readme, "<!-- demo-commands")
	block, _, ok2 := strings.Cut(rest, "<!-- /demo-commands -->")
	_, body, ok3 := strings.Cut(block, "```sh\n")
	body, _, ok4 := strings.Cut(body, "```")
	if !ok || !ok2 || !ok3 || !ok4 {
		return nil, errors.New("README.md has no ```sh block between <!-- demo-commands --> and <!-- /demo-commands -->")
	}
	var cmds []string
	cont := ""
	for _, line := range strings.Split(body, "\n") {
		l := strings.TrimSpace(line)
		if cont == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if c, ok := strings.CutSuffix(l, `\`); ok {
			cont += c
			continue
		}
		cmds = append(cmds, cont+l)
		cont = ""
	}
	return cmds, nil
}

// runCommand runs a command line with bash in dir and checks that it
// exits 0 with plausible output.
func runCommand(t *testing.T, dir, line string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Errorf("%s: %v\n%s%s", line, err, out, stderr)
		return
	}
	// A proof written to a file (-o FILE) is checked in the file.
	if f := regexp.MustCompile(` -o (\S+)`).FindStringSubmatch(line); f != nil {
		if out, err = os.ReadFile(filepath.Join(dir, f[1])); err != nil {
			t.Errorf("%s: %v", line, err)
			return
		}
	}
	if err := plausible(string(out)); err != nil {
		t.Errorf("%s: %v:\n%.500s", line, err, out)
	}
}

// plausible: JSON that is not an error (a JSON-RPC reply's "error" is
// null), Prometheus metrics, or a number (Esplora's tip height). An
// Esplora or native error is neither: curl -s exits 0 on a 404.
func plausible(out string) error {
	out = strings.TrimSpace(out)
	switch {
	case out == "":
		return errors.New("no output")
	case out[0] == '{' || out[0] == '[':
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			return fmt.Errorf("not JSON: %w", err)
		}
		if m, ok := v.(map[string]any); ok && m["error"] != nil {
			return fmt.Errorf("an error answer: %v", m["error"])
		}
	case strings.HasPrefix(out, "# HELP "):
	default:
		if _, err := strconv.Atoi(out); err != nil {
			return errors.New("neither JSON, metrics nor a number")
		}
	}
	return nil
}

func match(t *testing.T, out, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo printed no %s:\n%s", re, out)
	}
	return m[1]
}

func build(t *testing.T, root, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// demoProc is a running satdemo and what it printed.
type demoProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

func startDemo(t *testing.T, dir string, args ...string) *demoProc {
	t.Helper()
	d := &demoProc{cmd: exec.Command(filepath.Join(dir, "bin", "satdemo"), args...), out: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd.Dir = dir
	d.cmd.Stderr = d.out
	d.cmd.SysProcAttr = sysProcAttr() // no demo outlives a killed test binary
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(d.out, sc.Text())
		}
	}()
	go func() {
		<-copied
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
			return
		default:
		}
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(90 * time.Second):
			_ = d.cmd.Process.Kill() // its children die with it (Pdeathsig)
			<-d.done
		}
	})
	return d
}

// waitFor waits until the demo has printed s and returns all it printed.
func (d *demoProc) waitFor(t *testing.T, timeout time.Duration, s string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := d.out.String()
		if strings.Contains(out, s) {
			return out
		}
		select {
		case <-d.done:
			t.Fatalf("satdemo exited (%v) before printing %q:\n%s", d.err, s, d.out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("satdemo printed no %q in %v:\n%s", s, timeout, out)
		}
	}
}

// lockedBuffer collects output from goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
