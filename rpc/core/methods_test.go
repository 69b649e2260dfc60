package core

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// TestGetBlockHeader checks every header of a chain against the blocks:
// each field, the median time worked out here, chainwork from the view's
// TipWork (the chain's summed work) and the hex form.
func TestGetBlockHeader(t *testing.T) {
	c := rpctest.New(t, testChainConfig(130), 125)
	h := New(withWork(t, c), Options{})
	tip := c.Tip()
	for height, b := range c.Blocks {
		hash := b.BlockHash()
		var r blockHeaderResult
		callOK(t, h, "getblockheader", `["`+hash.String()+`"]`, &r)
		var times []int64
		for i := max(0, height-10); i <= height; i++ {
			times = append(times, c.Blocks[i].Header.Timestamp.Unix())
		}
		slices.Sort(times)
		work := new(big.Int)
		for _, bb := range c.Blocks[:height+1] {
			work.Add(work, blockchain.CalcWork(bb.Header.Bits))
		}
		want := blockHeaderResult{
			Hash: hash.String(), Confirmations: tip - int32(height) + 1, Height: int32(height), Version: b.Header.Version,
			VersionHex: fmt.Sprintf("%08x", b.Header.Version), MerkleRoot: b.Header.MerkleRoot.String(),
			Time: b.Header.Timestamp.Unix(), MedianTime: times[len(times)/2], Nonce: b.Header.Nonce,
			Bits: "207fffff", Target: "7fffff" + strings.Repeat("0", 58), Difficulty: 1,
			ChainWork: fmt.Sprintf("%064x", work), NTx: r.NTx,
		}
		if r.NTx == nil || int(*r.NTx) != len(b.Transactions) {
			t.Fatalf("height %d: nTx %v, want %d", height, r.NTx, len(b.Transactions))
		}
		if height > 0 {
			want.PreviousBlockHash = b.Header.PrevBlock.String()
		}
		if int32(height) < tip {
			want.NextBlockHash = c.Blocks[height+1].BlockHash().String()
		}
		if r != want {
			t.Fatalf("height %d:\n got %+v\nwant %+v", height, r, want)
		}
		var hexHeader string
		callOK(t, h, "getblockheader", `["`+hash.String()+`",false]`, &hexHeader)
		var buf bytes.Buffer
		if err := b.Header.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		if hexHeader != hex.EncodeToString(buf.Bytes()) {
			t.Fatalf("height %d: header hex %s", height, hexHeader)
		}
	}
}

// TestChainWorkRelative: with a TipWork that covers only the top blocks
// (a header tree based above genesis), deeper headers get no chainwork
// rather than a wrong or negative one.
func TestChainWorkRelative(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 101)
	views := withWork(t, c)
	v, err := views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	new(big.Int).Mul(blockchain.CalcWork(c.Blocks[0].Header.Bits), big.NewInt(3)).FillBytes(v.TipWork[:])
	h := New(views, Options{})
	for height, want := range map[int32]bool{101: true, 100: true, 99: true, 98: false, 0: false} {
		var r blockHeaderResult
		callOK(t, h, "getblockheader", `["`+c.Blocks[height].BlockHash().String()+`"]`, &r)
		if (r.ChainWork != "") != want {
			t.Errorf("height %d: chainwork %q", height, r.ChainWork)
		}
	}
	var info blockchainInfo
	callOK(t, h, "getblockchaininfo", "[]", &info)
	if info.ChainWork != fmt.Sprintf("%064x", 6) {
		t.Errorf("getblockchaininfo chainwork %s", info.ChainWork)
	}
}

// TestGetTxOutEveryCoin asks for every output the chain ever created:
// the unspent ones must match query.GetTxOut (the reference the native API
// uses) field for field with a valid descriptor, the spent ones are null.
func TestGetTxOutEveryCoin(t *testing.T) {
	c := rpctest.New(t, testChainConfig(130), 125)
	h := New(c.Views, Options{})
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	unspent, spent := 0, 0
	for _, b := range c.Blocks {
		for _, tx := range b.Transactions {
			for i := range tx.TxOut {
				op := utxo.Outpoint{Hash: tx.TxHash(), Index: uint32(i)}
				r := post(h, `{"id":1,"method":"gettxout","params":["`+op.Hash.String()+`",`+strconv.Itoa(i)+`,false]}`)
				var rep struct {
					Result *struct {
						BestBlock     string       `json:"bestblock"`
						Confirmations int32        `json:"confirmations"`
						Value         query.Amount `json:"value"`
						ScriptPubKey  struct {
							query.ScriptPubKey
							Desc string `json:"desc"`
						} `json:"scriptPubKey"`
						Coinbase bool `json:"coinbase"`
					} `json:"result"`
				}
				if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 {
					t.Fatalf("gettxout %s: %d %s", op, r.status, r.body)
				}
				want, err := query.GetTxOut(v.Reader, v.Params.Chain, op)
				if utxo.IsNotFound(err) {
					if rep.Result != nil {
						t.Fatalf("gettxout %s: %s, want null", op, r.body)
					}
					spent++
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				unspent++
				got := rep.Result
				if got == nil || got.BestBlock != want.BestBlock || got.Confirmations != want.Confirmations ||
					got.Value != want.Value || got.ScriptPubKey.ScriptPubKey != want.ScriptPubKey || got.Coinbase != want.Coinbase {
					t.Fatalf("gettxout %s: %s, want %+v", op, r.body, want)
				}
				d, sum, _ := strings.Cut(got.ScriptPubKey.Desc, "#")
				if sum != descriptorChecksum(d) || !strings.HasSuffix(d, ")") {
					t.Fatalf("gettxout %s: desc %s", op, got.ScriptPubKey.Desc)
				}
			}
		}
	}
	if unspent == 0 || spent == 0 {
		t.Fatalf("%d unspent, %d spent", unspent, spent)
	}
}

// TestDescribeMatchesQuery: the gettxout path's own script description is
// query.DescribeScript's, for every kind of script a mainnet-like chain
// past segwit and taproot activation pays to.
func TestDescribeMatchesQuery(t *testing.T) {
	cfg := testChainConfig(450)
	c := rpctest.New(t, cfg, 450)
	seen := map[string]int{}
	for _, b := range c.Blocks {
		for _, tx := range b.Transactions {
			for _, out := range tx.TxOut {
				info := describe(out.PkScript, &chaincfg.RegressionNetParams)
				want := query.DescribeScript(out.PkScript, &chaincfg.RegressionNetParams)
				if info.asm != want.Asm || info.address != want.Address || info.typ != want.Type {
					t.Fatalf("%x: %+v, want %+v", out.PkScript, info, want)
				}
				seen[info.typ]++
				if info.typ == "witness_v1_taproot" && !strings.HasPrefix(info.desc, "rawtr(") {
					t.Fatalf("%x: desc %s", out.PkScript, info.desc)
				}
			}
		}
	}
	for _, typ := range []string{"pubkeyhash", "scripthash", "witness_v0_keyhash", "witness_v0_scripthash", "witness_v1_taproot", "nulldata"} {
		if seen[typ] == 0 {
			t.Errorf("no %s output in the chain: %v", typ, seen)
		}
	}
}

// TestGetTxOutSetInfo: the answers are query.GetTxOutSetInfo's, at the tip
// and at a block named by height or hash; "none" leaves muhash out.
func TestGetTxOutSetInfo(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 105)
	h := New(c.Views, Options{})
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	for params, height := range map[string]int32{
		`[]`: 105, `["muhash"]`: 105, `[null, 50]`: 50, `["muhash","` + c.Blocks[7].BlockHash().String() + `"]`: 7,
		`{"hash_or_height":0}`: 0, `["muhash",null,false]`: 105,
	} {
		want, err := query.GetTxOutSetInfo(v.Reader, height)
		if err != nil {
			t.Fatal(err)
		}
		var got query.TxOutSetInfo
		callOK(t, h, "gettxoutsetinfo", params, &got)
		if got != *want {
			t.Errorf("gettxoutsetinfo %s:\n got %+v\nwant %+v", params, got, *want)
		}
	}
	var none map[string]any
	callOK(t, h, "gettxoutsetinfo", `["none"]`, &none)
	if _, ok := none["muhash"]; ok || none["txouts"] == nil {
		t.Errorf("hash_type none: %v", none)
	}
}

// TestScanTxOutSet: the unspents of a script are exactly what the chain
// left it, in Core's order, whether named by addr() or raw() or both; and
// a scan over the cap is refused.
func TestScanTxOutSet(t *testing.T) {
	c := rpctest.New(t, testChainConfig(130), 125)
	h := New(c.Views, Options{MaxUTXOs: 2})
	// The unspent outputs per script, from the blocks.
	type out struct {
		op     wire.OutPoint
		value  int64
		height int32
	}
	live := map[wire.OutPoint]out{}
	scripts := map[wire.OutPoint][]byte{}
	for height, b := range c.Blocks[1:] { // the genesis coinbase never enters the set
		height++
		for _, tx := range b.Transactions {
			for _, in := range tx.TxIn {
				delete(live, in.PreviousOutPoint)
			}
			for i, o := range tx.TxOut {
				op := wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}
				if len(o.PkScript) > 0 && o.PkScript[0] == txscript.OP_RETURN {
					continue
				}
				live[op] = out{op, o.Value, int32(height)}
				scripts[op] = o.PkScript
			}
		}
	}
	byScript := map[string][]out{}
	for op, o := range live {
		byScript[string(scripts[op])] = append(byScript[string(scripts[op])], o)
	}
	checked, capped := 0, 0
	for script, outs := range byScript {
		if len(outs) > 2 {
			capped++
			desc := "raw(" + hex.EncodeToString([]byte(script)) + ")"
			msg := callErr(t, h, "scantxoutset", `["start",["`+desc+`"]]`, CodeInvalidParameter)
			if !strings.Contains(msg, "more than 2 unspent outputs") {
				t.Fatalf("over the cap: %s", msg)
			}
			continue
		}
		if checked > 20 {
			continue
		}
		checked++
		slices.SortFunc(outs, func(a, b out) int {
			if c := bytes.Compare(a.op.Hash[:], b.op.Hash[:]); c != 0 {
				return c
			}
			return int(a.op.Index) - int(b.op.Index)
		})
		var objs []string
		objs = append(objs, `"raw(`+hex.EncodeToString([]byte(script))+`)"`)
		if _, addrs, _, _ := txscript.ExtractPkScriptAddrs([]byte(script), &chaincfg.RegressionNetParams); len(addrs) == 1 {
			objs = append(objs, `{"desc":"`+withChecksum("addr("+addrs[0].EncodeAddress()+")")+`","range":[0,10]}`)
		}
		var r scanResult
		callOK(t, h, "scantxoutset", `["start",[`+strings.Join(objs, ",")+`]]`, &r)
		if len(r.Unspents) != len(outs) || !r.Success || r.Height != c.Tip() {
			t.Fatalf("scan %x: %+v, want %d outputs", script, r, len(outs))
		}
		var total int64
		for i, u := range r.Unspents {
			o := outs[i]
			if u.TxID != o.op.Hash.String() || u.Vout != o.op.Index || int64(u.Amount) != o.value || u.Height != o.height ||
				u.BlockHash != c.Blocks[o.height].BlockHash().String() || u.Confirmations != c.Tip()-o.height+1 ||
				u.ScriptPubKey != hex.EncodeToString([]byte(script)) || u.Desc != describe([]byte(script), &chaincfg.RegressionNetParams).desc {
				t.Fatalf("scan %x: unspent %d %+v, want %+v", script, i, u, o)
			}
			total += o.value
		}
		if int64(r.TotalAmount) != total {
			t.Fatalf("scan %x: total %v, want %d", script, r.TotalAmount, total)
		}
	}
	if checked == 0 || capped == 0 {
		t.Fatalf("%d scripts checked, %d over the cap: the chain does not exercise both", checked, capped)
	}
	var r scanResult
	callOK(t, h, "scantxoutset", `["start",["raw(51)"]]`, &r)
	if len(r.Unspents) != 0 || r.TotalAmount != 0 || r.TxOuts == 0 {
		t.Fatalf("scan of a script never paid: %+v", r)
	}
}

// TestReorg: after a reorg, blocks of the old branch are unknown, heights
// name the new branch, and coins the old branch created are gone.
func TestReorg(t *testing.T) {
	c := rpctest.New(t, testChainConfig(140), 120)
	h := New(c.Views, Options{})
	fork := c.Fork(3)
	c.Extend(3)
	old := c.Blocks[122]
	oldCoinbase := old.Transactions[0].TxHash().String()
	callOK(t, h, "gettxout", `["`+oldCoinbase+`",0]`, new(map[string]any))
	c.Reorg(fork, 5)
	callErr(t, h, "getblockheader", `["`+old.BlockHash().String()+`"]`, CodeInvalidAddrOrKey)
	callErr(t, h, "gettxoutsetinfo", `["muhash","`+old.BlockHash().String()+`"]`, CodeInvalidAddrOrKey)
	var hash string
	callOK(t, h, "getblockhash", `[122]`, &hash)
	if hash != c.Blocks[122].BlockHash().String() || hash == old.BlockHash().String() {
		t.Fatalf("getblockhash 122 after the reorg: %s", hash)
	}
	var got any
	callOK(t, h, "gettxout", `["`+oldCoinbase+`",0]`, &got)
	if got != nil {
		t.Fatalf("coinbase of the old branch still unspent: %v", got)
	}
}

// TestBatchOneView: while commits land, every batch answers its count,
// best hash and set info from the same commit, and its headers name it.
func TestBatchOneView(t *testing.T) {
	c := rpctest.New(t, testChainConfig(140), 110)
	h := New(c.Views, Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			c.Extend(1)
		}
		close(stop)
	}()
	body := `[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},{"jsonrpc":"2.0","id":2,"method":"getbestblockhash"},` +
		`{"jsonrpc":"2.0","id":3,"method":"gettxoutsetinfo","params":["none"]},{"jsonrpc":"2.0","id":4,"method":"getblockchaininfo"}]`
	for i := 0; ; i++ {
		select {
		case <-stop:
			wg.Wait()
			if i == 0 {
				t.Fatal("no batch ran")
			}
			return
		default:
		}
		r := post(h, body)
		var reps []struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(r.body, &reps); err != nil || len(reps) != 4 {
			t.Fatalf("%s: %v", r.body, err)
		}
		var count int32
		var best string
		var set txOutSetInfo
		var info blockchainInfo
		for i, out := range []any{&count, &best, &set, &info} {
			if err := json.Unmarshal(reps[i].Result, out); err != nil {
				t.Fatal(err)
			}
		}
		if set.Height != count || set.BestBlock != best || info.Blocks != count || info.BestBlockHash != best ||
			r.header.Get("X-Satnode-Height") != strconv.Itoa(int(count)) || r.header.Get("X-Satnode-Hash") != best {
			t.Fatalf("one batch, several states: count %d %s, set %d %s, info %d %s, headers %v",
				count, best, set.Height, set.BestBlock, info.Blocks, info.BestBlockHash, r.header)
		}
	}
}

// TestGetBlockchainInfo: the fields, including a view whose best header
// is ahead of the set (still syncing).
func TestGetBlockchainInfo(t *testing.T) {
	c := rpctest.New(t, testChainConfig(110), 100)
	views := withWork(t, c)
	v, err := views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	v.BestHeader = app.BlockRef{Height: 200}
	v.Release()
	h := New(views, Options{})
	var r blockchainInfo
	callOK(t, h, "getblockchaininfo", "[]", &r)
	tipHdr := c.Blocks[100].Header
	var times []int64
	for _, b := range c.Blocks[90:] {
		times = append(times, b.Header.Timestamp.Unix())
	}
	slices.Sort(times)
	want := blockchainInfo{Chain: "regtest", Blocks: 100, Headers: 200, BestBlockHash: c.Blocks[100].BlockHash().String(),
		Bits: "207fffff", Target: "7fffff" + strings.Repeat("0", 58), Difficulty: 1, Time: tipHdr.Timestamp.Unix(),
		MedianTime: times[5], VerificationProgress: 0.5, InitialBlockDownload: true, ChainWork: fmt.Sprintf("%064x", 202),
		Warnings: []string{}}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Fatalf("\n got %+v\nwant %+v", r, want)
	}
	// Not behind the best header (synced, in /v1/status's words): no
	// initial block download, whatever the best header's height.
	for _, best := range []int32{100, 50} {
		v, err := views.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		v.BestHeader = app.BlockRef{Height: best}
		v.Release()
		callOK(t, h, "getblockchaininfo", "[]", &r)
		if r.InitialBlockDownload || r.Headers != 100 || r.VerificationProgress != 1 {
			t.Fatalf("best header %d, tip 100: %+v", best, r)
		}
	}
	for name, p := range map[string]*utxo.Params{"main": utxo.MainNet(), "test": utxo.TestNet3(), "regtest": utxo.RegTest(), "signet": utxo.SigNet()} {
		if got := chainName(p); got != name {
			t.Errorf("chain name of %s: %s", p.Name, got)
		}
	}
	// btcd's formula gives Core's mainnet difficulty: mainnet block 800000
	// (00000000000000000002a7c4…72728a054, bits 17053894) has difficulty
	// 53911173001054.59 in Core's getblock.
	if b, _ := json.Marshal(coreFloat(difficulty(0x17053894, &chaincfg.MainNetParams))); string(b) != "53911173001054.59" {
		t.Errorf("mainnet difficulty of bits 0x17053894: %s", b)
	}
	for f, want := range map[float64]string{1: "1", 0.5: "0.5", 4.656542373906925e-10: "4.656542373906925e-10",
		0.9999979206082515: "0.9999979206082515", 1e21: "1e+21"} {
		if b, _ := json.Marshal(coreFloat(f)); string(b) != want {
			t.Errorf("%v marshals as %s, want %s", f, b, want)
		}
	}
}
