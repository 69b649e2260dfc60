package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	cmtcfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/blkfile"
)

// TestInitCmd: satnode init writes a home whose config and genesis load,
// prints what it made, and refuses bad input and an existing home.
func TestInitCmd(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	out := mustRun(t, "init", "--home", home, "--chain-id", "c-1", "--moniker", "m", "--network", "regtest")
	var info node.HomeInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Operator == "" || info.NodeID == "" {
		t.Fatalf("output %q: %v", out, err)
	}
	if _, err := node.LoadCometConfig(home); err != nil {
		t.Fatal(err)
	}
	if _, err := node.LoadAppConfig(home); err != nil {
		t.Fatal(err)
	}
	if _, g, err := node.ReadGenesis(filepath.Join(home, "config", "genesis.json")); err != nil || g.Network != "regtest" {
		t.Fatalf("genesis: %v", err)
	}
	keys := mustRun(t, "keys", "list", "--home", home)
	for _, k := range []string{"operator", "endorser", "synchronizer"} {
		if !strings.Contains(keys, `"name": "`+k+`"`) {
			t.Fatalf("keys list lacks %s:\n%s", k, keys)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", "--home", home, "--chain-id", "c-1", "--moniker", "m", "--network", "regtest"}, "already initialized"},
		{[]string{"init", "--home", t.TempDir(), "--moniker", "m", "--network", "regtest"}, `required flag(s) "chain-id"`},
		{[]string{"init", "--home", t.TempDir(), "--chain-id", "c", "--moniker", "m", "--network", "nonet"}, "unknown network"},
		{[]string{"init", "--home", t.TempDir(), "--chain-id", "c", "--moniker", "m", "--network", "regtest", "extra"}, "unknown command"},
		{[]string{"testnet", "--validators", "0", "--output", t.TempDir()}, "0 validators"},
		{[]string{"testnet", "--validators", "x", "--output", t.TempDir()}, "invalid argument"},
		{[]string{"testnet", "--validators", "2"}, `required flag(s) "output"`},
		{[]string{"start", "--home", t.TempDir()}, "satnode init"},
	} {
		if _, err := satnode(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("satnode %s: got %v, want an error mentioning %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestTestnetCmd: satnode testnet writes N homes with one genesis and
// distinct local ports.
func TestTestnetCmd(t *testing.T) {
	outDir := t.TempDir()
	out := mustRun(t, "testnet", "--validators", "3", "--output", outDir, "--starting-port", "0")
	var infos []node.HomeInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) != 3 {
		t.Fatalf("output %q: %v", out, err)
	}
	seen := map[string]bool{}
	var genesis string
	for i, info := range infos {
		for _, a := range []string{info.P2PAddr, info.RPCAddr} {
			if seen[a] || !strings.HasPrefix(a, "tcp://127.0.0.1:") {
				t.Fatalf("address %s", a)
			}
			seen[a] = true
		}
		g, err := os.ReadFile(filepath.Join(outDir, "node"+strconv.Itoa(i), "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if genesis == "" {
			genesis = string(g)
		} else if string(g) != genesis {
			t.Fatal("genesis differs between homes")
		}
	}
}

// btcChain is a generated regtest chain: its blk directory, its headers
// and hashes from height 1, and the UTXO set at its tip as the offline
// importer computes it (the reference for the chain's own result).
type btcChain struct {
	dir     string
	headers []string // hex, height 1 first
	hashes  []string // as Bitcoin Core prints them, height 1 first
	// coinbases are the coinbase txids, height 1 first.
	coinbases []string
	muhash    string
	// imported is a home holding the chain imported offline.
	imported string
}

func genChain(t *testing.T, blocks int) *btcChain {
	t.Helper()
	c := &btcChain{dir: filepath.Join(t.TempDir(), "blocks")}
	mustRun(t, "gen", "--out", c.dir, "--blocks", strconv.Itoa(blocks), "--txs-per-block", "5")
	ix, err := blkfile.Scan(context.Background(), &chaincfg.RegressionNetParams, []string{c.dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ix.BestChain()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ch.Blocks(context.Background(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
		c.headers = append(c.headers, hex.EncodeToString(s.Block().Raw[:80]))
		c.hashes = append(c.hashes, s.Block().Hash.String())
		var mb wire.MsgBlock
		if err := mb.Deserialize(bytes.NewReader(s.Block().Raw)); err != nil {
			t.Fatal(err)
		}
		c.coinbases = append(c.coinbases, mb.Transactions[0].TxHash().String())
	}
	s.Close()
	if err := s.Err(); err != nil || len(c.hashes) != blocks {
		t.Fatalf("read %d blocks: %v", len(c.hashes), err)
	}
	imp := t.TempDir()
	mustRun(t, "import", "--home", imp, "--network", "regtest", c.dir)
	c.imported = imp
	var info struct {
		Height    int32
		BestBlock string
		MuHash    string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "utxo", "info", "--home", imp)), &info); err != nil {
		t.Fatal(err)
	}
	if info.BestBlock != c.hashes[blocks-1] {
		t.Fatalf("import tip %s, chain tip %s", info.BestBlock, c.hashes[blocks-1])
	}
	c.muhash = info.MuHash
	return c
}

// useBodies points home's app.toml at the chain's blk files.
func (c *btcChain) useBodies(t *testing.T, home string) {
	t.Helper()
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ac.UTXO.CacheMB = 16
	ac.Bodies.Sources = []string{c.dir}
	if err := node.WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
}

// endorsements are HEIGHT:HASH arguments for every block.
func (c *btcChain) endorsements() []string {
	out := make([]string, len(c.hashes))
	for i, h := range c.hashes {
		out[i] = strconv.Itoa(i+1) + ":" + h
	}
	return out
}

type btcTip struct {
	Height int32
	Hash   string
	MuHash string
}

func queryTip(t *testing.T, rpc string) btcTip {
	t.Helper()
	var tip btcTip
	out, err := satnode(t, "query", "btc-tip", "--node", rpc)
	if err != nil {
		return btcTip{Height: -1}
	}
	if err := json.Unmarshal([]byte(out), &tip); err != nil {
		t.Fatalf("btc-tip %q: %v", out, err)
	}
	return tip
}

// rpcClient returns a CometBFT RPC client of addr.
func rpcClient(t *testing.T, addr string) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(addr, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// height returns the node's latest height, or -1 if it does not answer.
func height(c *rpchttp.HTTP) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return -1
	}
	return st.SyncInfo.LatestBlockHeight
}

// waitFor polls cond every 100ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a node's log from its goroutines.
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

// startInProcess runs `satnode start` in this process until the test ends.
func startInProcess(t *testing.T, home string) *lockedBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetOut(logs)
		root.SetErr(logs)
		root.SetArgs([]string{"start", "--home", home, "--log-level", "warn"})
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("satnode start: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("satnode start did not stop")
		}
	})
	return logs
}

// TestTxRoundTrip runs a one-validator chain in process and drives it with
// the CLI: a transfer moves the balance and bumps the nonce, a reused nonce
// and an overdraft fail with their code names, and bad arguments are
// refused before anything is sent.
func TestTxRoundTrip(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(freePort(t))
	mustRun(t, "init", "--home", home, "--chain-id", "satnode-tx-test", "--moniker", "solo", "--network", "regtest",
		"--p2p-laddr", "tcp://127.0.0.1:"+strconv.Itoa(freePort(t)), "--rpc-laddr", rpc,
		"--api-laddr", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	cfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.TimeoutCommit = 200 * time.Millisecond
	// Without peers PEX has nothing to do, and CometBFT's address book
	// saves itself from a goroutine after the node stopped, racing the
	// removal of the test's directory.
	cfg.P2P.PexReactor = false
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	btc := genChain(t, 110)
	btc.useBodies(t, home)
	logs := startInProcess(t, home)
	c := rpcClient(t, rpc)
	waitFor(t, 30*time.Second, "the first block", func() bool { return height(c) >= 1 })

	type account struct {
		Address string
		Balance uint64
		Nonce   uint64
	}
	query := func(who string) account {
		t.Helper()
		var a account
		out := mustRun(t, "query", "account", who, "--home", home, "--node", rpc)
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("query account %s: %q: %v", who, out, err)
		}
		return a
	}
	opBefore, enBefore := query("operator"), query("endorser")
	if opBefore.Balance != node.GenesisBalance || opBefore.Nonce != 0 {
		t.Fatalf("operator at genesis: %+v", opBefore)
	}
	out := mustRun(t, "tx", "transfer", enBefore.Address, "12345", "--from", "operator", "--home", home, "--node", rpc)
	var res struct {
		Hash     string
		Height   int64
		Code     uint32
		CodeName string `json:"code_name"`
		Nonce    uint64
		Fee      uint64
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Code != 0 || res.CodeName != "OK" || res.Height < 1 ||
		len(res.Hash) != 64 || res.Nonce != 1 || res.Fee == 0 {
		t.Fatalf("tx transfer: %q %v", out, err)
	}
	// The fee follows the default schedule: 1,000 + 10 per byte.
	b, err := c.Block(context.Background(), &res.Height)
	if err != nil || len(b.Block.Txs) != 1 || !strings.EqualFold(hex.EncodeToString(b.Block.Txs[0].Hash()), res.Hash) {
		t.Fatalf("block %d: %v %v", res.Height, b, err)
	}
	if want := uint64(1000 + 10*len(b.Block.Txs[0])); res.Fee != want {
		t.Fatalf("fee %d, want %d", res.Fee, want)
	}
	op, en := query("operator"), query(enBefore.Address)
	if op.Balance != opBefore.Balance-12345-res.Fee || op.Nonce != 1 || en.Balance != enBefore.Balance+12345 || en.Nonce != 0 {
		t.Fatalf("after the transfer: operator %+v, endorser %+v", op, en)
	}

	// A used nonce is refused by CheckTx, with the code's name.
	_, err = satnode(t, "tx", "transfer", "endorser", "1", "--from", "operator", "--nonce", "1", "--home", home, "--node", rpc)
	if err == nil || !strings.Contains(err.Error(), "BadNonce") || !strings.Contains(err.Error(), "CheckTx") {
		t.Fatalf("reused nonce: %v", err)
	}
	// A nonce beyond the mempool's window is refused by CheckTx.
	_, err = satnode(t, "tx", "transfer", "endorser", "1", "--from", "operator", "--nonce", "999999", "--home", home, "--node", rpc)
	if err == nil || !strings.Contains(err.Error(), "NonceGap") || !strings.Contains(err.Error(), "CheckTx") {
		t.Fatalf("future nonce: %v", err)
	}
	// An overdraft gets into a block and fails there; it uses its nonce
	// and pays its fee.
	out, err = satnode(t, "tx", "transfer", "operator", strconv.FormatUint(2*node.GenesisBalance, 10), "--from", "endorser",
		"--home", home, "--node", rpc)
	if err == nil || !strings.Contains(err.Error(), "InsufficientBalance") || !strings.Contains(err.Error(), "FinalizeBlock") {
		t.Fatalf("overdraft: %v (%q)", err, out)
	}
	var fee uint64
	if i := strings.Index(err.Error(), "(fee "); i < 0 {
		t.Fatalf("overdraft: no fee in %v", err)
	} else if _, serr := fmt.Sscanf(err.Error()[i:], "(fee %d paid)", &fee); serr != nil || fee == 0 {
		t.Fatalf("overdraft: fee in %v: %v", err, serr)
	}
	if en := query("endorser"); en.Nonce != 1 || en.Balance != enBefore.Balance+12345-fee {
		t.Fatalf("after the overdraft (fee %d): %+v", fee, en)
	}
	// Queries: an unknown account names its code; the lists are JSON.
	mustRun(t, "keys", "add", "stranger", "--home", home)
	if _, err := satnode(t, "query", "account", "stranger", "--home", home, "--node", rpc); err == nil ||
		!strings.Contains(err.Error(), "UnknownAccount") {
		t.Fatalf("unknown account: %v", err)
	}
	for _, q := range []string{"validators", "synchronizers", "btc-tip", "endorsements"} {
		out := mustRun(t, "query", q, "--node", rpc)
		if !json.Valid([]byte(out)) {
			t.Fatalf("query %s: %q", q, out)
		}
	}
	if out := mustRun(t, "query", "validators", "--node", rpc); !strings.Contains(out, `"moniker": "solo"`) {
		t.Fatalf("validators: %s", out)
	}

	// The Bitcoin pipeline: the synchronizer submits the headers (from a
	// file), the only validator's endorser endorses them, and the node
	// applies the bodies from bodies.sources: its UTXO set at the tip is
	// the offline importer's.
	syncBefore := query("synchronizer")
	hf := filepath.Join(t.TempDir(), "headers.txt")
	if err := os.WriteFile(hf, []byte("# regtest 1..110\n"+strings.Join(btc.headers, "\n")+"\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "tx", "submit-headers", "--file", hf, "--from", "synchronizer", "--home", home, "--node", rpc)
	if tip := queryTip(t, rpc); tip.Height != 0 {
		t.Fatalf("headers alone moved the UTXO tip: %+v", tip)
	}
	mustRun(t, append([]string{"tx", "endorse", "--from", "endorser", "--home", home, "--node", rpc}, btc.endorsements()...)...)
	waitFor(t, 30*time.Second, "the endorsed blocks to be applied", func() bool { return queryTip(t, rpc).Height == 110 })
	if tip := queryTip(t, rpc); tip.Hash != btc.hashes[109] || tip.MuHash != btc.muhash {
		t.Fatalf("btc-tip %+v; want %s with the importer's muhash %s", tip, btc.hashes[109], btc.muhash)
	}
	if after := query("synchronizer"); after.Balance <= syncBefore.Balance {
		t.Errorf("the synchronizer earned nothing for 110 headers: %d -> %d", syncBefore.Balance, after.Balance)
	}
	// Headers from an account that is not a synchronizer fail in the
	// block, with the code's name.
	if _, err := satnode(t, "tx", "submit-headers", btc.headers[0], "--from", "operator", "--home", home, "--node", rpc); err == nil ||
		!strings.Contains(err.Error(), "UnregisteredSynchronizer") {
		t.Errorf("headers from a non-synchronizer: %v", err)
	}

	// Bad input: refused with a message, nothing sent, never a panic.
	tip := height(c)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "transfer", "nobody", "5", "--from", "operator"}, "neither an address"},
		{[]string{"tx", "transfer", "endorser", "-5", "--from", "operator"}, "unknown shorthand flag"},
		{[]string{"tx", "transfer", "endorser", "0", "--from", "operator"}, "positive integer"},
		{[]string{"tx", "transfer", "endorser", "99999999999999999999", "--from", "operator"}, "positive integer"},
		{[]string{"tx", "transfer", "sat1qqqq", "5", "--from", "operator"}, "InvalidAddress"},
		{[]string{"tx", "transfer", "endorser", "5"}, `required flag(s) "from"`},
		{[]string{"tx", "transfer", "endorser", "5", "--from", "nokey"}, "no key"},
		{[]string{"tx", "transfer", "endorser", "--from", "operator"}, "accepts 2 arg(s)"},
		{[]string{"tx", "endorse", "5:zz", "--from", "endorser"}, "64 hex digits"},
		{[]string{"tx", "endorse", "x:" + strings.Repeat("0", 64), "--from", "endorser"}, "HEIGHT:HASH"},
		{[]string{"tx", "endorse", "5:" + strings.Repeat("0", 64), "5:" + strings.Repeat("1", 64), "--from", "endorser"}, "two endorsements"},
		{[]string{"tx", "submit-headers", "--from", "synchronizer"}, "no headers"},
		{[]string{"tx", "submit-headers", "abcd", "--from", "synchronizer"}, "header 1"},
		{[]string{"tx", "submit-headers", "--file", "/nonexistent", "--from", "synchronizer"}, "no such file"},
		{[]string{"tx", "create-validator", "--self-stake", "5", "--from", "operator"}, `required flag(s) "moniker"`},
		{[]string{"tx", "create-validator", "--moniker", "x", "--from", "operator"}, "--self-stake"},
		{[]string{"tx", "create-validator", "--moniker", "x", "--self-stake", "5", "--consensus-key", "zz", "--from", "operator"}, "64 hex digits"},
		{[]string{"tx", "create-validator", "--moniker", "x\x01", "--self-stake", "5", "--from", "operator"}, "InvalidMoniker"},
		{[]string{"tx", "create-validator", "--moniker", "x", "--self-stake", "5", "--commission-bps", "10001", "--from", "operator"}, "InvalidCommission"},
		{[]string{"tx", "delegate", "endorser", "x", "--from", "operator"}, "positive integer"},
		{[]string{"tx", "register-synchronizer", "0", "--from", "operator"}, "positive integer"},
		{[]string{"tx", "withdraw-rewards", "--from", "operator"}, "accepts 1 arg(s)"},
		{[]string{"tx", "unjail", "extra", "--from", "operator"}, "unknown command"},
		{[]string{"tx", "transfer", "endorser", "5", "--from", "operator", "--node", "tcp://127.0.0.1:1"}, "connection refused"},
		{[]string{"query", "account", "sat1xyz"}, "InvalidAddress"},
		{[]string{"query", "btc-tip", "--node", "::"}, "node address"},
	} {
		args := append(tc.args, "--home", home)
		if !strings.Contains(strings.Join(tc.args, " "), "--node") {
			args = append(args, "--node", rpc)
		}
		if _, err := satnode(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("satnode %s: got %v, want an error mentioning %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if n := query("operator").Nonce; n != 2 {
		t.Fatalf("bad input changed the operator's nonce to %d", n)
	}
	if height(c) < tip {
		t.Fatal("the node went backwards")
	}
	if t.Failed() {
		t.Logf("node log:\n%s", logs.String())
	}
}
