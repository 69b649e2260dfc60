package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/query"
)

// satnode runs the command line in-process and returns its output.
func satnode(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--log-level", "error"))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := satnode(t, args...)
	if err != nil {
		t.Fatalf("satnode %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestCLIMainnet imports the mainnet fixture with the import command and
// checks the query commands against the store: gettxoutsetinfo's shape and
// values at the tip and at past heights, gettxout, and the errors.
func TestCLIMainnet(t *testing.T) {
	home := t.TempDir()
	mustRun(t, "import", "--home", home, "--network", "mainnet", writeMainnetBlk(t))

	info := mustRun(t, "utxo", "info", "--home", home)
	// Core's field order and amount format.
	if !strings.HasPrefix(info, "{\n  \"height\": 14131,\n  \"bestblock\": \"00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c\",\n  \"txouts\": 13416,") {
		t.Fatalf("utxo info:\n%s", info)
	}
	if !strings.Contains(info, `"total_amount": 706550.00000000,`) || !strings.Contains(info, `"genesis_block": 0.00000000,`) {
		t.Fatalf("utxo info amounts:\n%s", info)
	}

	s, err := leveldbstore.Open(filepath.Join(home, "data", "satnode"), leveldbstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r := utxo.NewReader(s)
	for _, h := range []int32{0, 1, 170, 546, 9999, 14130} {
		out := mustRun(t, "utxo", "info", "--home", home, "--height", itoa(h))
		var got query.TxOutSetInfo
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		want, err := query.GetTxOutSetInfo(r, h)
		if err != nil {
			t.Fatal(err)
		}
		if got != *want {
			t.Fatalf("height %d: command says %+v, store says %+v", h, got, *want)
		}
	}
	s.Close()

	// The first bitcoin payment: 10 BTC to Hal Finney's key, unspent at 14131.
	got := mustRun(t, "utxo", "get", "--home", home, "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0")
	var txout query.TxOut
	if err := json.Unmarshal([]byte(got), &txout); err != nil {
		t.Fatal(err)
	}
	if txout.Value != 10*1e8 || txout.Confirmations != 13962 || txout.ScriptPubKey.Type != "pubkey" || txout.Coinbase {
		t.Fatalf("utxo get: %+v", txout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"utxo", "get", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"}, "not in the UTXO set"},
		{[]string{"utxo", "get", "f4184f:0"}, "64 hex digits"},
		{[]string{"utxo", "get", "nonsense"}, "TXID:VOUT"},
		{[]string{"utxo", "info", "--height", "20000"}, "no block at height 20000 (the tip is 14131)"},
		{[]string{"utxo", "info", "--height", "-2"}, "--height -2: want a height (0 or more), or -1 for the tip"},
		{[]string{"utxo", "address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}, "not a mainnet address"},
		{[]string{"utxo", "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}, ""},
		{[]string{"utxo", "scripthash", "abcd"}, "64 hex digits"},
	} {
		out, err := satnode(t, append(c.args, "--home", home)...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: got %v (%s), want an error containing %q", c.args, err, out, c.want)
		}
	}
	if _, err := satnode(t, "utxo", "info", "--home", t.TempDir()); err == nil || !strings.Contains(err.Error(), "satnode import") {
		t.Errorf("query of an empty home: %v", err)
	}
}

// TestCLIGenerateImportAddress generates a regtest chain with the gen
// command, imports it, and pages through the unspent outputs of the
// generator's hot address: the pages must partition the address's set and
// add up to the balance the counters report, and the scripthash command
// must agree with the address command.
func TestCLIGenerateImportAddress(t *testing.T) {
	chainDir := filepath.Join(t.TempDir(), "chain")
	mustRun(t, "gen", "--out", chainDir, "--blocks", "460", "--txs-per-block", "30")
	home := t.TempDir()
	mustRun(t, "import", "--home", home, "--network", "regtest", chainDir)

	cfg := chaingen.DefaultConfig()
	hot := cfg.Hot[0]
	scripts, err := chaingen.ScriptsFor(cfg.Seed, hot.KeyIndex, hot.Type)
	if err != nil {
		t.Fatal(err)
	}
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(scripts.PkScript, &chaincfg.RegressionNetParams)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("hot address: %v %v", addrs, err)
	}
	addr := addrs[0].(btcutil.Address).EncodeAddress()

	var all []query.UTXO
	var first query.ScriptHashInfo
	after := ""
	for page := 0; ; page++ {
		args := []string{"utxo", "address", "--home", home, addr, "--limit", "7"}
		if after != "" {
			args = append(args, "--after", after)
		}
		var info query.ScriptHashInfo
		if err := json.Unmarshal([]byte(mustRun(t, args...)), &info); err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			first = info
		}
		if len(info.UTXOs) > 7 {
			t.Fatalf("page of %d", len(info.UTXOs))
		}
		all = append(all, info.UTXOs...)
		if info.Next == "" {
			break
		}
		after = info.Next
	}
	var sum int64
	seen := map[string]bool{}
	for _, u := range all {
		k := u.TxID + ":" + itoa(int32(u.Vout))
		if seen[k] {
			t.Fatalf("%s listed twice", k)
		}
		seen[k] = true
		sum += u.Value
		if !u.Status.Confirmed || u.Status.BlockHash == "" {
			t.Fatalf("status of %s: %+v", k, u.Status)
		}
	}
	st := first.ChainStats
	if uint64(len(all)) != st.FundedTxoCount-st.SpentTxoCount || sum != first.Balance || len(all) < 10 {
		t.Fatalf("%d outputs summing to %d; counters say %d outputs, balance %d", len(all), sum,
			st.FundedTxoCount-st.SpentTxoCount, first.Balance)
	}
	sh := query.ScriptHashOf(scripts.PkScript)
	byHash := mustRun(t, "utxo", "scripthash", "--home", home, hex.EncodeToString(sh[:]), "--limit", "7")
	var info query.ScriptHashInfo
	if err := json.Unmarshal([]byte(byHash), &info); err != nil {
		t.Fatal(err)
	}
	info.Address = first.Address
	a, _ := json.Marshal(info)
	b, _ := json.Marshal(first)
	if !bytes.Equal(a, b) {
		t.Fatalf("scripthash and address answers differ:\n%s\n%s", a, b)
	}
	t.Logf("hot address %s: %d unspent outputs, balance %d sat, %d txs", addr, len(all), sum, st.TxCount)

	// Importing blocks of one network under another is a clear error.
	if _, err := satnode(t, "import", "--home", t.TempDir(), "--network", "mainnet", chainDir); err == nil {
		t.Error("regtest blocks imported as mainnet")
	}
}

func TestCLIVersion(t *testing.T) {
	if out := mustRun(t, "version"); !strings.HasPrefix(out, "satnode ") {
		t.Fatalf("version: %q", out)
	}
}

func itoa(v int32) string {
	b, _ := json.Marshal(v)
	return string(b)
}
