package app

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// regtestBranch makes n valid regtest headers on top of parent (at
// parentTime), one second apart: regtest's proof-of-work limit makes each
// one a couple of hashes. tag varies the merkle root, so two branches
// from one parent differ.
func regtestBranch(parent chainhash.Hash, parentTime time.Time, n int, tag byte) [][tx.HeaderSize]byte {
	bits := blockchain.BigToCompact(chaincfg.RegressionNetParams.PowLimit)
	out := make([][tx.HeaderSize]byte, 0, n)
	prev := parent
	for i := range n {
		h := wire.BlockHeader{Version: 4, PrevBlock: prev, MerkleRoot: chainhash.Hash{tag, byte(i), byte(i >> 8), byte(i >> 16)},
			Timestamp: parentTime.Add(time.Duration(i+1) * time.Second), Bits: bits}
		for ; ; h.Nonce++ {
			hash := h.BlockHash()
			if blockchain.HashToBig(&hash).Cmp(chaincfg.RegressionNetParams.PowLimit) <= 0 {
				break
			}
		}
		var buf bytes.Buffer
		_ = h.Serialize(&buf)
		out = append(out, [tx.HeaderSize]byte(buf.Bytes()))
		prev = h.BlockHash()
	}
	return out
}

// flood submits headers in chunks of up to tx.MaxHeadersPerTx, perBlock
// transactions a block, sending what a block refused for its header cap
// again in the next, until every header is in or one is refused for being
// too far ahead. It returns how many blocks that took and whether it ended
// on the cap.
func (h *harness) flood(headers [][tx.HeaderSize]byte, perBlock int) (blocks int, tooFar bool) {
	h.t.Helper()
	for len(headers) > 0 && blocks < 1000 {
		var txs [][]byte
		rest := headers
		for range perBlock {
			if len(rest) == 0 {
				break
			}
			n := min(len(rest), tx.MaxHeadersPerTx)
			txs = append(txs, h.sign(h.sync, tx.SubmitHeaders{Headers: rest[:n]}))
			rest = rest[n:]
		}
		res := h.block(txs...)
		blocks++
		for _, r := range res.TxResults {
			switch tx.Code(r.Code) {
			case tx.CodeOK, tx.CodeBlockHeaderLimit:
			case tx.CodeTooFarAhead:
				tooFar = true
			default:
				h.t.Fatalf("block %d: code %d (%s): %s", h.height, r.Code, tx.Code(r.Code), r.Log)
			}
		}
		// Drop what the tree now holds; resend the rest.
		for len(headers) > 0 {
			if _, ok := h.app.tree.Get(chainhash.DoubleHashH(headers[0][:])); !ok {
				break
			}
			headers = headers[1:]
		}
		if tooFar {
			return blocks, true
		}
	}
	return blocks, false
}

// blockCost is the median time of n empty blocks, FinalizeBlock + Commit.
func (h *harness) blockCost(n int) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		t0 := time.Now()
		h.block()
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	return d[n/2]
}

// TestHeaderFlood: a registered synchronizer submits 50,000 valid regtest
// headers on a side branch (free to make on regtest). The tree takes them
// only up to max_headers_ahead above the canonical tip and at most
// max_headers_per_block a block; the rest is refused with its own codes;
// the honest branch is untouched; and a block costs about what it did
// before the flood (per-block work follows what changed, not the state's
// size).
func TestHeaderFlood(t *testing.T) {
	store, err := leveldbstore.Open(t.TempDir(), leveldbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const ahead, perBlock = 5_000, 2_500
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6}, store: store,
		params: func(p *Params) { p.MaxHeadersAhead, p.MaxHeadersPerBlock = ahead, perBlock }})
	gen := chaincfg.RegressionNetParams.GenesisBlock.Header
	honest := regtestBranch(gen.BlockHash(), gen.Timestamp, 20, 'h')
	h.mustOK(h.sign(h.sync, tx.SubmitHeaders{Headers: honest}))
	before := h.blockCost(25)

	junk := regtestBranch(gen.BlockHash(), gen.Timestamp, 50_000, 'j')
	blocks, tooFar := h.flood(junk, 3)
	if !tooFar {
		t.Fatalf("the flood ended after %d blocks without meeting max_headers_ahead", blocks)
	}
	above := h.app.tree.Len() - 1 // the regtest genesis is the base
	if want := ahead + len(honest); above != want {
		t.Errorf("%d headers above the base, want the cap %d + %d honest", above, ahead, len(honest))
	}
	if len(h.app.recs.m) != above {
		t.Errorf("%d endorsement records for %d headers", len(h.app.recs.m), above)
	}
	if _, ok := h.app.tree.Get(chainhash.DoubleHashH(honest[len(honest)-1][:])); !ok {
		t.Error("the honest branch left the tree")
	}
	// The cap per block held: ahead headers took at least ahead/perBlock
	// blocks.
	if blocks < ahead/perBlock {
		t.Errorf("%d headers in %d blocks: more than %d a block", ahead, blocks, perBlock)
	}
	after := h.blockCost(25)
	t.Logf("HEADER FLOOD: %d headers above the base after 50,000 submitted over %d blocks; empty block %v before, %v after",
		above, blocks, before, after)
	// Generous slack: this machine is shared and noisy. Without
	// incremental roots and indexes the flooded block cost was tens of
	// milliseconds.
	if after > 2*before+5*time.Millisecond {
		t.Errorf("an empty block costs %v after the flood, %v before: more than 2× (+5 ms)", after, before)
	}
}

// BenchmarkFinalizeCommit measures an empty block, FinalizeBlock +
// Commit, with 100 and with 100,000 headers pending in the tree, on
// goleveldb: the per-block cost must not grow with the pending state.
func BenchmarkFinalizeCommit(b *testing.B) {
	for _, pending := range []int{100, 100_000} {
		b.Run(map[int]string{100: "pending=100", 100_000: "pending=100000"}[pending], func(b *testing.B) {
			store, err := leveldbstore.Open(b.TempDir(), leveldbstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			h := newHarness(b, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6, 10e6}, store: store,
				params: func(p *Params) { p.MaxHeadersAhead, p.MaxHeadersPerBlock = 200_000, 200_000 }})
			gen := chaincfg.RegressionNetParams.GenesisBlock.Header
			if _, tooFar := h.flood(regtestBranch(gen.BlockHash(), gen.Timestamp, pending, 'p'), 10); tooFar {
				b.Fatal("refused as too far ahead")
			}
			if got := h.app.tree.Len() - 1; got != pending {
				b.Fatalf("%d pending headers, want %d", got, pending)
			}
			b.ResetTimer()
			for range b.N {
				h.block()
			}
		})
	}
}

func genesisHash() chainhash.Hash {
	return chaincfg.RegressionNetParams.GenesisBlock.Header.BlockHash()
}
func genesisTime() time.Time { return chaincfg.RegressionNetParams.GenesisBlock.Header.Timestamp }
