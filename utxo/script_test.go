package utxo_test

import (
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/memstore"
)

// scriptChain generates a short chain that activates segwit and taproot and
// spends every script type the generator makes.
func scriptChain(t *testing.T) []*wire.MsgBlock {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 460
	cfg.TxsPerBlock = 40
	cfg.PreActivationTxsPerBlock = 5
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*wire.MsgBlock
	if err := g.Each(func(b *wire.MsgBlock) error { blocks = append(blocks, b); return nil }); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestScriptValidation connects a generated chain with every input script
// verified by btcd's interpreter, then a copy of a later block in which one
// signature is broken (with merkle root, witness commitment and proof of
// work redone, so only the script is wrong): it must be rejected with
// ErrScriptValidation, and accepted when script checks are off.
func TestScriptValidation(t *testing.T) {
	blocks := scriptChain(t)
	last := len(blocks) - 1
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: utxo.RegTest(), ValidateScripts: true})
	for h, msg := range blocks[:last] {
		if _, err := e.Connect(toBlock(t, msg)); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
	}
	bad := breakSignature(t, blocks[last])
	before := flushedDigest(t, e, s)
	_, err := e.Connect(toBlock(t, bad))
	wantRule(t, err, utxo.ErrScriptValidation)
	if flushedDigest(t, e, s) != before {
		t.Fatal("rejected block changed the store")
	}
	if _, err := e.Connect(toBlock(t, blocks[last])); err != nil {
		t.Fatalf("genuine block: %v", err)
	}
	// Without script checks the broken block is just a block.
	if _, err := e.Disconnect(); err != nil {
		t.Fatal(err)
	}
	e2 := openEngineAgain(t, e, s, utxo.Config{Params: utxo.RegTest()})
	if _, err := e2.Connect(toBlock(t, bad)); err != nil {
		t.Fatalf("with scripts off: %v", err)
	}
}

func openEngineAgain(t *testing.T, e *utxo.Engine, s utxo.Store, cfg utxo.Config) *utxo.Engine {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return openEngine(t, s, cfg)
}

// breakSignature copies msg and flips a byte inside the first witness
// signature of its last transaction with one, then repairs everything
// around it: the witness commitment, the merkle root, and proof of work.
func breakSignature(t *testing.T, msg *wire.MsgBlock) *wire.MsgBlock {
	t.Helper()
	cp := msg.Copy()
	var victim *wire.MsgTx
	for i := len(cp.Transactions) - 1; i > 0 && victim == nil; i-- {
		if tx := cp.Transactions[i]; len(tx.TxIn[0].Witness) > 0 {
			victim = tx
		}
	}
	if victim == nil {
		t.Fatal("no witness transaction to break")
	}
	sig := victim.TxIn[0].Witness[0]
	sig[len(sig)/2] ^= 0x01
	// Witness commitment in the coinbase.
	txs := make([]*btcutil.Tx, len(cp.Transactions))
	for i, tx := range cp.Transactions {
		txs[i] = btcutil.NewTx(tx)
	}
	root := blockchain.CalcMerkleRoot(txs, true)
	cb := cp.Transactions[0]
	var buf [64]byte
	copy(buf[:32], root[:])
	copy(buf[32:], cb.TxIn[0].Witness[0])
	commit := chainhashDouble(buf[:])
	for _, out := range cb.TxOut {
		if len(out.PkScript) >= 38 && out.PkScript[0] == 0x6a && out.PkScript[1] == 0x24 {
			copy(out.PkScript[6:38], commit[:])
		}
	}
	solve(t, cp, utxo.RegTest())
	return cp
}
