package chaingen

import (
	"fmt"
	"iter"
	"strings"

	"github.com/btcsuite/btcd/wire"
)

// stats are the running counters behind Summary.
type stats struct {
	blocks, witnessBlocks      int
	txs, witnessTxs            int
	inputs, outputs, cbOutputs int
	inByType, outByType        [numScriptTypes]int
	consolidations, batches    int
	typical                    int
	inBlock, old               int
	burned                     int64
	underclaimed               int
	unclaimed, fees, subsidy   int64
	maxWeight                  int64
	maxSigops                  int
}

// Summary describes the chain generated so far.
type Summary struct {
	// Blocks is the number of blocks after genesis; Height the tip height.
	Blocks int
	Height int32
	// WitnessBlocks is the number of blocks with a witness commitment.
	WitnessBlocks int
	// Txs counts non-coinbase transactions, WitnessTxs those with witness
	// data, TypicalTxs those with 1-3 inputs and 2 spendable outputs.
	Txs, WitnessTxs, TypicalTxs int
	// Inputs and Outputs are those of non-coinbase transactions (Outputs
	// includes OP_RETURN outputs); CoinbaseOutputs excludes witness
	// commitments.
	Inputs, Outputs, CoinbaseOutputs int
	// InputsByType and OutputsByType break inputs (by the type of the spent
	// output) and outputs (coinbase outputs included) down by script type.
	InputsByType  map[ScriptType]int
	OutputsByType map[ScriptType]int
	// Consolidations and Batches count the two large transaction shapes.
	Consolidations, Batches int
	// InBlockSpends counts inputs spending an output of the same block;
	// OldSpends inputs drawn uniformly from all unspent outputs.
	InBlockSpends, OldSpends int
	// BurnedValue is the value sent to OP_RETURN outputs.
	BurnedValue int64
	// UnderclaimedBlocks coinbases claimed UnclaimedValue less than allowed.
	UnderclaimedBlocks int
	UnclaimedValue     int64
	// Fees and Subsidy are totals over all blocks after genesis.
	Fees, Subsidy int64
	// MaxBlockWeight and MaxBlockSigOpCost are the largest seen.
	MaxBlockWeight    int64
	MaxBlockSigOpCost int
	// FinalUTXOs is the size of the UTXO set at the tip as Bitcoin Core
	// counts it: every spendable output not yet spent, immature coinbases
	// included, OP_RETURN outputs and the genesis output excluded.
	FinalUTXOs int
	// HotUTXOs is the number of those paying each Config.Hot address.
	HotUTXOs []int
}

// Summary reports the counters. It scans the wallet, so it costs O(UTXOs).
func (g *Generator) Summary() Summary {
	st := &g.stats
	s := Summary{
		Blocks:             st.blocks,
		Height:             max(g.height, 0),
		WitnessBlocks:      st.witnessBlocks,
		Txs:                st.txs,
		WitnessTxs:         st.witnessTxs,
		TypicalTxs:         st.typical,
		Inputs:             st.inputs,
		Outputs:            st.outputs,
		CoinbaseOutputs:    st.cbOutputs,
		InputsByType:       map[ScriptType]int{},
		OutputsByType:      map[ScriptType]int{},
		Consolidations:     st.consolidations,
		Batches:            st.batches,
		InBlockSpends:      st.inBlock,
		OldSpends:          st.old,
		BurnedValue:        st.burned,
		UnderclaimedBlocks: st.underclaimed,
		UnclaimedValue:     st.unclaimed,
		Fees:               st.fees,
		Subsidy:            st.subsidy,
		MaxBlockWeight:     st.maxWeight,
		MaxBlockSigOpCost:  st.maxSigops,
		HotUTXOs:           make([]int, len(g.cfg.Hot)),
	}
	for t := range numScriptTypes {
		if st.inByType[t] > 0 {
			s.InputsByType[t] = st.inByType[t]
		}
		if st.outByType[t] > 0 {
			s.OutputsByType[t] = st.outByType[t]
		}
	}
	for c := range g.coins() {
		s.FinalUTXOs++
		for i, h := range g.cfg.Hot {
			if c.key == h.KeyIndex && c.typ == h.Type {
				s.HotUTXOs[i]++
			}
		}
	}
	return s
}

// String renders the summary on a few lines, for logs.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "blocks=%d height=%d witness_blocks=%d txs=%d witness_txs=%d typical=%d\n",
		s.Blocks, s.Height, s.WitnessBlocks, s.Txs, s.WitnessTxs, s.TypicalTxs)
	fmt.Fprintf(&b, "inputs=%d outputs=%d coinbase_outputs=%d consolidations=%d batches=%d in_block_spends=%d old_spends=%d\n",
		s.Inputs, s.Outputs, s.CoinbaseOutputs, s.Consolidations, s.Batches, s.InBlockSpends, s.OldSpends)
	b.WriteString("outputs_by_type:")
	for t := range numScriptTypes {
		fmt.Fprintf(&b, " %v=%d", t, s.OutputsByType[t])
	}
	b.WriteString("\ninputs_by_type:")
	for t := range ScriptType(numSpendable) {
		fmt.Fprintf(&b, " %v=%d", t, s.InputsByType[t])
	}
	fmt.Fprintf(&b, "\nburned=%d underclaimed_blocks=%d unclaimed=%d fees=%d subsidy=%d max_weight=%d max_sigop_cost=%d\n",
		s.BurnedValue, s.UnderclaimedBlocks, s.UnclaimedValue, s.Fees, s.Subsidy, s.MaxBlockWeight, s.MaxBlockSigOpCost)
	fmt.Fprintf(&b, "final_utxos=%d hot_utxos=%v", s.FinalUTXOs, s.HotUTXOs)
	return b.String()
}

// coins yields every unspent coin: mature ones in creation order, then
// immature coinbases.
func (g *Generator) coins() iter.Seq[*coin] {
	return func(yield func(*coin) bool) {
		for i := range g.wallet.coins {
			if c := &g.wallet.coins[i]; !c.spent() && !yield(c) {
				return
			}
		}
		for i := range g.wallet.immature {
			if !yield(&g.wallet.immature[i]) {
				return
			}
		}
	}
}

// Coin is an unspent output held by the generator's wallet.
type Coin struct {
	OutPoint wire.OutPoint
	Value    int64
	PkScript []byte
	KeyIndex uint32
	Type     ScriptType
	Height   int32
	Coinbase bool
}

// Unspent yields the generator's unspent outputs after the last block
// returned by Next (immature coinbases last). The generator must not be
// advanced during the iteration.
func (g *Generator) Unspent() iter.Seq[Coin] {
	return func(yield func(Coin) bool) {
		for c := range g.coins() {
			if int(c.tx) >= len(g.txids) {
				continue // not yet emitted (cannot happen between Next calls)
			}
			out := Coin{
				OutPoint: wire.OutPoint{Hash: g.txids[c.tx], Index: c.vout},
				Value:    c.value,
				PkScript: cloneBytes(g.keys.keys[c.key].scripts[c.typ].PkScript),
				KeyIndex: c.key,
				Type:     c.typ,
				Height:   c.height,
				Coinbase: c.flags&flagCoinbase != 0,
			}
			if !yield(out) {
				return
			}
		}
	}
}
