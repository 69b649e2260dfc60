package core

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/rpc/rpctest"
)

// compareGetBlock asks satnode and btcd for every block of the chain
// through rpcclient's GetBlock (verbosity 0, decoded into a wire.MsgBlock)
// and GetBlockVerbose (verbosity 1, btcjson.GetBlockVerboseResult): the
// answers must be the same, and the block the chain holds. Core's fields
// btcjson does not decode (mediantime, chainwork, nTx, target) are checked
// against the chain. Then the errors: an unknown block (-5 from both), and
// a block whose body satnode does not hold (Core's -1 for pruned data).
func compareGetBlock(t *testing.T, c *rpctest.Chain, sat, btcd *rpcclient.Client) {
	tip := c.Tip()
	for h := int32(0); h <= tip; h++ {
		want := c.Blocks[h]
		hash := want.BlockHash()
		b1, err1 := sat.GetBlock(&hash)
		b2, err2 := btcd.GetBlock(&hash)
		if err1 != nil || err2 != nil {
			t.Fatalf("getblock %d 0: satnode %v, btcd %v", h, err1, err2)
		}
		if !bytes.Equal(serializeBlock(t, b1), serializeBlock(t, b2)) || !bytes.Equal(serializeBlock(t, b1), serializeBlock(t, want)) {
			t.Fatalf("getblock %d 0: the blocks differ", h)
		}
		v1, err1 := sat.GetBlockVerbose(&hash)
		v2, err2 := btcd.GetBlockVerbose(&hash)
		if err1 != nil || err2 != nil {
			t.Fatalf("getblock %d 1: satnode %v, btcd %v", h, err1, err2)
		}
		if h == 0 {
			v2.PreviousHash = "" // btcd: all zeros; Core leaves it out
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("getblock %d 1:\nsatnode %+v\nbtcd    %+v", h, *v1, *v2)
		}
		if len(v1.Tx) != len(want.Transactions) {
			t.Fatalf("getblock %d 1: %d txids for %d transactions", h, len(v1.Tx), len(want.Transactions))
		}
		raw, err := sat.RawRequest("getblock", rawParams(t, hash.String(), 1))
		if err != nil {
			t.Fatal(err)
		}
		var core struct {
			MedianTime int64  `json:"mediantime"`
			ChainWork  string `json:"chainwork"`
			NTx        int    `json:"nTx"`
			Target     string `json:"target"`
		}
		if err := json.Unmarshal(raw, &core); err != nil {
			t.Fatal(err)
		}
		if core.MedianTime != medianOf(c.Blocks[:h+1]) || core.ChainWork != chainWorkHex(c.Blocks[:h+1]) ||
			core.NTx != len(want.Transactions) || core.Target != target(want.Header.Bits) {
			t.Fatalf("getblock %d 1: Core's fields %+v", h, core)
		}
	}
	var missing chainhash.Hash
	missing[0] = 1
	_, err1 := sat.GetBlockVerbose(&missing)
	_, err2 := btcd.GetBlockVerbose(&missing)
	if code(err1) != CodeInvalidAddrOrKey || code(err2) != CodeInvalidAddrOrKey {
		t.Fatalf("getblock of an unknown block: satnode %v, btcd %v", err1, err2)
	}
	// A block of the chain whose body is not held: Core's pruned answer.
	pruned := c.Blocks[tip/2]
	hash := pruned.BlockHash()
	c.Bodies.Delete(hash)
	defer c.Bodies.Put(hash, serializeBlock(t, pruned))
	_, err := sat.GetBlock(&hash)
	if e, ok := err.(*btcjson.RPCError); !ok || e.Code != CodeMisc || e.Message != "Block not available (pruned data)" {
		t.Fatalf("getblock of a block without its body: %v", err)
	}
	t.Logf("getblock agrees with btcd on %d blocks", tip+1)
}

// compareGetRawTransaction asks for every transaction of the chain but the
// genesis coinbase: satnode given the block hash (rpcclient has no
// three-argument form, so through RawRequest), btcd by its transaction
// index (GetRawTransaction, GetRawTransactionVerbose). The raw bytes must
// be the same, and the verbose answers the same once btcd's known
// differences are set aside (normalizeTx). Then Core's errors for what
// satnode cannot answer.
func compareGetRawTransaction(t *testing.T, c *rpctest.Chain, sat, btcd *rpcclient.Client) {
	n := 0
	for h := 1; h < len(c.Blocks); h++ {
		blockHash := c.Blocks[h].BlockHash().String()
		for _, tx := range c.Blocks[h].Transactions {
			txid := tx.TxHash()
			raw, err := sat.RawRequest("getrawtransaction", rawParams(t, txid.String(), 0, blockHash))
			if err != nil {
				t.Fatalf("getrawtransaction %s 0: %v", txid, err)
			}
			var hexTx string
			if err := json.Unmarshal(raw, &hexTx); err != nil {
				t.Fatal(err)
			}
			b2, err := btcd.GetRawTransaction(&txid)
			if err != nil {
				t.Fatalf("btcd getrawtransaction %s: %v", txid, err)
			}
			var want bytes.Buffer
			if err := b2.MsgTx().Serialize(&want); err != nil {
				t.Fatal(err)
			}
			if hexTx != hex.EncodeToString(want.Bytes()) {
				t.Fatalf("getrawtransaction %s 0: satnode %s, btcd %x", txid, hexTx, want.Bytes())
			}
			raw, err = sat.RawRequest("getrawtransaction", rawParams(t, txid.String(), 1, blockHash))
			if err != nil {
				t.Fatalf("getrawtransaction %s 1: %v", txid, err)
			}
			var v1 btcjson.TxRawResult
			if err := json.Unmarshal(raw, &v1); err != nil {
				t.Fatal(err)
			}
			v2, err := btcd.GetRawTransactionVerbose(&txid)
			if err != nil {
				t.Fatalf("btcd getrawtransaction %s 1: %v", txid, err)
			}
			normalizeTx(t, &v1, v2, tx)
			if !reflect.DeepEqual(&v1, v2) {
				t.Fatalf("getrawtransaction %s 1:\nsatnode %+v\nbtcd    %+v", txid, v1, *v2)
			}
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("only %d transactions compared", n)
	}
	// rpcclient's own call has no block hash: Core's answer without a
	// transaction index.
	some := c.Blocks[5].Transactions[0].TxHash()
	if _, err := sat.GetRawTransactionVerbose(&some); code(err) != CodeInvalidAddrOrKey ||
		err.(*btcjson.RPCError).Message != errNoTxIndex.Message {
		t.Fatalf("getrawtransaction without a block hash: %v", err)
	}
	for _, tc := range []struct {
		params []json.RawMessage
		code   int
		msg    string
	}{
		{rawParams(t, some.String(), 1, c.Blocks[6].BlockHash().String()), CodeInvalidAddrOrKey, errTxNotInBlock.Message},
		{rawParams(t, some.String(), 1, strings.Repeat("11", 32)), CodeInvalidAddrOrKey, "Block hash not found"},
		{rawParams(t, c.Blocks[0].Transactions[0].TxHash().String(), 1, c.Blocks[0].BlockHash().String()),
			CodeInvalidAddrOrKey, errGenesisTx.Message},
		{rawParams(t, "xyz", 1, c.Blocks[5].BlockHash().String()), CodeInvalidParameter,
			"parameter 1 must be of length 64 (not 3, for 'xyz')"},
	} {
		_, err := sat.RawRequest("getrawtransaction", tc.params)
		if e, ok := err.(*btcjson.RPCError); !ok || int(e.Code) != tc.code || e.Message != tc.msg {
			t.Fatalf("getrawtransaction %s: %v, want %d %q", tc.params, err, tc.code, tc.msg)
		}
	}
	t.Logf("getrawtransaction agrees with btcd on %d transactions", n)
}

// sighashAsm matches Core's decoded signature in a scriptSig asm: the
// signature without its last byte, then the hash type's name.
var sighashAsm = regexp.MustCompile(`([0-9a-f]+)\[(ALL|NONE|SINGLE)(\|ANYONECANPAY)?\]`)

// normalizeTx sets aside the differences between satnode's (Core's)
// transaction object and btcd's, after checking satnode's side of each:
//   - scriptSig asm: Core writes a signature's hash type by name
//     ("…[ALL]"), btcd leaves the byte in the hex;
//   - a coinbase's witness: Core's "txinwitness"; btcd names it
//     "witness", which btcjson does not decode;
//   - btcd fills the deprecated reqSigs and addresses of scriptPubKey.
func normalizeTx(t *testing.T, sat, btcd *btcjson.TxRawResult, tx *wire.MsgTx) {
	t.Helper()
	types := map[string]string{"ALL": "01", "NONE": "02", "SINGLE": "03"}
	for i := range sat.Vin {
		v := &sat.Vin[i]
		if v.IsCoinBase() {
			if len(tx.TxIn[0].Witness) != len(v.Witness) {
				t.Fatalf("%s: coinbase witness %v", tx.TxHash(), v.Witness)
			}
			v.Witness = nil
			continue
		}
		if v.ScriptSig == nil {
			continue
		}
		v.ScriptSig.Asm = sighashAsm.ReplaceAllStringFunc(v.ScriptSig.Asm, func(m string) string {
			p := sighashAsm.FindStringSubmatch(m)
			b := types[p[2]]
			if p[3] != "" {
				b = string([]byte{'8', b[1]})
			}
			return p[1] + b
		})
	}
	for i := range btcd.Vout {
		btcd.Vout[i].ScriptPubKey.ReqSigs, btcd.Vout[i].ScriptPubKey.Addresses = 0, nil
	}
}

func serializeBlock(t *testing.T, b *wire.MsgBlock) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// medianOf is the median time past of the last block of blocks: the
// median of its and up to ten earlier timestamps.
func medianOf(blocks []*wire.MsgBlock) int64 {
	var times []int64
	for i := len(blocks) - 1; i >= 0 && len(times) < 11; i-- {
		times = append(times, blocks[i].Header.Timestamp.Unix())
	}
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			if times[j] < times[i] {
				times[i], times[j] = times[j], times[i]
			}
		}
	}
	return times[len(times)/2]
}
