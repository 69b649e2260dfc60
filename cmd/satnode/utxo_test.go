package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/utxo/query"
)

// TestUTXOCmdNode runs a one-validator chain in process that applies a
// generated chain of 110 blocks, and asks it with `satnode utxo
// info|get|address|scripthash --node`: every answer is the one the same
// commands give from a store that imported the chain offline. The node's
// own store is locked, which the commands say with the --node to use;
// heights above the tip and below -1, bad input and an absent node get
// short errors.
func TestUTXOCmdNode(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(freePort(t))
	mustRun(t, "init", "--home", home, "--chain-id", "satnode-utxo-test", "--moniker", "solo", "--network", "regtest",
		"--p2p-laddr", "tcp://127.0.0.1:"+strconv.Itoa(freePort(t)), "--rpc-laddr", rpc,
		"--api-laddr", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	cfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.TimeoutCommit = 200 * time.Millisecond
	cfg.P2P.PexReactor = false // see TestTxRoundTrip
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	btc := genChain(t, 110)
	btc.useBodies(t, home)
	logs := startInProcess(t, home)
	c := rpcClient(t, rpc)
	waitFor(t, 30*time.Second, "the first block", func() bool { return height(c) >= 1 })
	hf := filepath.Join(t.TempDir(), "headers.txt")
	if err := os.WriteFile(hf, []byte(strings.Join(btc.headers, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "tx", "submit-headers", "--file", hf, "--from", "synchronizer", "--home", home, "--node", rpc)
	mustRun(t, append([]string{"tx", "endorse", "--from", "endorser", "--home", home, "--node", rpc}, btc.endorsements()...)...)
	waitFor(t, 30*time.Second, "the endorsed blocks to be applied", func() bool { return queryTip(t, rpc).Height == 110 })
	defer func() {
		if t.Failed() {
			t.Logf("node log:\n%s", logs.String())
		}
	}()

	// The same answers as the offline store's, about an address that a
	// young coinbase pays and that has more coins than that.
	var coin query.TxOut
	var sh query.ScriptHashInfo
	for i := 109; sh.Next == ""; i-- {
		if i < 0 {
			t.Fatal("no coinbase pays an address with more than one coin")
		}
		out, err := satnode(t, "utxo", "get", btc.coinbases[i]+":0", "--home", btc.imported)
		if err != nil {
			continue // spent
		}
		if err := json.Unmarshal([]byte(out), &coin); err != nil {
			t.Fatal(err)
		}
		if coin.ScriptPubKey.Address == "" {
			continue
		}
		page := mustRun(t, "utxo", "address", coin.ScriptPubKey.Address, "--limit", "1", "--home", btc.imported)
		if err := json.Unmarshal([]byte(page), &sh); err != nil {
			t.Fatal(err)
		}
	}
	same := [][]string{
		{"utxo", "info"},
		{"utxo", "info", "--height", "-1"},
		{"utxo", "info", "--height", "0"},
		{"utxo", "info", "--height", "57"},
		{"utxo", "get", btc.coinbases[109] + ":0"},
		{"utxo", "get", sh.Next},
		{"utxo", "get", btc.coinbases[5] + ":0"},
		{"utxo", "get", btc.coinbases[109] + ":1"}, // never existed: the same error
		{"utxo", "address", coin.ScriptPubKey.Address},
		{"utxo", "address", coin.ScriptPubKey.Address, "--limit", "1"},
		{"utxo", "address", coin.ScriptPubKey.Address, "--limit", "1", "--after", sh.Next},
		{"utxo", "scripthash", sh.ScriptHash, "--limit", "2"},
		{"utxo", "scripthash", strings.Repeat("ab", 32)}, // no coins
	}
	for _, args := range same {
		want, werr := satnode(t, append(args, "--home", btc.imported)...)
		got, gerr := satnode(t, append(args, "--node", rpc)...)
		if got != want || (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Errorf("%s: --node says %v\n%s\n--home of the imported chain says %v\n%s", strings.Join(args, " "), gerr, got, werr, want)
		}
	}

	// Errors: short, and saying what to do.
	mustRun(t, "keys", "add", "stranger", "--home", home)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"utxo", "get", btc.coinbases[109] + ":0", "--home", home}, "the store in " + home + " is in use by a running node: use --node " + rpc},
		{[]string{"utxo", "info", "--home", home}, "the store in " + home + " is in use by a running node: use --node " + rpc},
		{[]string{"utxo", "info", "--height", "100000", "--node", rpc}, "no block at height 100000 (the tip is 110)"},
		{[]string{"utxo", "info", "--height", "100000", "--home", btc.imported}, "no block at height 100000 (the tip is 110)"},
		{[]string{"utxo", "info", "--height", "111", "--node", rpc}, "no block at height 111 (the tip is 110)"},
		{[]string{"utxo", "info", "--height", "-2", "--node", rpc}, "--height -2: want a height (0 or more), or -1 for the tip"},
		{[]string{"utxo", "info", "--height", "-5", "--home", btc.imported}, "--height -5: want a height (0 or more), or -1 for the tip"},
		{[]string{"utxo", "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "--node", rpc}, "code 30 (InvalidAddress): address"},
		{[]string{"utxo", "address", coin.ScriptPubKey.Address, "--limit", "1001", "--node", rpc}, `code 1 (Malformed): limit "1001": want 1..1000`},
		{[]string{"utxo", "address", coin.ScriptPubKey.Address, "--limit", "0", "--node", rpc}, "--limit 0: want 1 or more"},
		{[]string{"utxo", "get", "nonsense", "--node", rpc}, `outpoint "nonsense" is not TXID:VOUT`},
		{[]string{"utxo", "scripthash", "abcd", "--node", rpc}, `script hash "abcd" is not 64 hex digits`},
		{[]string{"utxo", "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "--home", btc.imported}, `address "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"`},
		{[]string{"utxo", "address", coin.ScriptPubKey.Address, "--after", "x", "--node", rpc}, `--after: outpoint "x" is not TXID:VOUT`},
		{[]string{"utxo", "info", "--node", "tcp://127.0.0.1:1"}, "no node answers at tcp://127.0.0.1:1 (connection refused)"},
		{[]string{"utxo", "get", btc.coinbases[109] + ":0", "--node", "tcp://127.0.0.1:1"}, "no node answers at tcp://127.0.0.1:1 (connection refused)"},
		{[]string{"query", "account", "stranger", "--home", home, "--node", rpc}, "code 7 (UnknownAccount): no account"},
	} {
		_, err := satnode(t, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("satnode %s: got %v, want an error starting %q", strings.Join(tc.args, " "), err, tc.want)
			continue
		}
		// No chain of prefixes: the client's, the application's code
		// name twice, the query package's.
		for _, chain := range []string{"client:", "tx: ", "query:", "utxo:", "leveldb"} {
			if strings.Contains(err.Error(), chain) {
				t.Errorf("satnode %s: %q has %q in it", strings.Join(tc.args, " "), err, chain)
			}
		}
	}
}

// TestUTXOHeightHelp: --height says once what its default is.
func TestUTXOHeightHelp(t *testing.T) {
	out := mustRun(t, "utxo", "info", "--help")
	i := strings.Index(out, "--height")
	if i < 0 {
		t.Fatalf("no --height in:\n%s", out)
	}
	line, _, _ := strings.Cut(out[i:], "\n")
	if strings.Count(line, "default") != 1 || !strings.Contains(line, "-1 is the tip") || !strings.HasSuffix(line, "(default -1)") {
		t.Fatalf("--height help: %q", line)
	}
	for _, sub := range []string{"info", "get", "address", "scripthash"} {
		if out := mustRun(t, "utxo", sub, "--help"); !strings.Contains(out, "--node string") {
			t.Errorf("utxo %s takes no --node:\n%s", sub, out)
		}
	}
}
