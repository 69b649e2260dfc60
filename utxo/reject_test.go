package utxo_test

import (
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// flushedDigest flushes e and returns the store's content digest.
func flushedDigest(t testing.TB, e *utxo.Engine, s utxo.KVReader) [32]byte {
	t.Helper()
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	return digestOf(t, s)
}

func wantRule(t testing.TB, err error, code utxo.ErrorCode) {
	t.Helper()
	var re utxo.RuleError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want rule error %v", err, code)
	}
	if re.Code != code {
		t.Fatalf("got %v, want %v", err, code)
	}
}

// TestRejectOneByteChanged flips every byte of mainnet block 170 (the first
// spend) in turn: each variant is rejected with a rule error, and the store
// is byte-identical afterwards. Then the genuine block connects.
func TestRejectOneByteChanged(t *testing.T) {
	raws := mainnetBlocks(t)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{})
	for _, raw := range raws[:170] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	before := flushedDigest(t, e, s)
	orig := raws[170]
	codes := map[utxo.ErrorCode]int{}
	for i := range orig {
		for _, x := range []byte{0x01, 0x80} {
			mut := append([]byte(nil), orig...)
			mut[i] ^= x
			b, err := utxo.DecodeBlock(mut)
			if err == nil {
				_, err = e.Connect(b)
			}
			var re utxo.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("byte %d ^%#x: got %v, want a rule error", i, x, err)
			}
			codes[re.Code]++
		}
	}
	if got := flushedDigest(t, e, s); got != before {
		t.Fatal("rejected blocks changed the store")
	}
	if _, err := e.Connect(decode(t, orig)); err != nil {
		t.Fatalf("genuine block 170: %v", err)
	}
	t.Logf("%d variants rejected: %v", 2*len(orig), codes)
}

// TestRejections checks each input rule on hand-made regtest blocks: the
// specific error, and a store byte-identical to before the attempt.
func TestRejections(t *testing.T) {
	p := testParams()
	b := newBuilder(t, p, 7)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: p})
	chain := []*node{b.genesis}
	cur := b.genesis
	for i := 0; i < 4; i++ {
		cur = b.child(cur, 3)
		chain = append(chain, cur)
	}
	connectMsgs(t, e, chain)
	before := flushedDigest(t, e, s)
	height := cur.height + 1
	subsidy := p.Subsidy(height)
	coinOp := b.pick(cur.coins, height, 1)[0]
	coin := cur.coins[coinOp]
	spend := func(op utxo.Outpoint, value int64) *wire.MsgTx {
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: op.Hash, Index: op.Index}, nil, nil))
		tx.AddTxOut(wire.NewTxOut(value, []byte{0x51}))
		return tx
	}
	missing := utxo.Outpoint{Hash: chainhash.Hash{0xee}, Index: 3}
	// The coinbase of the block being built, for the immature spend.
	selfCB := b.assemble(cur, nil, subsidy)
	selfCBOp := utxo.Outpoint{Hash: selfCB.Transactions[0].TxHash(), Index: 0}
	dupIn := spend(coinOp, coin.Value)
	dupIn.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: coinOp.Hash, Index: coinOp.Index}, nil, nil))

	cases := []struct {
		name string
		msg  func() *wire.MsgBlock
		code utxo.ErrorCode
	}{
		{"missing input", func() *wire.MsgBlock {
			return b.assemble(cur, []*wire.MsgTx{spend(missing, 1)}, subsidy)
		}, utxo.ErrMissingInput},
		{"overspend", func() *wire.MsgBlock {
			return b.assemble(cur, []*wire.MsgTx{spend(coinOp, coin.Value+1)}, subsidy)
		}, utxo.ErrSpendTooHigh},
		{"over-paying coinbase", func() *wire.MsgBlock {
			// Fees of 100 sat, and the coinbase claims one more.
			return b.assemble(cur, []*wire.MsgTx{spend(coinOp, coin.Value-100)}, subsidy+101)
		}, utxo.ErrBadCoinbaseValue},
		{"double spend in block", func() *wire.MsgBlock {
			return b.assemble(cur, []*wire.MsgTx{spend(coinOp, 1), spend(coinOp, 2)}, subsidy)
		}, utxo.ErrMissingInput},
		{"duplicate inputs", func() *wire.MsgBlock {
			return b.assemble(cur, []*wire.MsgTx{dupIn}, subsidy)
		}, utxo.ErrDuplicateTxInputs},
		{"immature coinbase spend", func() *wire.MsgBlock {
			msg := b.assemble(cur, nil, subsidy)
			msg.Transactions = append(msg.Transactions, spend(selfCBOp, 1))
			msg.Transactions[0] = selfCB.Transactions[0]
			solve(t, msg, p)
			return msg
		}, utxo.ErrImmatureSpend},
		{"duplicated tail", func() *wire.MsgBlock {
			msg := b.assemble(cur, []*wire.MsgTx{spend(coinOp, coin.Value-5), spend(missing, 0)}, subsidy)
			msg.Transactions = append(msg.Transactions, msg.Transactions[2])
			return msg // same merkle root: no re-solve needed
		}, utxo.ErrMutatedMerkle},
		{"bad merkle root", func() *wire.MsgBlock {
			msg := b.assemble(cur, []*wire.MsgTx{spend(coinOp, 1)}, subsidy)
			msg.Transactions[1].TxOut[0].Value = 2
			for {
				// Re-grind without fixing the root.
				msg.Header.Nonce++
				h := msg.Header.BlockHash()
				if h[31] < 0x7f {
					return msg
				}
			}
		}, utxo.ErrBadMerkleRoot},
		{"does not extend the tip", func() *wire.MsgBlock {
			return b.assemble(cur.parent, nil, subsidy)
		}, utxo.ErrPrevBlockMismatch},
		{"second coinbase", func() *wire.MsgBlock {
			msg := b.assemble(cur, nil, subsidy)
			other := b.assemble(cur, nil, subsidy).Transactions[0]
			msg.Transactions = append(msg.Transactions, other)
			solve(t, msg, p)
			return msg
		}, utxo.ErrMultipleCoinbases},
		{"negative output", func() *wire.MsgBlock {
			return b.assemble(cur, []*wire.MsgTx{spend(coinOp, -1)}, subsidy)
		}, utxo.ErrBadTxOutValue},
		{"high hash", func() *wire.MsgBlock {
			msg := b.assemble(cur, nil, subsidy)
			for {
				msg.Header.Nonce++
				h := msg.Header.BlockHash()
				if h[31] >= 0x80 {
					return msg
				}
			}
		}, utxo.ErrHighHash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blk, err := utxo.NewBlock(c.msg())
			if err == nil {
				_, err = e.Connect(blk)
			}
			wantRule(t, err, c.code)
			if got := flushedDigest(t, e, s); got != before {
				t.Fatal("rejected block changed the store")
			}
		})
	}
	// And a valid block still connects afterwards.
	connectMsgs(t, e, []*node{b.child(cur, 3)})
}

// TestBIP30 repeats a coinbase. While the earlier copy has an unspent
// output the repeat is rejected (ErrOverwriteTx); once all its outputs are
// spent BIP30 allows it, the coin comes back with the new height, and
// disconnecting the repeat restores the store byte for byte.
func TestBIP30(t *testing.T) {
	p := testParams()
	b := newBuilder(t, p, 30)
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: p})
	cur := b.genesis
	chain := []*node{cur}
	for i := 0; i < 3; i++ {
		cur = b.child(cur, 0)
		chain = append(chain, cur)
	}
	connectMsgs(t, e, chain)
	early := chain[1].msg.Transactions[0] // coinbase of height 1, one output
	earlyOp := utxo.Outpoint{Hash: early.TxHash(), Index: 0}
	if _, ok := cur.coins[earlyOp]; !ok {
		t.Fatal("test setup: the early coinbase output is not unspent")
	}
	before := flushedDigest(t, e, s)
	dup := b.assembleWith(cur, early.Copy(), nil)
	_, err := e.Connect(toBlock(t, dup))
	wantRule(t, err, utxo.ErrOverwriteTx)
	if flushedDigest(t, e, s) != before {
		t.Fatal("rejected repeat changed the store")
	}

	// Spend the early coinbase, then repeat it: allowed.
	spend := wire.NewMsgTx(2)
	spend.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: earlyOp.Hash, Index: 0}, nil, nil))
	spend.AddTxOut(wire.NewTxOut(early.TxOut[0].Value, []byte{0x51}))
	spender := nodeFor(cur, b.assemble(cur, []*wire.MsgTx{spend}, p.Subsidy(cur.height+1)))
	connectMsgs(t, e, []*node{spender})
	mid := flushedDigest(t, e, s)
	repeat := nodeFor(spender, b.assembleWith(spender, early.Copy(), nil))
	connectMsgs(t, e, []*node{repeat})
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := utxo.NewReader(s).Coin(earlyOp)
	if err != nil || c.Height != repeat.height || !c.Coinbase {
		t.Fatalf("repeated coinbase output: %+v, %v", c, err)
	}
	if digestOf(t, s) != freshDigest(t, p, repeat) {
		t.Fatal("store differs from a fresh import of the same chain")
	}
	if _, err := e.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if flushedDigest(t, e, s) != mid {
		t.Fatal("disconnecting the repeat did not restore the store")
	}
}
