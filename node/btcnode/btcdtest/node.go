package btcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/node/btcnode"
)

// DefaultMiningAddr is the regtest P2PKH address of MiningKey, where
// `generate` pays coinbases unless Options.MiningAddr says otherwise.
const DefaultMiningAddr = "mnvLEgcKxKjzTaL8YgM9n2Bi7gVRChomLS"

// miningSeed is hashed to the private key behind DefaultMiningAddr, so
// tests can spend the coins the node mines.
const miningSeed = "satnode btcdtest mining key"

// MiningKey returns the private key of DefaultMiningAddr:
// SHA-256(miningSeed) as a secp256k1 scalar, compressed public key.
func MiningKey() *btcec.PrivateKey {
	priv, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte(miningSeed)))
	return priv
}

// Bounded waits. Start allows for a slow shared machine; building the
// binaries is separate (Binaries) and not counted here.
const (
	DefaultStartTimeout = 60 * time.Second
	stopTimeout         = 30 * time.Second
	pollInterval        = 50 * time.Millisecond
	bindAttempts        = 3
)

// Options configure Start. The zero value is a plain regtest node.
type Options struct {
	// MiningAddr is --miningaddr, where generate pays coinbases (default
	// DefaultMiningAddr).
	MiningAddr string
	// ExtraArgs are appended to btcd's arguments; for options given twice
	// the later one wins.
	ExtraArgs []string
	// StartTimeout bounds the wait for the RPC server (default
	// DefaultStartTimeout).
	StartTimeout time.Duration
}

// Node is a btcd regtest process started by Start. It listens on loopback
// only, keeps everything in Dir (a test temp dir) and is killed when the
// test ends. Methods taking a testing.TB fail the test on error; the others
// return errors, for tests that expect them.
type Node struct {
	RPCAddr string // 127.0.0.1:port, plain http (--notls)
	P2PAddr string // 127.0.0.1:port
	Dir     string // datadir, logs, the empty config file, the captured output
	// Client talks to RPCAddr with User and Password.
	Client   *btcnode.Client
	User     string
	Password string

	btcd, btcctl string
	opts         Options
	conf         string // empty config file for -C, so neither program reads ~/.btcd
	logPath      string // btcd's stdout and stderr
	poll         *btcnode.Client

	mu   sync.Mutex
	proc *process // nil when stopped
}

// process is one run of btcd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // Wait's result, set before done is closed
}

// Start starts a btcd regtest node and waits until its RPC server answers.
// Ports are picked free on 127.0.0.1; if one is taken before btcd binds it,
// Start tries new ones.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	btcd, btcctl := Binaries(tb)
	if opts.MiningAddr == "" {
		opts.MiningAddr = DefaultMiningAddr
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	dir := tb.TempDir()
	n := &Node{
		Dir:      dir,
		User:     "btcdtest",
		Password: randomHex(16),
		btcd:     btcd,
		btcctl:   btcctl,
		opts:     opts,
		conf:     filepath.Join(dir, "empty.conf"),
		logPath:  filepath.Join(dir, "btcd.out"),
	}
	if err := os.WriteFile(n.conf, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	// Registered after TempDir, so it runs before the directory is removed.
	tb.Cleanup(func() { n.cleanup(tb) })

	var err error
	for range bindAttempts {
		if n.RPCAddr, n.P2PAddr, err = freeAddrs(); err != nil {
			tb.Fatalf("btcdtest: %v", err)
		}
		if err = n.newClients(); err != nil {
			tb.Fatalf("btcdtest: %v", err)
		}
		if err = n.launch(); !errors.Is(err, errAddrInUse) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("btcdtest: starting btcd: %v (its output is logged below)", err)
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// freeAddrs picks two free loopback ports by binding port 0 and closing.
// Another process may take one before btcd binds it; launch reports that.
func freeAddrs() (rpc, p2p string, err error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("picking a free port: %w", err)
		}
		ls = append(ls, l)
	}
	return ls[0].Addr().String(), ls[1].Addr().String(), nil
}

func (n *Node) newClients() error {
	var err error
	cfg := btcnode.Config{URL: n.RPCAddr, User: n.User, Password: n.Password, Timeout: 30 * time.Second, Backoff: 100 * time.Millisecond}
	if n.Client, err = btcnode.New(cfg); err != nil {
		return err
	}
	// The readiness poll must not sit in retries of its own.
	cfg.Retries, cfg.Timeout = -1, 2*time.Second
	n.poll, err = btcnode.New(cfg)
	return err
}

func (n *Node) args() []string {
	return append([]string{
		"-C", n.conf,
		"--regtest",
		"--datadir=" + filepath.Join(n.Dir, "data"),
		"--logdir=" + filepath.Join(n.Dir, "logs"),
		"--listen=" + n.P2PAddr,
		"--rpclisten=" + n.RPCAddr,
		"--rpcuser=" + n.User,
		"--rpcpass=" + n.Password,
		"--notls",
		"--miningaddr=" + n.opts.MiningAddr,
		// The default UTXO cache preallocates 250 MiB; regtest chains need
		// a fraction, and the test machine is shared.
		"--utxocachemaxsize=32",
	}, n.opts.ExtraArgs...)
}

// errAddrInUse: btcd exited because a port was taken.
var errAddrInUse = errors.New("address already in use")

// launch starts btcd and waits for its RPC server.
func (n *Node) launch() error {
	out, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "=== btcdtest: %s %s\n", n.btcd, strings.Join(n.args(), " "))
	// Where this run's output starts, so that a bind failure of an earlier
	// run in the same log is not mistaken for one of this run.
	runStart, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		out.Close()
		return err
	}
	cmd := exec.Command(n.btcd, n.args()...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), n.opts.StartTimeout)
	defer cancel()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		_, err := n.poll.ChainInfo(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			n.mu.Lock()
			n.proc = nil
			n.mu.Unlock()
			if log, _ := os.ReadFile(n.logPath); int64(len(log)) >= runStart &&
				strings.Contains(string(log[runStart:]), "address already in use") {
				return fmt.Errorf("btcd exited: %w", errAddrInUse)
			}
			return fmt.Errorf("btcd exited before its RPC server answered: %v", p.err)
		case <-ctx.Done():
			n.kill()
			return fmt.Errorf("RPC server not answering after %v: %v", n.opts.StartTimeout, err)
		case <-t.C:
		}
	}
}

// Stop saves the best chain (see Restart), then shuts btcd down with
// SIGTERM, as an operator would, and waits for it to exit (killing it if
// it takes longer than 30 s).
func (n *Node) Stop(tb testing.TB) {
	tb.Helper()
	n.saveChain(tb)
	p := n.take()
	if p == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		tb.Errorf("btcdtest: SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		tb.Errorf("btcdtest: btcd did not exit within %v of SIGTERM; killed", stopTimeout)
	}
}

// Kill saves the best chain (see Restart), then kills btcd with SIGKILL
// and waits for it to exit.
func (n *Node) Kill(tb testing.TB) {
	tb.Helper()
	n.saveChain(tb)
	n.kill()
}

func (n *Node) kill() {
	if p := n.take(); p != nil {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// take detaches the running process, if any.
func (n *Node) take() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.proc
	n.proc = nil
	return p
}

// Running reports whether btcd is running (started and not stopped or
// exited on its own).
func (n *Node) Running() bool {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Restart stops btcd if it is running and starts it again with the same
// datadir, ports and credentials, waiting for a port another process took
// meanwhile up to the start timeout.
//
// btcd deletes its block database at every start in regtest mode
// (removeRegressionDB in btcd.go: "the regression test is special in that
// it needs a clean database for each run"). So that a restart looks like
// one to the tests, Stop and Kill save the best chain's blocks to Dir
// first, and Restart submits them again and waits for the old tip. What
// is not on the best chain (side branches, invalidateblock marks, the
// mempool) does not survive.
func (n *Node) Restart(tb testing.TB) {
	tb.Helper()
	n.Stop(tb)
	deadline := time.Now().Add(n.opts.StartTimeout)
	for {
		err := n.launch()
		if err == nil {
			break
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			tb.Fatalf("btcdtest: restarting btcd: %v (its output is logged below)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	n.restoreChain(tb)
}

func (n *Node) cleanup(tb testing.TB) {
	n.kill()
	if n.Client != nil {
		n.Client.Close()
		n.poll.Close()
	}
	if tb.Failed() {
		tb.Logf("btcdtest: last lines of %s:\n%s", n.logPath, n.LogTail(40))
	}
}

// LogTail returns the last lines of btcd's captured output.
func (n *Node) LogTail(lines int) string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(no btcd output: %v)", err)
	}
	s := strings.TrimRight(string(data), "\n")
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Btcctl runs btcctl against the node and returns its trimmed output,
// failing the test if it exits non-zero.
func (n *Node) Btcctl(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := n.runBtcctl(args...)
	if err != nil {
		tb.Fatalf("btcdtest: btcctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (n *Node) runBtcctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{
		"-C", n.conf,
		"--regtest",
		"--notls",
		"--rpcserver=" + n.RPCAddr,
		"--rpcuser=" + n.User,
		"--rpcpass=" + n.Password,
	}, args...)
	cmd := exec.CommandContext(ctx, n.btcctl, full...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
