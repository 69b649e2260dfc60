package core

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/btcnode/btcdtest"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestRealClients is the compatibility test: the same chaingen chain is
// submitted to a real btcd regtest node and connected into a satnode
// store, and btcd's own client library (rpcclient) and command-line client
// (btcctl), unchanged, ask both the same questions. Where btcd answers, the
// answers must be the same; where btcd has no answer (gettxoutsetinfo,
// scantxoutset) satnode's must agree with the chain itself.
//
// Known differences, by design, which the comparisons leave out:
//   - getblockheader of the genesis block: btcd gives previousblockhash
//     "000…000", Core (and satnode) leave the field out.
//   - gettxout: btcd also fills the deprecated reqSigs and addresses,
//     which Core ≥ 22 dropped for "address" (which both fill the same);
//     satnode adds Core's "desc", which btcjson does not decode.
//   - getblockchaininfo: btcd answers "headers" = "blocks" and no
//     chainwork; satnode gives Core's chainwork, checked against the
//     chain's summed work.
//   - getblock and getrawtransaction: see btcd_block_test.go (btcd needs
//     no block hash, having a transaction index; satnode follows Core's
//     scriptSig asm and coinbase witness).
func TestRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()

	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 200
	// Coinbases only until maturity at 100; then enough transactions per
	// block for getrawtransaction to compare well over a thousand.
	cfg.PreActivationTxsPerBlock = 12
	c := rpctest.New(t, cfg, 200)
	tip := c.Tip()
	// A transaction index, so that btcd answers getrawtransaction for
	// confirmed transactions as satnode does given their block.
	node := btcdtest.Start(t, btcdtest.Options{ExtraArgs: []string{"--txindex"}})
	for h := 1; h <= int(tip); h++ { // btcd already has the genesis block
		raw, err := btcutil.NewBlock(c.Blocks[h]).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if err := node.SubmitBlock(ctx, raw); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
	}
	node.WaitTip(t, c.Blocks[tip].BlockHash(), 30*time.Second)
	t.Logf("chain of %d blocks in btcd and satnode after %v", tip, time.Since(start).Round(time.Millisecond))

	views := withWork(t, c)
	srv := serveLoopback(t, New(views, Options{Bodies: c.Bodies}))
	sat := newClient(t, srv, node.User, node.Password)
	btcd := newClient(t, node.RPCAddr, node.User, node.Password)

	t.Run("version", func(t *testing.T) {
		v, err := sat.BackendVersion()
		if bv, ok := v.(*rpcclient.BitcoindVersion); err != nil || !ok || *bv != rpcclient.BitcoindPost25 {
			t.Fatalf("rpcclient takes satnode for %v (%v), want a post-25 bitcoind", v, err)
		}
		ni, err := sat.GetNetworkInfo()
		if err != nil || ni.Version != coreVersion || ni.SubVersion != coreSubversion || ni.Warnings != "" {
			t.Fatalf("getnetworkinfo: %+v %v", ni, err)
		}
	})
	t.Run("counts and hashes", func(t *testing.T) {
		n1, err1 := sat.GetBlockCount()
		n2, err2 := btcd.GetBlockCount()
		if err1 != nil || err2 != nil || n1 != n2 || n1 != int64(tip) {
			t.Fatalf("getblockcount: satnode %d %v, btcd %d %v", n1, err1, n2, err2)
		}
		b1, err1 := sat.GetBestBlockHash()
		b2, err2 := btcd.GetBestBlockHash()
		if err1 != nil || err2 != nil || *b1 != *b2 {
			t.Fatalf("getbestblockhash: satnode %v %v, btcd %v %v", b1, err1, b2, err2)
		}
		for _, h := range []int64{0, 1, 17, 99, 100, 101, int64(tip) - 1, int64(tip)} {
			h1, err1 := sat.GetBlockHash(h)
			h2, err2 := btcd.GetBlockHash(h)
			if err1 != nil || err2 != nil || *h1 != *h2 {
				t.Fatalf("getblockhash %d: satnode %v %v, btcd %v %v", h, h1, err1, h2, err2)
			}
		}
		_, err1 = sat.GetBlockHash(int64(tip) + 1)
		_, err2 = btcd.GetBlockHash(int64(tip) + 1)
		if code(err1) != CodeInvalidParameter || err2 == nil {
			t.Fatalf("getblockhash beyond the tip: satnode %v, btcd %v", err1, err2)
		}
	})
	t.Run("getblockheader", func(t *testing.T) {
		for _, h := range []int32{0, 1, 2, 50, 100, 148, tip - 1, tip} {
			hash := c.Blocks[h].BlockHash()
			w1, err1 := sat.GetBlockHeader(&hash)
			w2, err2 := btcd.GetBlockHeader(&hash)
			if err1 != nil || err2 != nil || *w1 != *w2 || *w1 != c.Blocks[h].Header {
				t.Fatalf("getblockheader %d false: satnode %+v %v, btcd %+v %v", h, w1, err1, w2, err2)
			}
			v1, err1 := sat.GetBlockHeaderVerbose(&hash)
			v2, err2 := btcd.GetBlockHeaderVerbose(&hash)
			if err1 != nil || err2 != nil {
				t.Fatalf("getblockheader %d: satnode %v, btcd %v", h, err1, err2)
			}
			if h == 0 {
				v2.PreviousHash = "" // btcd: all zeros; Core leaves it out
			}
			if *v1 != *v2 {
				t.Fatalf("getblockheader %d:\nsatnode %+v\nbtcd    %+v", h, *v1, *v2)
			}
		}
		var missing chainhash.Hash
		missing[0] = 1
		_, err1 := sat.GetBlockHeaderVerbose(&missing)
		_, err2 := btcd.GetBlockHeaderVerbose(&missing)
		if code(err1) != CodeInvalidAddrOrKey || code(err2) != CodeInvalidAddrOrKey {
			t.Fatalf("unknown block: satnode %v, btcd %v", err1, err2)
		}
	})
	t.Run("gettxout", func(t *testing.T) {
		compareTxOuts(t, c, sat, btcd)
	})
	t.Run("getblockchaininfo", func(t *testing.T) {
		i1, err1 := sat.GetBlockChainInfo()
		i2, err2 := btcd.GetBlockChainInfo()
		if err1 != nil || err2 != nil {
			t.Fatalf("getblockchaininfo: satnode %v, btcd %v", err1, err2)
		}
		if i1.Chain != i2.Chain || i1.Blocks != i2.Blocks || i1.Headers != i2.Headers ||
			i1.BestBlockHash != i2.BestBlockHash || i1.Difficulty != i2.Difficulty || i1.MedianTime != i2.MedianTime ||
			i1.Pruned != i2.Pruned {
			t.Fatalf("getblockchaininfo:\nsatnode %+v\nbtcd    %+v", *i1, *i2)
		}
		if want := chainWorkHex(c.Blocks); i1.ChainWork != want || i1.VerificationProgress != 1 || i1.InitialBlockDownload {
			t.Fatalf("getblockchaininfo: chainwork %s progress %v ibd %v, want %s, 1, false",
				i1.ChainWork, i1.VerificationProgress, i1.InitialBlockDownload, want)
		}
	})
	t.Run("gettxoutsetinfo", func(t *testing.T) {
		info, err := sat.GetTxOutSetInfo()
		if err != nil || info.Height != int64(tip) || info.BestBlock != c.Blocks[tip].BlockHash() || info.TxOuts <= 0 ||
			info.TotalAmount <= 0 {
			t.Fatalf("gettxoutsetinfo: %+v %v", info, err)
		}
		if _, err := btcd.GetTxOutSetInfo(); err == nil {
			t.Logf("btcd now answers gettxoutsetinfo; compare it")
		}
		var at struct {
			Height    int32   `json:"height"`
			BestBlock string  `json:"bestblock"`
			TxOuts    int64   `json:"txouts"`
			MuHash    *string `json:"muhash"`
		}
		for _, arg := range []any{100, c.Blocks[100].BlockHash().String()} {
			raw, err := sat.RawRequest("gettxoutsetinfo", rawParams(t, "muhash", arg))
			if err != nil || json.Unmarshal(raw, &at) != nil || at.Height != 100 ||
				at.BestBlock != c.Blocks[100].BlockHash().String() || at.TxOuts <= 0 || at.MuHash == nil {
				t.Fatalf("gettxoutsetinfo muhash %v: %s %v", arg, raw, err)
			}
		}
		at.MuHash = nil
		raw, err := sat.RawRequest("gettxoutsetinfo", rawParams(t, "none"))
		if err != nil || json.Unmarshal(raw, &at) != nil || at.Height != tip || at.MuHash != nil {
			t.Fatalf("gettxoutsetinfo none: %s %v", raw, err)
		}
	})
	t.Run("scantxoutset", func(t *testing.T) {
		compareScan(t, c, sat, btcd)
	})
	t.Run("getblock", func(t *testing.T) {
		compareGetBlock(t, c, sat, btcd)
	})
	t.Run("getrawtransaction", func(t *testing.T) {
		compareGetRawTransaction(t, c, sat, btcd)
	})
	t.Run("btcctl", func(t *testing.T) {
		compareBtcctl(t, c, node, srv)
	})
	t.Logf("done after %v", time.Since(start).Round(time.Millisecond))
}

// serveLoopback serves h on 127.0.0.1 behind the server's body cap and
// returns host:port.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(limited(h, testBodyLimit))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String()
}

func newClient(t *testing.T, host, user, pass string) *rpcclient.Client {
	t.Helper()
	cl, err := rpcclient.New(&rpcclient.ConnConfig{Host: host, User: user, Pass: pass, HTTPPostMode: true, DisableTLS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Shutdown)
	return cl
}

// code is the JSON-RPC error code of an rpcclient error, 0 if none.
func code(err error) int {
	if e, ok := err.(*btcjson.RPCError); ok {
		return int(e.Code)
	}
	return 0
}

func rawParams(t *testing.T, args ...any) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func chainWorkHex(blocks []*wire.MsgBlock) string {
	w := new(big.Int)
	for _, b := range blocks {
		w.Add(w, blockchain.CalcWork(b.Header.Bits))
	}
	return fmt.Sprintf("%064x", w)
}

// compareTxOuts asks both nodes for a sample of outpoints: every output of
// every third block (unspent and spent ones), an index past a
// transaction's last output, and a transaction that never existed.
func compareTxOuts(t *testing.T, c *rpctest.Chain, sat, btcd *rpcclient.Client) {
	type q struct {
		hash chainhash.Hash
		n    uint32
	}
	var qs []q
	for h := 1; h < len(c.Blocks); h += 3 {
		for _, tx := range c.Blocks[h].Transactions {
			for i := range tx.TxOut {
				qs = append(qs, q{tx.TxHash(), uint32(i)})
			}
			qs = append(qs, q{tx.TxHash(), uint32(len(tx.TxOut))})
		}
	}
	qs = append(qs, q{chainhash.DoubleHashH([]byte("never")), 0})
	unspent, spent := 0, 0
	for _, x := range qs {
		o1, err1 := sat.GetTxOut(&x.hash, x.n, true)
		o2, err2 := btcd.GetTxOut(&x.hash, x.n, true)
		if err1 != nil || err2 != nil {
			t.Fatalf("gettxout %s:%d: satnode %v, btcd %v", x.hash, x.n, err1, err2)
		}
		if (o1 == nil) != (o2 == nil) {
			t.Fatalf("gettxout %s:%d: satnode %+v, btcd %+v", x.hash, x.n, o1, o2)
		}
		if o1 == nil {
			spent++
			continue
		}
		unspent++
		s1, s2 := o1.ScriptPubKey, o2.ScriptPubKey
		if o1.BestBlock != o2.BestBlock || o1.Confirmations != o2.Confirmations || o1.Value != o2.Value ||
			o1.Coinbase != o2.Coinbase || s1.Hex != s2.Hex || s1.Type != s2.Type || s1.Asm != s2.Asm ||
			s1.Address != s2.Address || s1.ReqSigs != 0 || len(s1.Addresses) != 0 {
			t.Fatalf("gettxout %s:%d:\nsatnode %+v\nbtcd    %+v", x.hash, x.n, *o1, *o2)
		}
	}
	if unspent < 50 || spent < 50 {
		t.Fatalf("sample of %d unspent and %d spent or missing outputs is too small", unspent, spent)
	}
	t.Logf("gettxout agrees on %d unspent and %d spent or missing outpoints", unspent, spent)
}

// compareScan checks scantxoutset for the scripts the chain pays most
// often: its unspents are exactly the outputs to that script the chain
// leaves unspent (worked out from the blocks), each of which btcd's
// gettxout confirms.
func compareScan(t *testing.T, c *rpctest.Chain, sat, btcd *rpcclient.Client) {
	type coin struct {
		value  int64
		height int32
	}
	utxos := map[wire.OutPoint]coin{}
	scripts := map[string]int{}
	for h, b := range c.Blocks {
		if h == 0 {
			continue // the genesis coinbase never enters the set
		}
		for _, tx := range b.Transactions {
			for _, in := range tx.TxIn {
				delete(utxos, in.PreviousOutPoint)
			}
			for i, out := range tx.TxOut {
				if len(out.PkScript) > 0 && out.PkScript[0] == txscript.OP_RETURN {
					continue
				}
				utxos[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = coin{out.Value, int32(h)}
				scripts[string(out.PkScript)]++
			}
		}
	}
	scriptOf := map[wire.OutPoint][]byte{}
	for _, b := range c.Blocks {
		for _, tx := range b.Transactions {
			for i, out := range tx.TxOut {
				scriptOf[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = out.PkScript
			}
		}
	}
	// The three most paid scripts that have an address.
	var picked [][]byte
	for len(picked) < 3 {
		best, bestN := "", 0
		for s, n := range scripts {
			if n > bestN {
				best, bestN = s, n
			}
		}
		if bestN == 0 {
			break
		}
		delete(scripts, best)
		if _, addrs, _, _ := txscript.ExtractPkScriptAddrs([]byte(best), &chaincfg.RegressionNetParams); len(addrs) == 1 {
			picked = append(picked, []byte(best))
		}
	}
	var total int64
	want := map[wire.OutPoint]coin{}
	var descs []string
	for _, script := range picked {
		_, addrs, _, _ := txscript.ExtractPkScriptAddrs(script, &chaincfg.RegressionNetParams)
		descs = append(descs, "addr("+addrs[0].EncodeAddress()+")")
		for op, cn := range utxos {
			if string(scriptOf[op]) == string(script) {
				want[op] = cn
				total += cn.value
			}
		}
	}
	// One with Core's checksum, one raw() with it.
	descs[0] = withChecksum(descs[0])
	descs[2] = withChecksum("raw(" + hexOf(picked[2]) + ")")
	raw, err := sat.RawRequest("scantxoutset", rawParams(t, "start", descs))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Success     bool    `json:"success"`
		TxOuts      int64   `json:"txouts"`
		Height      int32   `json:"height"`
		BestBlock   string  `json:"bestblock"`
		TotalAmount float64 `json:"total_amount"`
		Unspents    []struct {
			TxID          string  `json:"txid"`
			Vout          uint32  `json:"vout"`
			ScriptPubKey  string  `json:"scriptPubKey"`
			Desc          string  `json:"desc"`
			Amount        float64 `json:"amount"`
			Height        int32   `json:"height"`
			BlockHash     string  `json:"blockhash"`
			Confirmations int32   `json:"confirmations"`
		} `json:"unspents"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	tip := c.Tip()
	amt, _ := btcutil.NewAmount(res.TotalAmount)
	if !res.Success || res.Height != tip || res.BestBlock != c.Blocks[tip].BlockHash().String() ||
		len(res.Unspents) != len(want) || int64(amt) != total || res.TxOuts < int64(len(want)) {
		t.Fatalf("scantxoutset %v: %d unspents, total %v, want %d and %v", descs, len(res.Unspents),
			res.TotalAmount, len(want), btcutil.Amount(total))
	}
	for _, u := range res.Unspents {
		h, err := chainhash.NewHashFromStr(u.TxID)
		if err != nil {
			t.Fatal(err)
		}
		op := wire.OutPoint{Hash: *h, Index: u.Vout}
		cn, ok := want[op]
		got, _ := btcutil.NewAmount(u.Amount)
		if !ok || int64(got) != cn.value || u.Height != cn.height || u.BlockHash != c.Blocks[cn.height].BlockHash().String() ||
			u.Confirmations != tip-cn.height+1 || u.ScriptPubKey != hexOf(scriptOf[op]) || !strings.HasPrefix(u.Desc, "addr(") {
			t.Fatalf("scantxoutset unspent %+v, want %+v", u, cn)
		}
		o, err := btcd.GetTxOut(h, u.Vout, false)
		if err != nil || o == nil || o.Value != u.Amount {
			t.Fatalf("btcd's gettxout of scanned %s:%d: %+v %v", u.TxID, u.Vout, o, err)
		}
	}
	t.Logf("scantxoutset: %d unspents, %v, for %v", len(res.Unspents), btcutil.Amount(total), descs)
	for _, action := range []string{"status", "abort"} {
		raw, err := sat.RawRequest("scantxoutset", rawParams(t, action))
		if want := map[string]string{"status": "null", "abort": "false"}[action]; err != nil || string(raw) != want {
			t.Fatalf("scantxoutset %s: %s %v, want %s", action, raw, err, want)
		}
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// compareBtcctl runs the real btcctl against satnode, with the flags
// btcdtest gives it for btcd, for every method btcctl knows, and compares
// with btcctl's answers from btcd where btcd has them.
func compareBtcctl(t *testing.T, c *rpctest.Chain, node *btcdtest.Node, satAddr string) {
	_, btcctl := btcdtest.Binaries(t)
	conf := filepath.Join(t.TempDir(), "empty.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full := append([]string{"-C", conf, "--regtest", "--notls", "--rpcserver=" + satAddr,
			"--rpcuser=" + node.User, "--rpcpass=" + node.Password}, args...)
		out, err := exec.CommandContext(ctx, btcctl, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("btcctl %s against satnode: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	tip := c.Tip()
	mid := c.Blocks[tip/2].BlockHash().String()
	coinbase := c.Blocks[tip-5].Transactions[0].TxHash().String()
	// Answers that must be byte for byte btcd's.
	for _, args := range [][]string{
		{"getblockcount"}, {"getbestblockhash"}, {"getblockhash", "75"}, {"getblockheader", mid, "false"},
		{"getblock", mid, "0"},
	} {
		if got, want := run(args...), node.Btcctl(t, args...); got != want {
			t.Errorf("btcctl %s: satnode %q, btcd %q", strings.Join(args, " "), got, want)
		}
	}
	// Answers compared as btcjson decodes them.
	sameAs := func(args []string, v1, v2 any, norm func()) {
		t.Helper()
		if err := json.Unmarshal([]byte(run(args...)), v1); err != nil {
			t.Fatalf("btcctl %v against satnode: %v", args, err)
		}
		if err := json.Unmarshal([]byte(node.Btcctl(t, args...)), v2); err != nil {
			t.Fatalf("btcctl %v against btcd: %v", args, err)
		}
		if norm != nil {
			norm()
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Errorf("btcctl %v:\nsatnode %+v\nbtcd    %+v", args, v1, v2)
		}
	}
	var h1, h2 btcjson.GetBlockHeaderVerboseResult
	sameAs([]string{"getblockheader", mid}, &h1, &h2, nil)
	var o1, o2 btcjson.GetTxOutResult
	sameAs([]string{"gettxout", coinbase, "0"}, &o1, &o2, func() {
		o2.ScriptPubKey.ReqSigs, o2.ScriptPubKey.Addresses = 0, nil // deprecated fields only btcd fills
	})
	type chainInfo struct {
		Chain         string  `json:"chain"`
		Blocks        int32   `json:"blocks"`
		Headers       int32   `json:"headers"`
		BestBlockHash string  `json:"bestblockhash"`
		Difficulty    float64 `json:"difficulty"`
		MedianTime    int64   `json:"mediantime"`
		Pruned        bool    `json:"pruned"`
	}
	var i1, i2 chainInfo
	sameAs([]string{"getblockchaininfo"}, &i1, &i2, nil)

	// btcd does not implement gettxoutsetinfo; satnode's answer must
	// match the chain.
	var set struct {
		Height    int32   `json:"height"`
		BestBlock string  `json:"bestblock"`
		TxOuts    int64   `json:"txouts"`
		MuHash    string  `json:"muhash"`
		Total     float64 `json:"total_amount"`
	}
	if err := json.Unmarshal([]byte(run("gettxoutsetinfo")), &set); err != nil || set.Height != tip ||
		set.BestBlock != c.Blocks[tip].BlockHash().String() || set.TxOuts <= 0 || len(set.MuHash) != 64 || set.Total <= 0 {
		t.Errorf("btcctl gettxoutsetinfo against satnode: %+v %v", set, err)
	}
	var ni btcjson.GetNetworkInfoResult
	if err := json.Unmarshal([]byte(run("getnetworkinfo")), &ni); err != nil || ni.Version != coreVersion {
		t.Errorf("btcctl getnetworkinfo against satnode: %+v %v", ni, err)
	}
	// btcctl cannot send scantxoutset: btcjson does not register it.
	if _, err := btcjson.MethodUsageFlags("scantxoutset"); err == nil {
		t.Errorf("btcjson now registers scantxoutset: run it through btcctl too")
	}
	// An error reaches btcctl as Core's reply.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, btcctl, "-C", conf, "--regtest", "--notls", "--rpcserver="+satAddr,
		"--rpcuser=u", "--rpcpass=p", "getblockhash", strconv.Itoa(int(tip)+1)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Block height out of range") {
		t.Errorf("btcctl getblockhash beyond the tip: %v %s", err, out)
	}
}
