package utxo_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
)

// testParams are regtest's, with a coinbase maturity of one block so that
// short test chains can spend their coinbases. The genesis block is
// regtest's.
func testParams() *utxo.Params {
	p := utxo.RegTest()
	chain := chaincfg.RegressionNetParams
	chain.CoinbaseMaturity = 1
	p.Chain = &chain
	return p
}

// node is a block of a test chain with the set after it, so the builder can
// grow any branch.
type node struct {
	msg    *wire.MsgBlock
	height int32
	parent *node
	coins  map[utxo.Outpoint]utxo.Coin
}

// builder makes small valid regtest chains with anyone-can-spend outputs
// (script validation is off in these tests).
type builder struct {
	t       testing.TB
	rng     *rand.Rand
	params  *utxo.Params
	genesis *node
	seq     uint32
}

func newBuilder(t testing.TB, params *utxo.Params, seed uint64) *builder {
	g := params.Chain.GenesisBlock
	return &builder{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), params: params,
		genesis: &node{msg: g, height: 0, coins: map[utxo.Outpoint]utxo.Coin{}}}
}

// scripts the builder pays to: one of each template the store compresses,
// plus a raw one and an unspendable OP_RETURN.
var testScripts = [][]byte{
	append(append([]byte{0x76, 0xa9, 20}, make([]byte, 20)...), 0x88, 0xac),
	append(append([]byte{0xa9, 20}, make([]byte, 20)...), 0x87),
	append([]byte{0x00, 20}, make([]byte, 20)...),
	append([]byte{0x00, 32}, make([]byte, 32)...),
	append([]byte{0x51, 32}, make([]byte, 32)...),
	{0x51},
	{0x6a, 0x04, 0xde, 0xad, 0xbe, 0xef},
}

func (b *builder) script() []byte {
	s := append([]byte(nil), testScripts[b.rng.IntN(len(testScripts))]...)
	if len(s) > 20 {
		// Vary the hash so script hashes repeat only sometimes.
		s[len(s)/2] = byte(b.rng.IntN(8))
	}
	return s
}

// child builds a block on parent: a coinbase claiming subsidy + fees +
// extraCoinbase, and a few random transactions spending coins of the
// parent's set (and sometimes outputs created earlier in the block).
func (b *builder) child(parent *node, ntx int) *node {
	coins := make(map[utxo.Outpoint]utxo.Coin, len(parent.coins))
	for k, v := range parent.coins {
		coins[k] = v
	}
	height := parent.height + 1
	var txs []*wire.MsgTx
	var fees int64
	for i := 0; i < ntx && len(coins) > 0; i++ {
		tx := wire.NewMsgTx(2)
		var in int64
		for _, op := range b.pick(coins, height, 1+b.rng.IntN(3)) {
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: op.Hash, Index: op.Index}, nil, nil))
			in += coins[op].Value
			delete(coins, op)
		}
		if len(tx.TxIn) == 0 {
			break
		}
		fee := int64(b.rng.IntN(1000))
		if fee > in {
			fee = in
		}
		fees += fee
		nout := 1 + b.rng.IntN(3)
		rest := in - fee
		for j := 0; j < nout; j++ {
			v := rest / int64(nout-j)
			rest -= v
			tx.AddTxOut(wire.NewTxOut(v, b.script()))
		}
		txid := tx.TxHash()
		for j, out := range tx.TxOut {
			if !utxo.IsUnspendable(out.PkScript) {
				coins[utxo.Outpoint{Hash: txid, Index: uint32(j)}] = utxo.Coin{Value: out.Value, Script: out.PkScript, Height: height}
			}
		}
		txs = append(txs, tx)
	}
	msg := b.assemble(parent, txs, b.params.Subsidy(height)+fees)
	cbid := msg.Transactions[0].TxHash()
	for j, out := range msg.Transactions[0].TxOut {
		if !utxo.IsUnspendable(out.PkScript) {
			coins[utxo.Outpoint{Hash: cbid, Index: uint32(j)}] = utxo.Coin{Value: out.Value, Script: out.PkScript, Height: height, Coinbase: true}
		}
	}
	return &node{msg: msg, height: height, parent: parent, coins: coins}
}

// pick chooses up to n spendable coins (mature coinbases included) in a
// deterministic order.
func (b *builder) pick(coins map[utxo.Outpoint]utxo.Coin, height int32, n int) []utxo.Outpoint {
	var all []utxo.Outpoint
	for op, c := range coins {
		if c.Coinbase && height-c.Height < int32(b.params.Chain.CoinbaseMaturity) {
			continue
		}
		all = append(all, op)
	}
	sortOutpoints(all)
	b.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if len(all) > n {
		all = all[:n]
	}
	return all
}

func sortOutpoints(ops []utxo.Outpoint) {
	for i := 1; i < len(ops); i++ {
		for j := i; j > 0 && less(ops[j], ops[j-1]); j-- {
			ops[j], ops[j-1] = ops[j-1], ops[j]
		}
	}
}

func less(a, b utxo.Outpoint) bool {
	for i := range a.Hash {
		if a.Hash[i] != b.Hash[i] {
			return a.Hash[i] < b.Hash[i]
		}
	}
	return a.Index < b.Index
}

// assemble makes a block on parent with a coinbase paying cbValue and txs,
// computes the merkle root and solves regtest proof of work.
func (b *builder) assemble(parent *node, txs []*wire.MsgTx, cbValue int64) *wire.MsgBlock {
	height := parent.height + 1
	b.seq++
	cbScript, err := txscript.NewScriptBuilder().AddInt64(int64(height)).AddInt64(int64(b.seq)).Script()
	if err != nil {
		b.t.Fatal(err)
	}
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), cbScript, nil))
	cb.AddTxOut(wire.NewTxOut(cbValue, []byte{0x51}))
	return b.assembleWith(parent, cb, txs)
}

// assembleWith makes a block on parent with the given coinbase.
func (b *builder) assembleWith(parent *node, cb *wire.MsgTx, txs []*wire.MsgTx) *wire.MsgBlock {
	msg := &wire.MsgBlock{Header: wire.BlockHeader{
		Version:   4,
		PrevBlock: parent.msg.BlockHash(),
		Timestamp: parent.msg.Header.Timestamp.Add(10 * time.Minute),
		Bits:      b.params.Chain.PowLimitBits,
	}}
	msg.Transactions = append([]*wire.MsgTx{cb}, txs...)
	solve(b.t, msg, b.params)
	return msg
}

// solve sets the merkle root and grinds the nonce to the regtest target.
func solve(t testing.TB, msg *wire.MsgBlock, p *utxo.Params) {
	t.Helper()
	utxs := make([]*btcutil.Tx, len(msg.Transactions))
	for i, tx := range msg.Transactions {
		utxs[i] = btcutil.NewTx(tx)
	}
	merkles := blockchain.BuildMerkleTreeStore(utxs, false)
	msg.Header.MerkleRoot = *merkles[len(merkles)-1]
	target := blockchain.CompactToBig(msg.Header.Bits)
	for nonce := uint32(0); ; nonce++ {
		msg.Header.Nonce = nonce
		h := msg.Header.BlockHash()
		if blockchain.HashToBig(&h).Cmp(target) <= 0 {
			return
		}
	}
}

// nodeFor wraps a hand-made block on parent, computing the set after it.
func nodeFor(parent *node, msg *wire.MsgBlock) *node {
	coins := make(map[utxo.Outpoint]utxo.Coin, len(parent.coins))
	for k, v := range parent.coins {
		coins[k] = v
	}
	height := parent.height + 1
	for i, tx := range msg.Transactions {
		if i > 0 {
			for _, in := range tx.TxIn {
				delete(coins, utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index})
			}
		}
		txid := tx.TxHash()
		for j, out := range tx.TxOut {
			if !utxo.IsUnspendable(out.PkScript) {
				coins[utxo.Outpoint{Hash: txid, Index: uint32(j)}] = utxo.Coin{Value: out.Value, Script: out.PkScript, Height: height, Coinbase: i == 0}
			}
		}
	}
	return &node{msg: msg, height: height, parent: parent, coins: coins}
}

// path returns the blocks from genesis (excluded) to n.
func path(n *node) []*node {
	var out []*node
	for ; n.parent != nil; n = n.parent {
		out = append(out, n)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func toBlock(t testing.TB, msg *wire.MsgBlock) *utxo.Block {
	t.Helper()
	b, err := utxo.NewBlock(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invalidChild builds a block on parent that breaks one input rule: a
// missing input, an overspend, an over-paying coinbase, or a double spend
// across two transactions.
func (b *builder) invalidChild(parent *node, rng *rand.Rand) *wire.MsgBlock {
	height := parent.height + 1
	spendable := b.pick(parent.coins, height, 1)
	kind := rng.IntN(4)
	if len(spendable) == 0 {
		kind = 2 * rng.IntN(2)
	}
	subsidy := b.params.Subsidy(height)
	switch kind {
	case 0:
		tx := wire.NewMsgTx(2)
		var h chainhash.Hash
		h[0] = byte(rng.IntN(256))
		h[1] = 0xee
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: h, Index: 7}, nil, nil))
		tx.AddTxOut(wire.NewTxOut(1, []byte{0x51}))
		return b.assemble(parent, []*wire.MsgTx{tx}, subsidy)
	case 1:
		op := spendable[0]
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: op.Hash, Index: op.Index}, nil, nil))
		tx.AddTxOut(wire.NewTxOut(parent.coins[op].Value+1, []byte{0x51}))
		return b.assemble(parent, []*wire.MsgTx{tx}, subsidy)
	case 2:
		return b.assemble(parent, nil, subsidy+1)
	default:
		op := spendable[0]
		var txs []*wire.MsgTx
		for i := 0; i < 2; i++ {
			tx := wire.NewMsgTx(2)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: op.Hash, Index: op.Index}, nil, nil))
			tx.AddTxOut(wire.NewTxOut(int64(i), []byte{0x51}))
			txs = append(txs, tx)
		}
		return b.assemble(parent, txs, subsidy)
	}
}

func chainhashDouble(b []byte) [32]byte {
	return chainhash.DoubleHashH(b)
}
