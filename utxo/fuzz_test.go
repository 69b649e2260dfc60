package utxo

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo/utxotest"
)

// Fuzz targets for every decoder of stored or received bytes. Each must
// reject garbage with an error, never panic, and re-encode what it accepts
// to the same bytes (the encodings are canonical).

func FuzzDecodeCoin(f *testing.F) {
	f.Add([]byte{0x13, 0x32, 0x05})
	f.Add(EncodeCoin(&Coin{Value: 5000, Script: []byte{0x51}, Height: 7}))
	f.Add(EncodeCoin(&Coin{Value: 1, Script: bytes.Repeat([]byte{1}, 40), Height: 1 << 20, Coinbase: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCoin(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeCoin(&c), b) {
			t.Fatalf("%x decodes to %+v which encodes to %x", b, c, EncodeCoin(&c))
		}
	})
}

func FuzzDecodeUndo(f *testing.F) {
	var u undoBuilder
	u.addTx(&chainhash.Hash{1}, []uint32{0}, nil, nil)
	u.addTx(&chainhash.Hash{2}, []uint32{0, 1}, []Outpoint{{Hash: chainhash.Hash{3}}},
		[]Coin{{Value: 50, Script: []byte{0x51}, Height: 1}})
	f.Add(u.bytes())
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		txs, err := decodeUndo(b)
		if err != nil {
			return
		}
		var re undoBuilder
		for _, tx := range txs {
			var ops []Outpoint
			var coins []Coin
			for _, s := range tx.spent {
				ops = append(ops, s.op)
				coins = append(coins, s.coin)
			}
			re.addTx(&tx.txid, tx.created, ops, coins)
		}
		if !bytes.Equal(re.bytes(), b) {
			t.Fatalf("undo %x re-encodes to %x", b, re.bytes())
		}
	})
}

func FuzzParseKey(f *testing.F) {
	op := Outpoint{Hash: chainhash.Hash{9}, Index: 1000}
	sh := [32]byte{7}
	for _, k := range [][]byte{appendCoinKey(nil, &op), appendAddrUTXOKey(nil, &sh, &op), addrStatsKey(&sh),
		heightKey(tagHeader, 5), hashHeightKey(&op.Hash), stateKey(), {}, {'z', 1}} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey(b)
		if err != nil {
			return
		}
		_ = k.String()
		var re []byte
		switch b[0] {
		case tagCoin:
			re = appendCoinKey(nil, &k.Outpoint)
		case tagAddrUTXO:
			re = appendAddrUTXOKey(nil, &k.ScriptHash, &k.Outpoint)
		case tagAddrStats:
			re = addrStatsKey(&k.ScriptHash)
		case tagHashHeight:
			re = hashHeightKey(&k.Hash)
		case tagMeta:
			re = append(prefix(tagMeta), k.Name...)
		default:
			re = heightKey(b[0], k.Height)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("key %x re-encodes to %x", b, re)
		}
	})
}

func FuzzDecodeRecords(f *testing.F) {
	r := &BlockRecord{Totals: SetTotals{TxOuts: 3, TotalAmount: 99}, Stats: BlockStats{Txs: 1, Fees: 5}}
	f.Add(r.encode())
	f.Add((&State{Network: "regtest", HasTip: true}).encode())
	f.Add((&AddrStats{FundedCount: 2, FundedSum: 10, SpentCount: 1, SpentSum: 4, TxCount: 2}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeBlockRecord(1, b); err == nil && !bytes.Equal(r.encode(), b) {
			t.Fatalf("block record %x re-encodes differently", b)
		}
		if s, err := decodeState(b); err == nil && !bytes.Equal(s.encode(), b) {
			t.Fatalf("state %x re-encodes differently", b)
		}
		if a, err := decodeAddrStats(b); err == nil && !bytes.Equal(a.encode(), b) {
			t.Fatalf("addr stats %x re-encodes differently", b)
		}
		_, _, _ = readCompressedScript(b)
	})
}

// FuzzDecodeBlock feeds arbitrary bytes (seeded with real blocks) to the
// block decoder and, when they decode, to the context-free checks.
func FuzzDecodeBlock(f *testing.F) {
	if blocks, err := utxotest.MainnetChain(); err == nil {
		for _, h := range []int{0, 170, 546, 14131} {
			f.Add(blocks[h])
		}
	}
	p := MainNet()
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b)
		if err != nil {
			var re RuleError
			if !asRule(err, &re) || re.Code != ErrMalformedBlock {
				t.Fatalf("decode error %v is not ErrMalformedBlock", err)
			}
			return
		}
		_ = CheckBlock(blk, p, 500000)
		_ = CheckBlock(blk, p, 1)
	})
}

func asRule(err error, re *RuleError) bool {
	r, ok := err.(RuleError)
	if ok {
		*re = r
	}
	return ok
}
