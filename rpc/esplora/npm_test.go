package esplora

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/query"
)

// The Esplora client the test drives: mempool.space's own JavaScript
// library, pinned so that a new release cannot change what is tested.
const (
	mempoolJSPackage = "@mempool/mempool.js"
	mempoolJSVersion = "3.0.0"
)

// npmInstallTimeout bounds the one-time install; nodeTimeout one run of
// the client script.
const (
	npmInstallTimeout = 5 * time.Minute
	nodeTimeout       = 90 * time.Second
)

// mempoolJSOutput is what testdata/mempooljs.js prints: the library's
// return values, as the library parsed them.
type mempoolJSOutput struct {
	TipHeight   int64        `json:"tipHeight"`
	TipHash     string       `json:"tipHash"`
	BlockHash   string       `json:"blockHash"`
	BlockStatus BlockStatus  `json:"blockStatus"`
	BlockHeader string       `json:"blockHeader"`
	Address     ScriptStats  `json:"address"`
	UTXOs       []query.UTXO `json:"utxos"`
	BadAddress  struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"badAddress"`
	BlockTxids      []string      `json:"blockTxids"`
	BlockTxs        []txValue     `json:"blockTxs"`
	BlockTxsDefault []txValue     `json:"blockTxsDefault"`
	Outspend        spendingValue `json:"outspend"`
	Unspent         spendingValue `json:"unspent"`
	UnknownSpend    struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"unknownSpend"`
}

// TestMempoolJS serves a chain over HTTP on loopback and reads it with
// @mempool/mempool.js, installed from the npm registry into a cache
// directory on first use. It fails, not skips, when Node.js, npm or the
// registry is missing: a real client is the point of this test.
func TestMempoolJS(t *testing.T) {
	prefix := installMempoolJS(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH (%v): TestMempoolJS runs %s with Node.js", err, mempoolJSPackage)
	}

	cfg := testConfig()
	c := rpctest.New(t, cfg, 150)
	// mempool.js takes protocol "http" when asked, so plain HTTP on
	// 127.0.0.1 will do (httptest listens on loopback); it puts "/api/"
	// after the host, so the handler is mounted as the server mounts it.
	srv := httptest.NewServer(esploraMux(New(c.Views, Options{Bodies: c.Bodies})))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ha := hotAddress(t, cfg, 0)
	const height = 120
	// An input of the tip block: its outpoint's spend is inside the undo
	// window.
	spender := c.Blocks[c.Tip()].Transactions[1]
	spent := spender.TxIn[0].PreviousOutPoint
	unknown := strings.Repeat("ab", 32)

	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "mempooljs.js"), prefix, host, ha.addr, strconv.Itoa(height),
		spent.Hash.String(), strconv.Itoa(int(spent.Index)), unknown)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node testdata/mempooljs.js: %v (context: %v)\nstderr: %s", err, ctx.Err(), stderr.String())
	}
	var got mempoolJSOutput
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("mempooljs.js output: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}

	// What the Reader says, read directly.
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if got.TipHeight != int64(v.Tip.Height) || got.TipHash != v.Tip.Hash.String() {
		t.Fatalf("mempool.js tip %d %s, the view's %d %s", got.TipHeight, got.TipHash, v.Tip.Height, v.Tip.Hash)
	}
	hdr, err := v.Reader.Header(height)
	if err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	if err := hdr.Serialize(&hb); err != nil {
		t.Fatal(err)
	}
	if got.BlockHash != hdr.BlockHash().String() || got.BlockHeader != hex.EncodeToString(hb.Bytes()) {
		t.Fatalf("mempool.js block %d: %s %s, the Reader's %s %x", height, got.BlockHash, got.BlockHeader, hdr.BlockHash(), hb.Bytes())
	}
	next, err := v.Reader.Header(height + 1)
	if err != nil {
		t.Fatal(err)
	}
	if st := got.BlockStatus; !st.InBestChain || st.Height == nil || *st.Height != height ||
		st.NextBest == nil || *st.NextBest != next.BlockHash().String() {
		t.Fatalf("mempool.js block status %+v", st)
	}

	sh := sha256.Sum256(ha.script)
	stats, err := v.Reader.ScriptHashStats(sh)
	if err != nil {
		t.Fatal(err)
	}
	want := query.ChainStats{FundedTxoCount: stats.FundedCount, FundedTxoSum: stats.FundedSum,
		SpentTxoCount: stats.SpentCount, SpentTxoSum: stats.SpentSum, TxCount: stats.TxCount}
	if got.Address.Address != ha.addr || got.Address.ChainStats != want || got.Address.MempoolStats != (query.ChainStats{}) {
		t.Fatalf("mempool.js address %+v, the Reader's %+v", got.Address, want)
	}
	if scanned := scanBlocks(c.Blocks, ha.script); scanned.stats != want {
		t.Fatalf("the Reader's stats %+v, the blocks' %+v", want, scanned.stats)
	}

	unspent, more, err := v.Reader.ScriptHashUnspent(sh, nil, 100_000)
	if err != nil || more != nil {
		t.Fatalf("ScriptHashUnspent: %v, %v", more, err)
	}
	if len(got.UTXOs) != len(unspent) || uint64(len(unspent)) != stats.UTXOCount() || len(unspent) < 100 {
		t.Fatalf("mempool.js lists %d outputs, the Reader %d (counters %d)", len(got.UTXOs), len(unspent), stats.UTXOCount())
	}
	var sum int64
	for i, u := range unspent {
		g := got.UTXOs[i]
		h, err := v.Reader.Header(u.Height)
		if err != nil {
			t.Fatal(err)
		}
		w := query.UTXO{TxID: u.Outpoint.Hash.String(), Vout: u.Outpoint.Index, Value: u.Value,
			Status: query.Status{Confirmed: true, BlockHeight: u.Height, BlockHash: h.BlockHash().String(), BlockTime: h.Timestamp.Unix()}}
		if g != w {
			t.Fatalf("mempool.js output %d: %+v, the Reader's %+v", i, g, w)
		}
		sum += u.Value
	}
	if uint64(sum) != stats.Balance() {
		t.Fatalf("outputs sum to %d, balance %d", sum, stats.Balance())
	}
	t.Logf("%s@%s read tip %d and %d outputs (%d sat) of %s", mempoolJSPackage, mempoolJSVersion,
		got.TipHeight, len(got.UTXOs), sum, ha.addr)
	if got.BadAddress.Status != http.StatusBadRequest || got.BadAddress.Body != msgBase58 {
		t.Fatalf("mempool.js bad address: %+v", got.BadAddress)
	}

	// Block transactions and spends, as the library parsed them.
	b := c.Blocks[height]
	if len(got.BlockTxids) != len(b.Transactions) || len(got.BlockTxs) != min(txsPerPage, len(b.Transactions)) ||
		len(got.BlockTxsDefault) != len(got.BlockTxs) {
		t.Fatalf("mempool.js block %d: %d txids, %d and %d transactions", height, len(got.BlockTxids), len(got.BlockTxs),
			len(got.BlockTxsDefault))
	}
	outs, _ := walkChain(c.Blocks)
	for i := range got.BlockTxs {
		if got.BlockTxids[i] != b.Transactions[i].TxHash().String() || got.BlockTxs[i].TxID != got.BlockTxids[i] ||
			got.BlockTxsDefault[i].TxID != got.BlockTxids[i] {
			t.Fatalf("mempool.js block %d: transaction %d", height, i)
		}
		checkTxValue(t, &got.BlockTxs[i], b.Transactions[i], height, b, outs, true)
	}
	tipHeight := c.Tip()
	if o := got.Outspend; !o.Spent || o.TxID != spender.TxHash().String() || o.Vin == nil || *o.Vin != 0 ||
		o.Status == nil || *o.Status.BlockHeight != tipHeight {
		t.Fatalf("mempool.js outspend of %s: %+v", spent, o)
	}
	if got.Unspent.Spent || got.Unspent.Status != nil {
		t.Fatalf("mempool.js outspend of an unspent output: %+v", got.Unspent)
	}
	if u := got.UnknownSpend; u.Status != http.StatusNotFound || !strings.HasPrefix(u.Body, "Spend not known: ") {
		t.Fatalf("mempool.js outspend of an unknown output: %+v", u)
	}
}

// installMempoolJS returns an npm prefix holding the pinned mempool.js,
// installing it on first use under the user's cache directory
// ($HOME/.cache/satnode-npm/mempool.js-<version>), which later runs reuse.
func installMempoolJS(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the npm install of %s: %v", mempoolJSPackage, err)
	}
	dir := filepath.Join(cache, "satnode-npm", "mempool.js-"+mempoolJSVersion)
	if installedVersion(dir) == mempoolJSVersion {
		return dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm not found in PATH (%v): TestMempoolJS installs %s@%s from the npm registry; install Node.js and npm",
			err, mempoolJSPackage, mempoolJSVersion)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Install beside the final place and rename, so that an interrupted
	// install or a concurrent test run never leaves a half-filled cache
	// that later runs would take as installed.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "mempool.js-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), npmInstallTimeout)
	defer cancel()
	// --ignore-scripts: nothing in the package needs install scripts,
	// and the test has no reason to run any.
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--ignore-scripts",
		mempoolJSPackage+"@"+mempoolJSVersion)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm install %s@%s failed (is the npm registry reachable?): %v (context: %v)\n%s",
			mempoolJSPackage, mempoolJSVersion, err, ctx.Err(), tail(out, 4000))
	}
	if v := installedVersion(tmp); v != mempoolJSVersion {
		t.Fatalf("npm install %s@%s left version %q\n%s", mempoolJSPackage, mempoolJSVersion, v, tail(out, 4000))
	}
	if v := installedVersion(dir); v != "" && v != mempoolJSVersion {
		// A broken or foreign install in the way: replace it.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another run may have finished first; its install is as good.
		if installedVersion(dir) != mempoolJSVersion {
			t.Fatalf("caching the npm install in %s: %v", dir, err)
		}
	}
	return dir
}

// installedVersion is the version of mempool.js installed under prefix,
// or "" if none is.
func installedVersion(prefix string) string {
	raw, err := os.ReadFile(filepath.Join(prefix, "node_modules", "@mempool", "mempool.js", "package.json"))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("unreadable: %v", err)
		}
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(raw, &pkg) != nil {
		return "unparsable package.json"
	}
	return pkg.Version
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
