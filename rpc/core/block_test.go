package core

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/query"
)

// chainCoin is an output as the chain's blocks say: what a prevout must
// show.
type chainCoin struct {
	value    int64
	script   []byte
	height   int32
	coinbase bool
}

func chainCoins(blocks []*wire.MsgBlock) map[wire.OutPoint]chainCoin {
	coins := map[wire.OutPoint]chainCoin{}
	for h, b := range blocks {
		for i, tx := range b.Transactions {
			for j, out := range tx.TxOut {
				coins[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(j)}] = chainCoin{out.Value, out.PkScript, int32(h), i == 0}
			}
		}
	}
	return coins
}

// checkTx checks a transaction object against the transaction and the
// chain: the hex, ids and sizes, every input and output, and, when
// withSpends, the fee and (withPrevouts) each input's prevout; without
// them neither may be there.
func checkTx(t *testing.T, r *txResult, tx *wire.MsgTx, coins map[wire.OutPoint]chainCoin, withSpends, withPrevouts bool) {
	t.Helper()
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		t.Fatal(err)
	}
	weight := tx.SerializeSizeStripped()*3 + raw.Len()
	if r.Hex != hex.EncodeToString(raw.Bytes()) || r.TxID != tx.TxHash().String() || r.Hash != tx.WitnessHash().String() ||
		r.Size != raw.Len() || r.Weight != weight || r.VSize != (weight+3)/4 || r.LockTime != tx.LockTime ||
		len(r.Vin) != len(tx.TxIn) || len(r.Vout) != len(tx.TxOut) {
		t.Fatalf("%s: %+v", tx.TxHash(), r)
	}
	coinbase := isCoinbase(tx)
	var in, out int64
	for i, txIn := range tx.TxIn {
		v := r.Vin[i]
		if len(v.Witness) != len(txIn.Witness) {
			t.Fatalf("%s input %d: witness %v", tx.TxHash(), i, v.Witness)
		}
		for j := range v.Witness {
			if v.Witness[j] != hex.EncodeToString(txIn.Witness[j]) {
				t.Fatalf("%s input %d: witness %v", tx.TxHash(), i, v.Witness)
			}
		}
		if coinbase {
			if v.Coinbase != hex.EncodeToString(txIn.SignatureScript) || v.ScriptSig != nil || v.Prevout != nil {
				t.Fatalf("%s: coinbase input %+v", tx.TxHash(), v)
			}
			continue
		}
		if v.TxID != txIn.PreviousOutPoint.Hash.String() || v.Vout == nil || *v.Vout != txIn.PreviousOutPoint.Index ||
			v.ScriptSig == nil || v.ScriptSig.Hex != hex.EncodeToString(txIn.SignatureScript) || v.Sequence != txIn.Sequence {
			t.Fatalf("%s input %d: %+v", tx.TxHash(), i, v)
		}
		c := coins[txIn.PreviousOutPoint]
		in += c.value
		if !withPrevouts || !withSpends {
			if v.Prevout != nil {
				t.Fatalf("%s input %d: a prevout %+v", tx.TxHash(), i, v.Prevout)
			}
			continue
		}
		p := v.Prevout
		if p == nil || int64(p.Value) != c.value || p.Height != c.height || p.Generated != c.coinbase ||
			p.ScriptPubKey.Hex != hex.EncodeToString(c.script) {
			t.Fatalf("%s input %d: prevout %+v, want %+v", tx.TxHash(), i, p, c)
		}
	}
	for i, o := range tx.TxOut {
		out += o.Value
		v := r.Vout[i]
		if int64(v.Value) != o.Value || v.N != i || v.ScriptPubKey.Hex != hex.EncodeToString(o.PkScript) ||
			v.ScriptPubKey.Type == "" || !strings.Contains(v.ScriptPubKey.Desc, "#") {
			t.Fatalf("%s output %d: %+v", tx.TxHash(), i, v)
		}
	}
	switch {
	case coinbase || !withSpends:
		if r.Fee != nil {
			t.Fatalf("%s: fee %v where none is known", tx.TxHash(), *r.Fee)
		}
	case r.Fee == nil || int64(*r.Fee) != in-out:
		t.Fatalf("%s: fee %v, want %v", tx.TxHash(), r.Fee, query.Amount(in-out))
	}
}

// TestGetBlock checks getblock at every verbosity against the blocks of a
// chain past segwit's activation: the hex, the txids, and transaction
// objects whose fees and prevouts come from the undo records; then, once
// the records deeper than the undo depth are pruned, that deep blocks
// answer without fees or prevouts (as Core does without undo data) while
// recent ones keep them.
func TestGetBlock(t *testing.T) {
	c := rpctest.New(t, testChainConfig(445), 440)
	h := New(withWork(t, c), Options{Bodies: c.Bodies})
	coins := chainCoins(c.Blocks)
	check := func(height int32, withSpends bool) {
		t.Helper()
		b := c.Blocks[height]
		hash := b.BlockHash().String()
		var hexBlock string
		for _, verbosity := range []string{"0", "false"} {
			callOK(t, h, "getblock", `["`+hash+`",`+verbosity+`]`, &hexBlock)
			if hexBlock != hex.EncodeToString(serializeBlock(t, b)) {
				t.Fatalf("getblock %d %s: not the block", height, verbosity)
			}
		}
		var v1 struct {
			blockHeaderResult
			StrippedSize, Size, Weight int
			Tx                         []string
		}
		callOK(t, h, "getblock", `{"blockhash":"`+hash+`","verbose":true}`, &v1)
		if v1.Hash != hash || v1.Height != height || v1.NTx == nil || int(*v1.NTx) != len(b.Transactions) ||
			v1.Size != len(hexBlock)/2 || v1.StrippedSize != b.SerializeSizeStripped() ||
			v1.Weight != 3*v1.StrippedSize+v1.Size || len(v1.Tx) != len(b.Transactions) {
			t.Fatalf("getblock %d 1: %+v", height, v1)
		}
		for verbosity := 2; verbosity <= 3; verbosity++ {
			var v struct{ Tx []txResult }
			callOK(t, h, "getblock", `["`+hash+`",`+string(rune('0'+verbosity))+`]`, &v)
			if len(v.Tx) != len(b.Transactions) {
				t.Fatalf("getblock %d %d: %d transactions", height, verbosity, len(v.Tx))
			}
			for i, tx := range b.Transactions {
				if v.Tx[i].TxID != v1.Tx[i] || v.Tx[i].BlockHash != "" || v.Tx[i].InActiveChain != nil {
					t.Fatalf("getblock %d %d: tx %d %+v", height, verbosity, i, v.Tx[i])
				}
				checkTx(t, &v.Tx[i], tx, coins, withSpends, verbosity == 3)
			}
		}
	}
	witness := false
	for height := int32(0); height <= c.Tip(); height += 7 {
		check(height, height > 0)
		for _, tx := range c.Blocks[height].Transactions[1:] {
			witness = witness || tx.HasWitness()
		}
	}
	if !witness {
		t.Fatal("no witness transaction was checked")
	}
	c.PruneUndo(7)
	h = New(withWork(t, c), Options{Bodies: c.Bodies})
	check(c.Tip()-20, false)
	check(c.Tip()-3, true)
}

// TestGetRawTransaction checks getrawtransaction given the block hash at
// verbosities 0 to 2 (true and false too) for a sample of a chain past
// segwit's activation, with Core's block fields, and the prevouts of
// verbosity 2 from the undo records.
func TestGetRawTransaction(t *testing.T) {
	c := rpctest.New(t, testChainConfig(445), 440)
	h := New(c.Views, Options{Bodies: c.Bodies})
	coins := chainCoins(c.Blocks)
	tip := c.Tip()
	n, decoded := 0, 0
	for height := int32(1); height <= tip; height += 3 {
		b := c.Blocks[height]
		blockHash := b.BlockHash().String()
		for _, tx := range b.Transactions {
			txid := tx.TxHash().String()
			var hexTx string
			callOK(t, h, "getrawtransaction", `["`+txid+`",false,"`+blockHash+`"]`, &hexTx)
			var raw bytes.Buffer
			if err := tx.Serialize(&raw); err != nil {
				t.Fatal(err)
			}
			if hexTx != hex.EncodeToString(raw.Bytes()) {
				t.Fatalf("getrawtransaction %s: not the transaction", txid)
			}
			for verbosity, params := range []string{`["` + txid + `",true,"` + blockHash + `"]`,
				`{"txid":"` + txid + `","verbosity":2,"blockhash":"` + blockHash + `"}`} {
				var r txResult
				callOK(t, h, "getrawtransaction", params, &r)
				if r.InActiveChain == nil || !*r.InActiveChain || r.BlockHash != blockHash || r.Confirmations != tip-height+1 ||
					r.Time != b.Header.Timestamp.Unix() || r.BlockTime != r.Time {
					t.Fatalf("getrawtransaction %s: block fields %+v", txid, r)
				}
				checkTx(t, &r, tx, coins, verbosity == 1, verbosity == 1)
				for _, v := range r.Vin {
					if v.ScriptSig != nil && strings.Contains(v.ScriptSig.Asm, "[ALL]") {
						decoded++
					}
				}
			}
			n++
		}
	}
	if decoded == 0 {
		t.Fatal("no scriptSig signature was shown with its hash type")
	}
	t.Logf("%d transactions checked, %d scriptSig signatures decoded", n, decoded)
}

// TestBlockErrors checks the answers for what satnode cannot give, in
// Core's codes and words.
func TestBlockErrors(t *testing.T) {
	c := rpctest.New(t, testChainConfig(30), 25)
	h := New(c.Views, Options{Bodies: c.Bodies})
	hash := c.Blocks[10].BlockHash().String()
	txid := c.Blocks[10].Transactions[0].TxHash().String()
	unknown := strings.Repeat("ab", 32)
	cases := []struct {
		method, params string
		code           int
		msg            string
	}{
		{"getblock", `["` + unknown + `"]`, CodeInvalidAddrOrKey, "Block not found"},
		{"getblock", `["zz"]`, CodeInvalidParameter, "blockhash must be of length 64 (not 2, for 'zz')"},
		{"getblock", `["` + hash + `","1"]`, CodeMisc, "JSON value of type string is not of expected type number"},
		{"getblock", `["` + hash + `",1.5]`, CodeMisc, "JSON integer out of range"},
		{"getblock", `["` + hash + `",99999999999]`, CodeMisc, "JSON integer out of range"},
		{"getblock", `{"blockhash":"` + hash + `","verbosity":1,"verbose":1}`, CodeInvalidParameter, "Unknown named parameter verbose"},
		{"getblock", `[]`, CodeMisc, "getblock \"blockhash\" ( verbosity )*"},
		{"getrawtransaction", `["` + txid + `"]`, CodeInvalidAddrOrKey, errNoTxIndex.Message},
		{"getrawtransaction", `["` + txid + `",1,null]`, CodeInvalidAddrOrKey, errNoTxIndex.Message},
		{"getrawtransaction", `["` + txid + `",1,"` + unknown + `"]`, CodeInvalidAddrOrKey, "Block hash not found"},
		{"getrawtransaction", `["` + txid + `",1,"` + c.Blocks[11].BlockHash().String() + `"]`, CodeInvalidAddrOrKey,
			errTxNotInBlock.Message},
		{"getrawtransaction", `["` + txid + `",1,"x"]`, CodeInvalidParameter, "parameter 3 must be of length 64 (not 1, for 'x')"},
		{"getrawtransaction", `["` + txid + `",1,7]`, CodeType, "Wrong type passed:*"},
		{"getrawtransaction", `["` + c.Blocks[0].Transactions[0].TxHash().String() + `"]`, CodeInvalidAddrOrKey,
			errGenesisTx.Message},
	}
	for _, tc := range cases {
		msg := callErr(t, h, tc.method, tc.params, tc.code)
		if p, prefix := strings.CutSuffix(tc.msg, "*"); (prefix && !strings.HasPrefix(msg, p)) || (!prefix && msg != tc.msg) {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.params, msg, tc.msg)
		}
	}

	// Bodies the store does not hold: Core's answers for pruned data. The
	// genesis block needs no body.
	c.Bodies.Delete(c.Blocks[10].BlockHash())
	if msg := callErr(t, h, "getblock", `["`+hash+`"]`, CodeMisc); msg != "Block not available (pruned data)" {
		t.Errorf("getblock of a pruned body: %q", msg)
	}
	if msg := callErr(t, h, "getrawtransaction", `["`+txid+`",0,"`+hash+`"]`, CodeMisc); msg != "Block not available" {
		t.Errorf("getrawtransaction in a pruned body: %q", msg)
	}
	none := New(c.Views, Options{})
	callErr(t, none, "getblock", `["`+c.Blocks[5].BlockHash().String()+`"]`, CodeMisc)
	var genesis string
	callOK(t, none, "getblock", `["`+c.Blocks[0].BlockHash().String()+`",0]`, &genesis)
	if genesis != hex.EncodeToString(serializeBlock(t, c.Blocks[0])) {
		t.Errorf("the genesis block without a body store: %s", genesis)
	}
}

// TestScriptSigAsm checks Core's scriptSig disassembly on hand-made
// scripts: numbers for short pushes, a strict DER signature's hash type by
// name, non-DER data and OP_RETURN scripts left alone, and a cut push.
func TestScriptSigAsm(t *testing.T) {
	rs := strings.Repeat("12", 32)
	sig := "30440220" + rs + "0220" + rs // strict DER, without the hash type
	for _, tc := range []struct{ script, asm string }{
		{"", ""},
		{"00", "0"},
		{"0102", "2"},
		{"0181", "-1"},
		{"02ff00", "255"},
		{"04ffffff7f", "2147483647"},
		{"04ffffffff", "-2147483647"},
		{"4f51605a", "-1 1 16 10"},
		{"47" + sig + "01", sig + "[ALL]"},
		{"47" + sig + "83", sig + "[SINGLE|ANYONECANPAY]"},
		{"47" + sig + "04", sig + "04"},
		{"6a47" + sig + "01", "OP_RETURN " + sig + "01"},
		{"76a9b1b2bbff", "OP_DUP OP_HASH160 OP_CHECKLOCKTIMEVERIFY OP_CHECKSEQUENCEVERIFY OP_UNKNOWN OP_INVALIDOPCODE"},
		{"0501020304", "[error]"},
		{"51" + "4c", "1 [error]"},
		{"4d03000102ff", "-8323585"},
		{"4d05000102030405", "0102030405"},
	} {
		b, err := hex.DecodeString(tc.script)
		if err != nil {
			t.Fatal(err)
		}
		if got := scriptSigAsm(b); got != tc.asm {
			t.Errorf("%s: %q, want %q", tc.script, got, tc.asm)
		}
	}
}
