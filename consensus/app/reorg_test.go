package app

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/memstore"
)

// genChain generates a regtest chain (genesis first) with the given seed.
func genChain(t *testing.T, seed uint64, blocks int) [][]byte {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Seed, cfg.Blocks, cfg.TxsPerBlock, cfg.PreActivationTxsPerBlock = seed, blocks, 8, 4
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	err = g.Each(func(b *wire.MsgBlock) error {
		var buf bytes.Buffer
		if err := b.Serialize(&buf); err != nil {
			return err
		}
		raws = append(raws, buf.Bytes())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raws
}

func regtestDigest(t *testing.T, raws [][]byte) [32]byte {
	t.Helper()
	e, err := utxo.Open(memstore.New(), utxo.Config{Params: utxo.RegTest()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, raw := range raws {
		b, err := utxo.DecodeBlock(raw)
		if err == nil {
			_, err = e.Connect(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	d, _ := e.Digest()
	return d
}

// TestReorg: branch A is endorsed and applied; a competing branch B with
// more work is submitted and endorsed later; the application reorganizes
// to B, and the result equals a straight import of B. Then a branch
// forking below the finalized base is refused at submission.
func TestReorg(t *testing.T) {
	a := genChain(t, 1, 130)
	b := genChain(t, 2, 140)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6},
		params: func(p *Params) { p.FinalityDepth = 200 }})
	all := func(from int32, raws [][]byte) [][]byte {
		var txs [][]byte
		for i := range h.vals {
			txs = append(txs, h.endorse(i, from, raws)...)
		}
		return txs
	}
	h.mustOK(h.submit(a[1:])...)
	h.mustOK(all(1, a[1:])...)
	if h.btcTip() != 130 {
		t.Fatalf("branch A: tip %d", h.btcTip())
	}
	if d, _ := h.app.engine.Digest(); d != regtestDigest(t, a) {
		t.Fatal("branch A: set differs from a straight import")
	}
	// B's headers alone change nothing: B is not endorsed yet.
	h.mustOK(h.submit(b[1:])...)
	if _, hash, _ := h.app.engine.Tip(); hash != blockHash(a[130]) {
		t.Fatal("an unendorsed branch moved the set")
	}
	h.mustOK(all(1, b[1:])...)
	if _, hash, _ := h.app.engine.Tip(); hash != blockHash(b[140]) {
		t.Fatalf("no reorg to the endorsed branch with more work (tip %d)", h.btcTip())
	}
	if d, _ := h.app.engine.Digest(); d != regtestDigest(t, b) {
		t.Fatal("after the reorg the set differs from a straight import of the winning branch")
	}

	// Finality: a branch forking at height 1 is now deeper than the
	// finalized base once the tip is far enough above it.
	h2 := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6},
		params: func(p *Params) { p.FinalityDepth = 100 }})
	h2.mustOK(h2.submit(a[1:])...)
	h2.mustOK(h2.endorse(0, 1, a[1:])...)
	res := h2.block(h2.submit(b[1:2])...)
	if c := tx.Code(res.TxResults[0].Code); c != tx.CodeBelowFinalized && c != tx.CodeUnknownParent {
		t.Fatalf("a fork below the finalized base: code %s (%s)", c, res.TxResults[0].Log)
	}
}
