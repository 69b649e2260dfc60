package esplora

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// segwitChain is a chain past segwit's and taproot's activation (432 on
// regtest), with few transactions per block, so that witness spends,
// P2SH-wrapped ones and every output type appear.
func segwitChain(t testing.TB) *rpctest.Chain {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 445
	cfg.TxsPerBlock = 30
	cfg.PreActivationTxsPerBlock = 4
	return rpctest.New(t, cfg, 440)
}

// chainOutput is an output as the blocks say.
type chainOutput struct {
	value  int64
	script []byte
}

// spentAt is where the blocks say an outpoint was spent.
type spentAt struct {
	txid   string
	vin    uint32
	height int32
}

// walkChain lists every output and every spend of the blocks.
func walkChain(blocks []*wire.MsgBlock) (map[wire.OutPoint]chainOutput, map[wire.OutPoint]spentAt) {
	outs := map[wire.OutPoint]chainOutput{}
	spends := map[wire.OutPoint]spentAt{}
	for h, b := range blocks {
		for i, tx := range b.Transactions {
			txid := tx.TxHash()
			if i > 0 {
				for j, in := range tx.TxIn {
					spends[in.PreviousOutPoint] = spentAt{txid.String(), uint32(j), int32(h)}
				}
			}
			for j, o := range tx.TxOut {
				outs[wire.OutPoint{Hash: txid, Index: uint32(j)}] = chainOutput{o.Value, o.PkScript}
			}
		}
	}
	return outs, spends
}

// checkTxValue checks one Esplora transaction against the block's
// transaction and the chain's outputs; withPrevouts says whether the
// block's undo record is there (prevouts and fee known).
func checkTxValue(t *testing.T, got *txValue, tx *wire.MsgTx, height int32, b *wire.MsgBlock,
	outs map[wire.OutPoint]chainOutput, withPrevouts bool) {
	t.Helper()
	size := tx.SerializeSize()
	if got.TxID != tx.TxHash().String() || got.Version != uint32(tx.Version) || got.LockTime != tx.LockTime ||
		got.Size != size || got.Weight != tx.SerializeSizeStripped()*3+size || len(got.Vin) != len(tx.TxIn) ||
		len(got.Vout) != len(tx.TxOut) || !got.Status.Confirmed || got.Status.BlockHeight == nil ||
		*got.Status.BlockHeight != height || got.Status.BlockHash != b.BlockHash().String() ||
		got.Status.BlockTime != uint32(b.Header.Timestamp.Unix()) {
		t.Fatalf("tx %s: %+v", tx.TxHash(), got)
	}
	coinbase := got.Vin[0].IsCoinbase
	var in, out int64
	for i, txIn := range tx.TxIn {
		v := got.Vin[i]
		if v.TxID != txIn.PreviousOutPoint.Hash.String() || v.Vout != txIn.PreviousOutPoint.Index ||
			v.ScriptSig != hex.EncodeToString(txIn.SignatureScript) || v.Sequence != txIn.Sequence ||
			len(v.Witness) != len(txIn.Witness) || v.IsCoinbase != coinbase {
			t.Fatalf("tx %s input %d: %+v", tx.TxHash(), i, v)
		}
		for j, w := range txIn.Witness {
			if v.Witness[j] != hex.EncodeToString(w) {
				t.Fatalf("tx %s input %d: witness %v", tx.TxHash(), i, v.Witness)
			}
		}
		if coinbase || !withPrevouts {
			if v.Prevout != nil || v.InnerRedeemScriptAsm != nil || v.InnerWitnessScriptAsm != nil {
				t.Fatalf("tx %s input %d: prevout %+v without undo data", tx.TxHash(), i, v.Prevout)
			}
			continue
		}
		prev := outs[txIn.PreviousOutPoint]
		in += prev.value
		checkOutValue(t, v.Prevout, prev.value, prev.script)
		if isP2SH(prev.script) != (v.InnerRedeemScriptAsm != nil) {
			t.Fatalf("tx %s input %d: redeem script %v for a prevout of type %s", tx.TxHash(), i, v.InnerRedeemScriptAsm,
				v.Prevout.ScriptPubKeyType)
		}
	}
	for i, o := range tx.TxOut {
		out += o.Value
		checkOutValue(t, &got.Vout[i], o.Value, o.PkScript)
	}
	switch {
	case coinbase:
		if got.Fee == nil || *got.Fee != 0 {
			t.Fatalf("coinbase %s: fee %v", tx.TxHash(), got.Fee)
		}
	case !withPrevouts:
		if got.Fee != nil {
			t.Fatalf("tx %s: fee %d without undo data", tx.TxHash(), *got.Fee)
		}
	case got.Fee == nil || *got.Fee != in-out:
		t.Fatalf("tx %s: fee %v, want %d", tx.TxHash(), got.Fee, in-out)
	}
}

// checkOutValue checks an Esplora output against the script and value,
// the address against btcd's reading of the script.
func checkOutValue(t *testing.T, got *txOutValue, value int64, script []byte) {
	t.Helper()
	if got == nil || got.Value != value || got.ScriptPubKey != hex.EncodeToString(script) ||
		got.ScriptPubKeyAsm != scriptAsm(script) || got.ScriptPubKeyType != scriptType(script) {
		t.Fatalf("output %x worth %d: %+v", script, value, got)
	}
	class, addrs, _, _ := txscript.ExtractPkScriptAddrs(script, &chaincfg.RegressionNetParams)
	want := ""
	if len(addrs) == 1 && class != txscript.PubKeyTy && class != txscript.MultiSigTy {
		want = addrs[0].EncodeAddress()
	}
	if got.ScriptPubKeyAddress != want || (class == txscript.NullDataTy) != (got.ScriptPubKeyType == "op_return") {
		t.Fatalf("output %x (%s): address %q type %q, btcd %q", script, class, got.ScriptPubKeyAddress,
			got.ScriptPubKeyType, want)
	}
}

// TestBlockRoutes checks /block/:hash/txids, /raw and /txs[/:start] over
// a chain past segwit's activation: txids and bytes are the block's, and
// paging through /txs 25 at a time gives every transaction, with prevouts
// and fees from the undo records; once those are pruned, a deep block's
// prevouts are null and its fees left out.
func TestBlockRoutes(t *testing.T) {
	c := segwitChain(t)
	h := New(c.Views, Options{Bodies: c.Bodies})
	outs, _ := walkChain(c.Blocks)
	types := map[string]int{}
	check := func(height int32, withPrevouts bool) {
		b := c.Blocks[height]
		hash := b.BlockHash().String()
		var txids []string
		getJSON(t, h, "/block/"+hash+"/txids", &txids)
		if len(txids) != len(b.Transactions) {
			t.Fatalf("block %d: %d txids", height, len(txids))
		}
		for i, tx := range b.Transactions {
			if txids[i] != tx.TxHash().String() {
				t.Fatalf("block %d: txid %d is %s", height, i, txids[i])
			}
		}
		var raw bytes.Buffer
		if err := b.Serialize(&raw); err != nil {
			t.Fatal(err)
		}
		rec := getOK(t, h, "/block/"+hash+"/raw", "application/octet-stream")
		if !bytes.Equal(rec.Body.Bytes(), raw.Bytes()) {
			t.Fatalf("block %d: /raw is not the block", height)
		}
		checkStamp(t, rec, c)
		n := 0
		for start := 0; start < len(b.Transactions); start += txsPerPage {
			path := "/block/" + hash + "/txs/" + strconv.Itoa(start)
			if start == 0 {
				path = "/block/" + hash + "/txs"
			}
			var page []txValue
			getJSON(t, h, path, &page)
			if want := min(txsPerPage, len(b.Transactions)-start); len(page) != want {
				t.Fatalf("%s: %d transactions, want %d", path, len(page), want)
			}
			for i := range page {
				checkTxValue(t, &page[i], b.Transactions[start+i], height, b, outs, withPrevouts)
				for _, o := range page[i].Vout {
					types[o.ScriptPubKeyType]++
				}
				n++
			}
		}
		if n != len(b.Transactions) {
			t.Fatalf("block %d: %d transactions paged", height, n)
		}
	}
	// A start that is no number is the first page, as in Esplora, whose
	// client mempool.js sends "undefined" for a missing start.
	tipHash := c.Blocks[c.Tip()].BlockHash().String()
	first := get(t, h, "/block/"+tipHash+"/txs").Body.String()
	for _, start := range []string{"undefined", "-25", "4294967296", "99999999999999999999", "", "+0"} {
		if rec := get(t, h, "/block/"+tipHash+"/txs/"+start); rec.Code != http.StatusOK || rec.Body.String() != first {
			t.Fatalf("/txs/%s: %d, not the first page", start, rec.Code)
		}
	}
	for height := int32(0); height <= c.Tip(); height += 11 {
		check(height, height > 0)
	}
	check(c.Tip(), true)
	for _, typ := range []string{"p2pkh", "p2sh", "v0_p2wpkh", "v0_p2wsh", "v1_p2tr", "op_return"} {
		if types[typ] == 0 {
			t.Errorf("no %s output seen (%v)", typ, types)
		}
	}
	c.PruneUndo(7)
	check(c.Tip()-20, false)
	check(c.Tip()-2, true)
}

// TestOutspend checks /tx/:txid/outspend/:vout for every output of a
// chain against the spends the blocks make: unspent outputs are
// {"spent":false}; a spend in the last FinalityDepth+1 blocks is found
// with its transaction, input and block; every other output (spent
// earlier, OP_RETURN, the genesis coinbase) and outputs that never existed
// are the documented 404.
func TestOutspend(t *testing.T) {
	c := segwitChain(t)
	h := New(c.Views, Options{})
	tip := c.Tip()
	const depth = 7 // rpctest's finality depth, 6, plus one
	outs, spends := walkChain(c.Blocks)
	counts := map[string]int{}
	for op := range outs {
		path := fmt.Sprintf("/tx/%s/outspend/%d", op.Hash, op.Index)
		sp, spent := spends[op]
		switch {
		case spent && sp.height > tip-depth:
			var got spendingValue
			getJSON(t, h, path, &got)
			b := c.Blocks[sp.height]
			if !got.Spent || got.TxID != sp.txid || got.Vin == nil || *got.Vin != sp.vin || got.Status == nil ||
				!got.Status.Confirmed || *got.Status.BlockHeight != sp.height || got.Status.BlockHash != b.BlockHash().String() ||
				got.Status.BlockTime != uint32(b.Header.Timestamp.Unix()) {
				t.Fatalf("%s: %+v, want %+v", path, got, sp)
			}
			counts["spent in the window"]++
		case !spent && len(outs[op].script) > 0 && outs[op].script[0] != txscript.OP_RETURN && op.Hash != c.Blocks[0].Transactions[0].TxHash():
			rec := getOK(t, h, path, "application/json")
			if rec.Body.String() != `{"spent":false}` {
				t.Fatalf("%s: %s", path, rec.Body)
			}
			counts["unspent"]++
		default:
			rec := get(t, h, path)
			if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Body.String(), "Spend not known: output "+op.String()) ||
				!strings.Contains(rec.Body.String(), "the last 7 blocks") {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			counts["unknown"]++
		}
	}
	never := fmt.Sprintf("/tx/%s/outspend/%d", c.Blocks[100].Transactions[0].TxHash(), 4_000_000_000)
	if rec := get(t, h, never); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "never existed") {
		t.Fatalf("%s: %d %s", never, rec.Code, rec.Body)
	}
	if counts["spent in the window"] < 20 || counts["unspent"] < 100 || counts["unknown"] < 100 {
		t.Fatalf("too few cases: %v", counts)
	}
	t.Logf("outspend: %v", counts)
}

// TestScriptAsm checks rust-bitcoin's disassembly on its own test
// vectors (bitcoin/src/blockdata/script/tests.rs) and a few more.
func TestScriptAsm(t *testing.T) {
	peg := "0047304402202457e78cc1b7f50d0543863c27de75d07982bde8359b9e3316adec0aec165f2f02200203fd331c4e4a4a02f48cf1c291e2c0d6b2f7078a784b5b3649fca41f8794d401004cf1552103244e602b46755f24327142a0517288cebd159eccb6ccf41ea6edf1f601e9af952103bbbacc302d19d29dbfa62d23f37944ae19853cf260c745c2bea739c95328fcb721039227e83246bd51140fe93538b2301c9048be82ef2fb3c7fc5d78426ed6f609ad210229bf310c379b90033e2ecb07f77ecf9b8d59acb623ab7be25a0caed539e2e6472103703e2ed676936f10b3ce9149fa2d4a32060fb86fa9a70a4efe3f21d7ab90611921031e9b7c6022400a6bb0424bbcde14cff6c016b91ee3803926f3440abf5c146d05210334667f975f55a8455d515a2ef1c94fdfa3315f12319a14515d2a13d82831f62f57ae"
	for _, tc := range []struct{ script, asm string }{
		{"6363636363686868686800", "OP_IF OP_IF OP_IF OP_IF OP_IF OP_ENDIF OP_ENDIF OP_ENDIF OP_ENDIF OP_ENDIF OP_0"},
		{"2102715e91d37d239dea832f1460e91e368115d8ca6cc23a7da966795abad9e3b699ac",
			"OP_PUSHBYTES_33 02715e91d37d239dea832f1460e91e368115d8ca6cc23a7da966795abad9e3b699 OP_CHECKSIG"},
		{peg, "OP_0 OP_PUSHBYTES_71 " + peg[4:146] + " OP_0 OP_PUSHDATA1 " + peg[152:]},
		{"01", "OP_PUSHBYTES_1 <push past end>"},
		{"0201", "OP_PUSHBYTES_2 <push past end>"},
		{"4c", "<unexpected end>"},
		{"4c0201", "OP_PUSHDATA1 <push past end>"},
		{"4d", "<unexpected end>"},
		{"4dffff01", "OP_PUSHDATA2 <push past end>"},
		{"4effffffff01", "OP_PUSHDATA4 <push past end>"},
		{"", ""},
		{"764c", "OP_DUP<unexpected end>"},
		{"4c00", "OP_PUSHDATA1"},
		{"4f5160b1b2b3b9babbfeff50", "OP_PUSHNUM_NEG1 OP_PUSHNUM_1 OP_PUSHNUM_16 OP_CLTV OP_CSV OP_NOP4 OP_NOP10 " +
			"OP_CHECKSIGADD OP_RETURN_187 OP_RETURN_254 OP_INVALIDOPCODE OP_RESERVED"},
	} {
		b, err := hex.DecodeString(tc.script)
		if err != nil {
			t.Fatal(err)
		}
		if got := scriptAsm(b); got != tc.asm {
			t.Errorf("%s:\n got %q\nwant %q", tc.script, got, tc.asm)
		}
	}
	// BIP350's vectors for witness versions btcd does not classify, and a
	// version 0 program of a length that is no address.
	for script, want := range map[string]string{
		"6002751e":                             "bc1sw50qgdz25j",
		"5210751e76e8199196d454941c45d1b3a323": "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
		"0002abcd":                             "",
	} {
		b, _ := hex.DecodeString(script)
		if got := scriptAddress(b, &chaincfg.MainNetParams); got != want {
			t.Errorf("address of %s: %q, want %q", script, got, want)
		}
	}
}
