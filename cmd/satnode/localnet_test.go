package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/satnode/satnode/node"
)

// nodeProc is a `satnode start` process (this test binary re-executed
// through TestHelperProcess).
type nodeProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed
	log  string
}

func startNodeProc(t *testing.T, home, log string) *nodeProc {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"start", "--home", home}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, "\x1f"))
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, done: make(chan struct{}), log: log}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p
}

// stop signals the process and waits for it to exit.
func (p *nodeProc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("did not exit within 30s of %v", sig)
	}
}

func (p *nodeProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// TestLocalnet runs a 4-validator localnet of real processes on 127.0.0.1:
// blocks are made; with one validator stopped (SIGTERM) the chain goes on;
// with a second one gone (SIGKILL) it halts, as half the stake is less than
// two thirds; when both come back it resumes; and all four nodes agree on
// every block and app hash, and each application's own committed app hash
// is the one the chain carries.
func TestLocalnet(t *testing.T) {
	start := time.Now()
	out := t.TempDir()
	mustRun(t, "testnet", "--validators", "4", "--output", out, "--starting-port", "0", "--chain-id", "satnode-localnet-test")
	const n = 4
	btc := genChain(t, 110)
	homes := make([]string, n)
	rpcs := make([]string, n)
	clients := make([]*rpchttp.HTTP, n)
	for i := range homes {
		homes[i] = filepath.Join(out, "node"+strconv.Itoa(i))
		rpcs[i] = mustRPC(t, homes[i])
		clients[i] = rpcClient(t, rpcs[i])
		// Every node reads the bodies from the same files, with a small
		// cache: four processes share a two-core machine.
		btc.useBodies(t, homes[i])
	}
	logDir := t.TempDir()
	runs := 0
	procs := make([]*nodeProc, n)
	launch := func(i int) {
		runs++
		procs[i] = startNodeProc(t, homes[i], filepath.Join(logDir, fmt.Sprintf("node%d-run%d.log", i, runs)))
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p != nil && p.running() {
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("== %s (tail)\n%s", filepath.Base(l), b)
			}
		}
	})
	heights := func(idx ...int) []int64 {
		hs := make([]int64, len(idx))
		for j, i := range idx {
			hs[j] = height(clients[i])
		}
		return hs
	}
	atLeast := func(h int64, idx ...int) func() bool {
		return func() bool {
			for _, x := range heights(idx...) {
				if x < h {
					return false
				}
			}
			return true
		}
	}
	for i := range n {
		launch(i)
	}
	waitFor(t, 90*time.Second, "all four nodes at height 5", atLeast(5, 0, 1, 2, 3))
	t.Logf("%v: all four at height 5", time.Since(start).Round(time.Millisecond))

	// Bitcoin blocks: node0's synchronizer submits the headers; the
	// endorsers of three validators (3/4 of the stake, each through its
	// own node) endorse them; the blocks are applied.
	mustRun(t, append([]string{"tx", "submit-headers", "--from", "synchronizer", "--home", homes[0], "--node", rpcs[0]}, btc.headers...)...)
	for i := range 3 {
		mustRun(t, append([]string{"tx", "endorse", "--from", "endorser", "--home", homes[i], "--node", rpcs[i]}, btc.endorsements()...)...)
	}
	want := btcTip{Height: 110, Hash: btc.hashes[109], MuHash: btc.muhash}
	waitFor(t, 30*time.Second, "the endorsed blocks to be applied", func() bool { return queryTip(t, rpcs[0]) == want })
	t.Logf("%v: 110 Bitcoin blocks endorsed and applied", time.Since(start).Round(time.Millisecond))
	checkProofs(t, btc, homes, rpcs)
	t.Logf("%v: proofs fetched from node1 verified through node2's headers", time.Since(start).Round(time.Millisecond))

	// One validator stopped cleanly: 3/4 of the stake goes on.
	if err := procs[3].stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("node3 after SIGTERM: %v", err)
	}
	h := height(clients[0])
	waitFor(t, 60*time.Second, "the chain to go on without node3", atLeast(h+3, 0, 1, 2))
	t.Logf("%v: node3 stopped at %d, chain went on", time.Since(start).Round(time.Millisecond), h)

	// A second one killed: 1/2 of the stake cannot commit.
	if err := procs[2].stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("node2 survived SIGKILL")
	}
	// A block whose precommits were already out may still commit.
	time.Sleep(2 * time.Second)
	before := heights(0, 1)
	// Ten block times (500ms commit, 1s propose) with no new block.
	time.Sleep(6 * time.Second)
	after := heights(0, 1)
	if before[0] < 0 || before[1] < 0 || after[0] != before[0] || after[1] != before[1] {
		t.Fatalf("with half the stake down heights went from %v to %v", before, after)
	}
	t.Logf("%v: node2 killed; the chain halted at %v", time.Since(start).Round(time.Millisecond), after)

	// Both back: the chain resumes, the killed node recovering its state.
	launch(2)
	launch(3)
	halt := max(after[0], after[1])
	waitFor(t, 90*time.Second, "the chain to resume with all four", atLeast(halt+5, 0, 1, 2, 3))
	t.Logf("%v: resumed past %d", time.Since(start).Round(time.Millisecond), halt+5)

	// Every node has the same block and app hash at every height.
	top := halt + 5
	ctx := context.Background()
	for lo := int64(1); lo <= top; lo += 20 {
		hi := min(lo+19, top)
		var ref map[int64][2]string
		for i, c := range clients {
			res, err := c.BlockchainInfo(ctx, lo, hi)
			if err != nil {
				t.Fatalf("node%d blockchain %d..%d: %v", i, lo, hi, err)
			}
			got := map[int64][2]string{}
			for _, m := range res.BlockMetas {
				got[m.Header.Height] = [2]string{m.BlockID.Hash.String(), m.Header.AppHash.String()}
			}
			if len(got) != int(hi-lo+1) {
				t.Fatalf("node%d has %d blocks in %d..%d", i, len(got), lo, hi)
			}
			if ref == nil {
				ref = got
				continue
			}
			for hh, v := range got {
				if ref[hh] != v {
					t.Fatalf("height %d: node0 has block/app hash %v, node%d has %v", hh, ref[hh], i, v)
				}
			}
		}
	}
	// Each application's committed app hash is the one the next block
	// carries (read from node0's block store).
	for i, c := range clients {
		info, err := c.ABCIInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := info.Response.LastBlockHeight
		next := last + 1
		waitFor(t, 30*time.Second, "the next block", atLeast(next, 0))
		b, err := clients[0].Block(ctx, &next)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Block.AppHash, info.Response.LastBlockAppHash) {
			t.Fatalf("node%d's application has app hash %X at height %d; block %d carries %X",
				i, info.Response.LastBlockAppHash, last, next, b.Block.AppHash)
		}
	}
	// Every node, the two restarted ones included, has the UTXO set of the
	// offline importer.
	for i := range n {
		if tip := queryTip(t, rpcs[i]); tip != want {
			t.Fatalf("node%d btc-tip %+v, want %+v", i, tip, want)
		}
	}
	// The chain still has its four validators.
	raw := mustRun(t, "query", "validators", "--node", rpcs[0])
	var vals []struct{ Power int64 }
	if err := json.Unmarshal([]byte(raw), &vals); err != nil || len(vals) != n {
		t.Fatalf("validators: %v\n%s", err, raw)
	}
	for i, p := range procs {
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("node%d exited with %v on SIGTERM; log %s", i, err, p.log)
			}
			t.Fatal(err)
		}
	}
	t.Logf("%v: checked %d heights on 4 nodes; all stopped cleanly", time.Since(start).Round(time.Millisecond), top)
}

func mustRPC(t *testing.T, home string) string {
	t.Helper()
	cfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RPC.ListenAddress
}
