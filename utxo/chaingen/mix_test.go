package chaingen

import (
	"errors"
	"io"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

type utxoInfo struct {
	out    *wire.TxOut
	height int32
}

// mixStats is measured from the emitted blocks alone (not from the
// generator's counters), using btcd's script classification and subsidy.
type mixStats struct {
	txs, typical, bigIn, bigOut, legacyHeavy int
	inputs, inBlock, old                     int
	outputs                                  int
	byClass                                  map[txscript.ScriptClass]int
	nullData, nullDataValued                 int
	underclaimed, blocks                     int
	finalUTXOs                               int
	topScriptUTXOs                           int
}

func measureMix(t *testing.T, cfg Config, oldAge int32) mixStats {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	params := &chaincfg.RegressionNetParams
	utxos := map[wire.OutPoint]utxoInfo{}
	ms := mixStats{byClass: map[txscript.ScriptClass]int{}}
	act := cfg.ActivationHeight()
	for {
		blk, err := g.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h := g.Height()
		if h == 0 {
			continue
		}
		ms.blocks++
		var fees int64
		inBlock := map[wire.OutPoint]bool{}
		for ti, tx := range blk.Transactions {
			txid := tx.TxHash()
			if ti > 0 {
				var in, out int64
				legacy := 0
				for _, txIn := range tx.TxIn {
					u, ok := utxos[txIn.PreviousOutPoint]
					if !ok {
						t.Fatalf("block %d spends unknown output", h)
					}
					delete(utxos, txIn.PreviousOutPoint)
					in += u.out.Value
					cls := txscript.GetScriptClass(u.out.PkScript)
					if cls == txscript.PubKeyHashTy || (cls == txscript.ScriptHashTy && len(txIn.Witness) == 0) {
						legacy++
					}
					if h >= act {
						ms.inputs++
						if inBlock[txIn.PreviousOutPoint] {
							ms.inBlock++
						} else if h-u.height >= oldAge {
							ms.old++
						}
					}
				}
				spendable := 0
				for _, o := range tx.TxOut {
					out += o.Value
					cls := txscript.GetScriptClass(o.PkScript)
					if cls != txscript.NullDataTy {
						spendable++
					}
					if h >= act {
						ms.outputs++
						ms.byClass[cls]++
					}
					if cls == txscript.NullDataTy {
						ms.nullData++
						if o.Value > 0 {
							ms.nullDataValued++
						}
					}
				}
				fees += in - out
				if legacy > maxLegacyInputs {
					ms.legacyHeavy++
				}
				if h >= act {
					ms.txs++
					if len(tx.TxIn) <= 3 && spendable == 2 {
						ms.typical++
					}
					if len(tx.TxIn) >= 100 {
						ms.bigIn++
					}
					if len(tx.TxOut) >= 100 {
						ms.bigOut++
					}
				}
			}
			for vout, o := range tx.TxOut {
				op := wire.OutPoint{Hash: txid, Index: uint32(vout)}
				if !txscript.IsUnspendable(o.PkScript) {
					utxos[op] = utxoInfo{out: o, height: h}
					inBlock[op] = true
				}
			}
		}
		var claimed int64
		for _, o := range blk.Transactions[0].TxOut {
			claimed += o.Value
		}
		allowed := blockchain.CalcBlockSubsidy(h, params) + fees
		if claimed > allowed {
			t.Fatalf("block %d coinbase claims %d > %d", h, claimed, allowed)
		}
		if claimed < allowed {
			ms.underclaimed++
		}
	}
	ms.finalUTXOs = len(utxos)
	perScript := map[string]int{}
	for _, u := range utxos {
		perScript[string(u.out.PkScript)]++
	}
	for _, n := range perScript {
		ms.topScriptUTXOs = max(ms.topScriptUTXOs, n)
	}
	if s := g.Summary(); s.FinalUTXOs != ms.finalUTXOs {
		t.Errorf("summary FinalUTXOs %d, measured %d", s.FinalUTXOs, ms.finalUTXOs)
	}
	return ms
}

func TestMixStatistics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Blocks = 700
	cfg.TxsPerBlock = 120
	ms := measureMix(t, cfg, 50)
	frac := func(n, d int) float64 { return float64(n) / float64(d) }
	t.Logf("post-activation txs=%d inputs=%d outputs=%d typical=%.3f in_block=%.3f old(>=50 blocks)=%.3f",
		ms.txs, ms.inputs, ms.outputs, frac(ms.typical, ms.txs), frac(ms.inBlock, ms.inputs), frac(ms.old, ms.inputs))
	t.Logf("big-in=%d big-out=%d nulldata=%d (valued %d) underclaimed=%d/%d utxos=%d top-script=%d",
		ms.bigIn, ms.bigOut, ms.nullData, ms.nullDataValued, ms.underclaimed, ms.blocks, ms.finalUTXOs, ms.topScriptUTXOs)

	// Hot addresses get 10% of outputs and the mix weights apply to the
	// rest: P2WPKH .9*.45+.1*.6, P2TR .9*.30+.1*.25, P2PKH .9*.12+.1*.15,
	// P2SH .9*.08, P2WSH .9*.05.
	classes := []struct {
		cls    txscript.ScriptClass
		lo, hi float64
	}{
		{txscript.WitnessV0PubKeyHashTy, 0.42, 0.51},
		{txscript.WitnessV1TaprootTy, 0.25, 0.34},
		{txscript.PubKeyHashTy, 0.09, 0.16},
		{txscript.ScriptHashTy, 0.05, 0.10},
		{txscript.WitnessV0ScriptHashTy, 0.03, 0.065},
		{txscript.NullDataTy, 0.002, 0.03},
	}
	for _, c := range classes {
		if f := frac(ms.byClass[c.cls], ms.outputs); f < c.lo || f > c.hi {
			t.Errorf("%v outputs: fraction %.3f not in [%.3f, %.3f]", c.cls, f, c.lo, c.hi)
		} else {
			t.Logf("%v outputs: %.3f", c.cls, f)
		}
	}
	checks := []struct {
		name   string
		v      float64
		lo, hi float64
	}{
		{"typical 1-3 in/2 out tx share", frac(ms.typical, ms.txs), 0.60, 0.90},
		{"in-block spend share", frac(ms.inBlock, ms.inputs), 0.02, 0.15},
		{"old (>=50 blocks) spend share", frac(ms.old, ms.inputs), 0.03, 0.6},
		{"consolidations (>=100 inputs)", float64(ms.bigIn), 10, 1e9},
		{"batches (>=100 outputs)", float64(ms.bigOut), 20, 1e9},
		{"valued OP_RETURN outputs", float64(ms.nullDataValued), 1, 1e9},
		{"under-claimed coinbases", float64(ms.underclaimed), 4, 35},
		{"share of UTXOs on the top address", frac(ms.topScriptUTXOs, ms.finalUTXOs), 0.03, 0.2},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			t.Errorf("%s = %.3f, want in [%v, %v]", c.name, c.v, c.lo, c.hi)
		}
	}
	if ms.legacyHeavy != 0 {
		t.Errorf("%d transactions have more than %d legacy inputs", ms.legacyHeavy, maxLegacyInputs)
	}
}
