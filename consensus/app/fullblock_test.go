package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain/fullblocktests"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// TestFullBlockChains drives btcd's consensus test chains
// (fullblocktests.Generate(false): forks, reorgs, orphans, invalid blocks)
// through the application as synchronizers and endorsers would: every block
// btcd accepts is submitted (orphans once their parent is known) and, if it
// is valid — on a chain btcd makes its best at some point — endorsed by all
// four validators; invalid blocks are never endorsed, as no endorser's
// Bitcoin node has them. After every step the application's Bitcoin tip
// must be btcd's, and at the end its UTXO set must equal a straight import
// of btcd's final chain.
func TestFullBlockChains(t *testing.T) {
	tests, err := fullblocktests.Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	// Pass 1: every block by hash, and which are valid: ancestors of a tip
	// btcd reaches. A block can be valid and still come as a
	// RejectedBlock: its arrival made btcd try a reorg that failed further
	// up (b12 in "b12 added last").
	blocks := map[chainhash.Hash]*wire.MsgBlock{}
	valid := map[chainhash.Hash]bool{}
	var tips []*wire.MsgBlock
	for _, seq := range tests {
		for _, inst := range seq {
			switch in := inst.(type) {
			case fullblocktests.AcceptedBlock:
				blocks[in.Block.BlockHash()] = in.Block
				if in.IsMainChain {
					tips = append(tips, in.Block)
				}
			// A rejected block may share its hash with a valid one (a
			// CVE-2012-2459 mutation of it): the accepted body wins.
			case fullblocktests.RejectedBlock:
				if _, ok := blocks[in.Block.BlockHash()]; !ok {
					blocks[in.Block.BlockHash()] = in.Block
				}
			case fullblocktests.OrphanOrRejectedBlock:
				if _, ok := blocks[in.Block.BlockHash()]; !ok {
					blocks[in.Block.BlockHash()] = in.Block
				}
			case fullblocktests.ExpectedTip:
				tips = append(tips, in.Block)
			}
		}
	}
	for _, tip := range tips {
		for b := tip; b != nil && !valid[b.BlockHash()]; b = blocks[b.Header.PrevBlock] {
			valid[b.BlockHash()] = true
		}
	}

	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6},
		params: func(p *Params) { p.FinalityDepth = 1000 },
		// fullblocktests stamps its blocks from the local clock: the block
		// time must follow, or they are too far in the future.
		start: time.Now().Add(time.Hour)})
	heights := map[chainhash.Hash]int32{}
	var orphans []*wire.MsgBlock
	known := func(hash chainhash.Hash) bool { _, ok := heights[hash]; return ok }
	submit := func(b *wire.MsgBlock) [][]byte {
		heights[b.BlockHash()] = heights[b.Header.PrevBlock] + 1
		b = blocks[b.BlockHash()] // the valid body, where a mutated one shares its hash
		var buf bytes.Buffer
		if err := b.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		txs := h.submit([][]byte{buf.Bytes()})
		if valid[b.BlockHash()] {
			for i := range h.vals {
				txs = append(txs, h.endorse(i, heights[b.BlockHash()], [][]byte{buf.Bytes()})...)
			}
		}
		return txs
	}
	heights[h.app.tree.Base().Hash()] = 0
	expectTip := func(name string, want *wire.MsgBlock) {
		t.Helper()
		if _, got, _ := h.app.engine.Tip(); got != want.BlockHash() {
			t.Fatalf("after %s: tip %s at %d, btcd's is %s", name, got, h.btcTip(), want.BlockHash())
		}
	}
	steps := 0
	// step submits b (or holds it until its parent is known) and any
	// orphans it completes, in one satnode block.
	step := func(b *wire.MsgBlock) {
		if !known(b.Header.PrevBlock) {
			orphans = append(orphans, b)
			return
		}
		txs := submit(b)
		for progress := true; progress; {
			progress = false
			for i, o := range orphans {
				if known(o.Header.PrevBlock) {
					txs = append(txs, submit(o)...)
					orphans = append(orphans[:i], orphans[i+1:]...)
					progress = true
					break
				}
			}
		}
		h.mustOK(txs...)
		steps++
	}
	for _, seq := range tests {
		for _, inst := range seq {
			switch in := inst.(type) {
			case fullblocktests.AcceptedBlock:
				step(in.Block)
				if in.IsMainChain {
					expectTip(in.Name, in.Block)
				}
			case fullblocktests.RejectedBlock:
				if valid[in.Block.BlockHash()] {
					step(in.Block)
				}
			case fullblocktests.ExpectedTip:
				expectTip(in.Name, in.Block)
			}
		}
	}
	if len(orphans) != 0 {
		t.Fatalf("%d orphans never connected", len(orphans))
	}
	// The final UTXO set is a straight import of btcd's final chain.
	_, tip, _ := h.app.engine.Tip()
	var chain [][]byte
	for b := blocks[tip]; b != nil; b = blocks[b.Header.PrevBlock] {
		var buf bytes.Buffer
		_ = b.Serialize(&buf)
		chain = append([][]byte{buf.Bytes()}, chain...)
	}
	var gbuf bytes.Buffer
	_ = h.app.tree.Params().GenesisBlock.Serialize(&gbuf)
	chain = append([][]byte{gbuf.Bytes()}, chain...)
	if d, _ := h.app.engine.Digest(); d != regtestDigest(t, chain) {
		t.Fatal("the UTXO set differs from a straight import of btcd's chain")
	}
	t.Logf("%d accepted blocks in %d satnode blocks; tip height %d", len(blocks), steps, h.btcTip())
}
