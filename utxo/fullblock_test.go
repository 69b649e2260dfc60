package utxo_test

// btcd's consensus test chains (blockchain/fullblocktests, ported from
// Core's block acceptance tests) replayed through btcd with our engine
// following every connect and disconnect btcd makes, and btcd's reasons for
// rejecting blocks compared with ours.

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/blockchain/fullblocktests"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
)

// TestFullBlockTests replays fullblocktests.Generate(false): 189 blocks
// with forks and reorgs, 46 of them invalid.
func TestFullBlockTests(t *testing.T) { runFullBlockTests(t, false) }

// TestFullBlockLargeReorg replays Generate(true), which adds a reorg of
// 1088 max-size blocks and one back. It writes about 1 GB through btcd's
// database, so it only runs in the long suite.
func TestFullBlockLargeReorg(t *testing.T) {
	if os.Getenv("SATNODE_LONG") != "1" {
		t.Skip("the large reorg (1088 max-size blocks each way) runs only with SATNODE_LONG=1")
	}
	runFullBlockTests(t, true)
}

// fullBlockRun is the state of one replay: the harness and the tallies the
// summary reports.
type fullBlockRun struct {
	t      *testing.T
	h      *btcdHarness
	params *chaincfg.Params

	instances map[string]int
	// checked: rejections our engine reproduced, by our code.
	checked map[utxo.ErrorCode]int
	// skipped: rejections for rules our engine leaves to the consensus
	// layer, by btcd's code; skippedOurs: what our engine did with them.
	skipped     map[blockchain.ErrorCode]int
	skippedOurs map[string]int
	// notOffered: rejected blocks btcd connected, failing on a descendant.
	notOffered map[blockchain.ErrorCode]int
	// rewound: rejected blocks offered after rewinding our engine below
	// the tip or onto a side chain.
	rewound int
	// sideBlocks and names: every accepted block, to rebuild side chains
	// and name blocks in logs.
	sideBlocks map[chainhash.Hash]*wire.MsgBlock
	names      map[chainhash.Hash]string
	crossCheck []string
}

func runFullBlockTests(t *testing.T, largeReorg bool) {
	start := time.Now()
	tests, err := fullblocktests.Generate(largeReorg)
	if err != nil {
		t.Fatalf("generating the tests: %v", err)
	}
	generated := time.Since(start)

	// fullblocktests generates its blocks with its own (unexported) copy
	// of regtest's parameters and btcd's driver validates them against
	// chaincfg.RegressionNetParams, copied so nothing can change the
	// global. Our engine uses the same copy: regtest's BIP34/BIP30 and
	// script settings, segwit from height 0.
	chainParams := chaincfg.RegressionNetParams
	p := utxo.RegTest()
	p.Chain = &chainParams
	r := &fullBlockRun{
		t: t, params: &chainParams,
		h:         newBtcdHarness(t, &chainParams, p, 0, blockchain.BFNone),
		instances: map[string]int{}, checked: map[utxo.ErrorCode]int{},
		skipped: map[blockchain.ErrorCode]int{}, skippedOurs: map[string]int{},
		notOffered: map[blockchain.ErrorCode]int{},
		sideBlocks: map[chainhash.Hash]*wire.MsgBlock{}, names: map[chainhash.Hash]string{},
	}
	for testNum, test := range tests {
		for itemNum, item := range test {
			switch item := item.(type) {
			case fullblocktests.AcceptedBlock:
				r.accepted(item)
			case fullblocktests.RejectedBlock:
				r.rejected(item)
			case fullblocktests.RejectedNonCanonicalBlock:
				r.nonCanonical(item)
			case fullblocktests.OrphanOrRejectedBlock:
				r.orphanOrRejected(item)
			case fullblocktests.ExpectedTip:
				r.expectedTip(item)
			case fullblocktests.BlockDisconnectExpectUTXO:
				r.disconnectExpectUTXO(item)
			default:
				t.Fatalf("test #%d, item #%d: unsupported instance type %T", testNum, itemNum, item)
			}
			r.instances[fmt.Sprintf("%T", item)[len("fullblocktests."):]]++
			// Stronger than the ExpectedTip instances: after every
			// instance our tip is btcd's.
			r.h.assertSameTip(fmt.Sprintf("test #%d item #%d", testNum, itemNum))
		}
	}
	final := r.h.compareSets()
	r.crossCheck = append(r.crossCheck, "end: "+final.String())

	h := r.h
	t.Logf("generated in %v, replayed in %v", generated.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t.Logf("instances: %s", fmtCounts(r.instances))
	best := h.chain.BestSnapshot()
	t.Logf("notifications: %d blocks connected, %d disconnected, %d reorgs; tip %s at height %d",
		h.connected, h.disconnected, h.reorgs, best.Hash, best.Height)
	t.Logf("rejections checked, by our code: %s", fmtCounts(r.checked))
	t.Logf("rejections skipped (rule not checked by the engine), by btcd code: %s", fmtCounts(r.skipped))
	t.Logf("  our engine on those blocks: %s", fmtCounts(r.skippedOurs))
	t.Logf("rejected blocks offered below the tip or on a side chain (engine rewound, then btcd's chain replayed): %d", r.rewound)
	t.Logf("rejected blocks not offered (btcd connected them, a descendant failed), by btcd code: %s", fmtCounts(r.notOffered))
	for _, c := range r.crossCheck {
		t.Logf("set cross-check at %s", c)
	}
	// Guard against a harness that quietly stops comparing: all but b12
	// (see rejected) reach our engine, most of them for a rule it checks.
	checked := 0
	for _, n := range r.checked {
		checked += n
	}
	if checked < r.instances["RejectedBlock"]/2 {
		t.Fatalf("only %d of %d rejected blocks were checked against our engine", checked, r.instances["RejectedBlock"])
	}
}

// accepted is btcd's driver's testAcceptedBlock.
func (r *fullBlockRun) accepted(item fullblocktests.AcceptedBlock) {
	r.t.Helper()
	blk := btcutil.NewBlock(item.Block)
	blk.SetHeight(item.Height)
	isMainChain, isOrphan, err := r.h.process(blk)
	if err != nil {
		r.t.Fatalf("block %q (hash %s, height %d) should have been accepted: %v", item.Name, blk.Hash(), item.Height, err)
	}
	r.sideBlocks[*blk.Hash()] = item.Block
	r.names[*blk.Hash()] = item.Name
	if isMainChain != item.IsMainChain || isOrphan != item.IsOrphan {
		r.t.Fatalf("block %q (hash %s, height %d): main chain %v orphan %v, want %v %v",
			item.Name, blk.Hash(), item.Height, isMainChain, isOrphan, item.IsMainChain, item.IsOrphan)
	}
}

// orphanOrRejected is btcd's driver's testOrphanOrRejectedBlock.
func (r *fullBlockRun) orphanOrRejected(item fullblocktests.OrphanOrRejectedBlock) {
	r.t.Helper()
	blk := btcutil.NewBlock(item.Block)
	blk.SetHeight(item.Height)
	_, isOrphan, err := r.h.process(blk)
	if err != nil {
		if _, ok := err.(blockchain.RuleError); !ok {
			r.t.Fatalf("block %q (hash %s, height %d): got %T (%v), want a blockchain.RuleError", item.Name, blk.Hash(), item.Height, err, err)
		}
	}
	if !isOrphan {
		r.t.Fatalf("block %q (hash %s, height %d) was accepted, but is not considered an orphan", item.Name, blk.Hash(), item.Height)
	}
}

// expectedTip is btcd's driver's testExpectedTip, plus a comparison of the
// two sets.
func (r *fullBlockRun) expectedTip(item fullblocktests.ExpectedTip) {
	r.t.Helper()
	best := r.h.chain.BestSnapshot()
	if best.Hash != item.Block.BlockHash() || best.Height != item.Height {
		r.t.Fatalf("block %q (hash %s, height %d) should be the tip, btcd's is %s at %d",
			item.Name, item.Block.BlockHash(), item.Height, best.Hash, best.Height)
	}
	r.h.assertSameTip(fmt.Sprintf("expected tip %q", item.Name))
	c := r.h.compareSets()
	r.crossCheck = append(r.crossCheck, fmt.Sprintf("tip %s (height %d): %v", item.Name, item.Height, c))
}

// nonCanonical is btcd's driver's testRejectedNonCanonicalBlock: the block
// (with a 9-byte transaction count) must not decode, in btcd's wire code
// nor in ours.
func (r *fullBlockRun) nonCanonical(item fullblocktests.RejectedNonCanonicalBlock) {
	r.t.Helper()
	var msg wire.MsgBlock
	err := msg.BtcDecode(bytes.NewReader(item.RawBlock), 0, wire.BaseEncoding)
	if _, ok := err.(*wire.MessageError); !ok {
		r.t.Fatalf("block %q (height %d): btcd decoded it (err %v)", item.Name, item.Height, err)
	}
	_, err = utxo.DecodeBlock(item.RawBlock)
	wantRule(r.t, err, utxo.ErrMalformedBlock)
}

// disconnectExpectUTXO is btcd's driver's testBlockDisconnectExpectUTXO:
// when the named block leaves btcd's main chain, the outpoint must (or must
// not) be in btcd's set, and in ours, which the harness's callback (it
// subscribed first, so it runs first) has already disconnected.
func (r *fullBlockRun) disconnectExpectUTXO(item fullblocktests.BlockDisconnectExpectUTXO) {
	h := r.h
	h.chain.Subscribe(func(n *blockchain.Notification) {
		if n.Type != blockchain.NTBlockDisconnected || h.failure != nil {
			return
		}
		if blk := n.Data.(*btcutil.Block); *blk.Hash() != item.BlockHash {
			return
		}
		entry, err := h.chain.FetchUtxoEntry(item.OutPoint)
		if err != nil {
			h.fail("%s: btcd: %v", item.Name, err)
			return
		}
		if theirs := entry != nil && !entry.IsSpent(); theirs != item.Expected {
			h.fail("%s: after disconnecting %s, %v unspent in btcd's set: %v, want %v", item.Name, item.BlockHash, item.OutPoint, theirs, item.Expected)
			return
		}
		if err := h.engine.Flush(); err != nil {
			h.fail("%s: flush: %v", item.Name, err)
			return
		}
		_, err = utxo.NewReader(h.store).Coin(utxo.Outpoint{Hash: item.OutPoint.Hash, Index: item.OutPoint.Index})
		if err != nil && !utxo.IsNotFound(err) {
			h.fail("%s: %v", item.Name, err)
			return
		}
		if ours := err == nil; ours != item.Expected {
			h.fail("%s: after disconnecting %s, %v in our set: %v, want %v", item.Name, item.BlockHash, item.OutPoint, ours, item.Expected)
		}
	})
}

// rejected is btcd's driver's testRejectedBlock, then the same block offered
// to our engine in the same place (see below): for the rules our engine
// checks it must be rejected with the matching code; either way our store
// must be unchanged afterwards.
func (r *fullBlockRun) rejected(item fullblocktests.RejectedBlock) {
	t, h := r.t, r.h
	t.Helper()
	blk := btcutil.NewBlock(item.Block)
	blk.SetHeight(item.Height)
	_, _, err := h.process(blk)
	if err == nil {
		t.Fatalf("block %q (hash %s, height %d) should not have been accepted", item.Name, blk.Hash(), item.Height)
	}
	rerr, ok := err.(blockchain.RuleError)
	if !ok {
		t.Fatalf("block %q (hash %s, height %d): got %T (%v), want a blockchain.RuleError", item.Name, blk.Hash(), item.Height, err, err)
	}
	if rerr.ErrorCode != item.RejectCode {
		t.Fatalf("block %q (hash %s, height %d): btcd rejected it with %v, want %v", item.Name, blk.Hash(), item.Height, rerr.ErrorCode, item.RejectCode)
	}

	// btcd's error may come from a descendant it tried to connect after
	// accepting this block (b12 completes a side chain whose orphan b14 is
	// invalid): then the block is on btcd's main chain, not ours to judge.
	if h.chain.MainChainHasBlock(blk.Hash()) {
		r.notOffered[item.RejectCode]++
		t.Logf("%-6s btcd %-26v ours: not offered (btcd connected it; the error is a descendant's)", item.Name, item.RejectCode)
		return
	}
	// Most invalid blocks extend the tip. Others fork below it (b24 forks
	// from b15 under b23), or extend a side chain btcd accepted without
	// connecting it (b11 on b10): btcd then tried a reorg, and its error
	// is that of the first block of the new branch that failed, which may
	// be a side-chain block (b8's parent b7 double-spends). Replay the
	// same: rewind our engine to the fork point, connect the side-chain
	// blocks and then this one, stopping at the first our engine rejects.
	fork := item.Block.Header.PrevBlock
	var side []*wire.MsgBlock
	for !h.chain.MainChainHasBlock(&fork) {
		msg, ok := r.sideBlocks[fork]
		if !ok {
			t.Fatalf("block %q: ancestor %s is neither on btcd's main chain nor an accepted block", item.Name, fork)
		}
		side = append([]*wire.MsgBlock{msg}, side...)
		fork = msg.Header.PrevBlock
	}
	before := flushedDigest(t, h.engine, h.store)
	rewound := r.rewindTo(&fork)
	failed := item.Block
	err = nil
	for _, msg := range append(side, item.Block) {
		var b *utxo.Block
		if b, err = utxo.NewBlock(msg); err == nil {
			_, err = h.engine.Connect(b)
		}
		if err != nil {
			failed = msg
			break
		}
	}
	var re utxo.RuleError
	if err != nil && !errors.As(err, &re) {
		t.Fatalf("block %q: our engine failed with %v, want a rule error", item.Name, err)
	}
	result := "accepted"
	if err != nil {
		result = re.Code.String()
	}
	want, checks := ourCode(failed, item.RejectCode, r.params.PowLimit)
	switch {
	case checks && err == nil:
		t.Errorf("block %q: btcd rejects it with %v, our engine accepted it, want %v", item.Name, item.RejectCode, want)
	case checks && re.Code != want:
		t.Errorf("block %q: btcd rejects it with %v, our engine with %v, want %v", item.Name, item.RejectCode, err, want)
	case checks:
		r.checked[want]++
	default:
		// A rule the engine leaves to the consensus layer. Each of these
		// blocks breaks only that rule (fullblocktests builds them from
		// valid blocks), so our engine must accept it: a rejection would
		// be our engine refusing a block valid by every rule it checks.
		r.skipped[item.RejectCode]++
		if err == nil {
			result = "accepted (rule not checked)"
			r.skippedOurs["accepted"]++
		} else {
			r.skippedOurs["rejected "+re.Code.String()]++
			t.Errorf("block %q: btcd rejects it with %v, a rule our engine does not check, but our engine rejected it: %v",
				item.Name, item.RejectCode, err)
		}
	}
	if rewound > 0 || len(side) > 0 {
		r.rewound++
		result += fmt.Sprintf(" (rewound %d, then %d side-chain blocks", rewound, len(side))
		if failed != item.Block {
			result += ", failed at " + r.names[failed.BlockHash()]
		}
		result += ")"
	}
	t.Logf("%-6s btcd %-26v ours: %s", item.Name, item.RejectCode, result)
	// Back to btcd's main chain; the store must be as it was.
	r.rewindTo(&fork)
	r.replayMainChain()
	if flushedDigest(t, h.engine, h.store) != before {
		t.Fatalf("block %q: our store changed", item.Name)
	}
}

// rewindTo disconnects our engine's blocks above hash, a block of btcd's
// main chain, and returns how many it disconnected.
func (r *fullBlockRun) rewindTo(hash *chainhash.Hash) int {
	r.t.Helper()
	n := 0
	for {
		_, tip, _ := r.h.engine.Tip()
		if tip == *hash {
			return n
		}
		if _, err := r.h.engine.Disconnect(); err != nil {
			r.t.Fatalf("rewinding to %s: %v", hash, err)
		}
		n++
	}
}

// replayMainChain connects btcd's main-chain blocks above our tip.
func (r *fullBlockRun) replayMainChain() {
	r.t.Helper()
	height, _, _ := r.h.engine.Tip()
	for best := r.h.chain.BestSnapshot().Height; height < best; height++ {
		blk, err := r.h.chain.BlockByHeight(height + 1)
		if err != nil {
			r.t.Fatal(err)
		}
		b, err := utxo.NewBlock(blk.MsgBlock())
		if err == nil {
			_, err = r.h.engine.Connect(b)
		}
		if err != nil {
			r.t.Fatalf("replaying height %d: %v", height+1, err)
		}
	}
}

// ourCode maps btcd's reason for rejecting msg to the code our engine must
// give, and reports false for the rules the engine deliberately does not
// check (timestamps, retargeting, sigops, scripts, finality, BIP34 heights,
// checkpoints): those belong to the consensus layer.
func ourCode(msg *wire.MsgBlock, code blockchain.ErrorCode, powLimit *big.Int) (utxo.ErrorCode, bool) {
	switch code {
	case blockchain.ErrBadMerkleRoot:
		return utxo.ErrBadMerkleRoot, true
	case blockchain.ErrDuplicateTx:
		// btcd rejects any repeated txid. Core's CheckBlock (and ours)
		// only sees a repeat that pairs two equal hashes in the merkle
		// tree (the CVE-2012-2459 mutation); a repeat elsewhere keeps a
		// valid tree, and Core's ConnectBlock then rejects the copy for
		// spending inputs the first one already spent.
		txids := make([]chainhash.Hash, len(msg.Transactions))
		for i, tx := range msg.Transactions {
			txids[i] = tx.TxHash()
		}
		if coreMerkleMutated(txids) {
			return utxo.ErrMutatedMerkle, true
		}
		return utxo.ErrMissingInput, true
	case blockchain.ErrHighHash, blockchain.ErrUnexpectedDifficulty:
		// Our engine checks the hash against the header's own bits, not
		// whether the bits are right for the height.
		if powFails(&msg.Header, powLimit) {
			return utxo.ErrHighHash, true
		}
		return 0, false
	case blockchain.ErrBadTxInput:
		return utxo.ErrNullPrevOut, true
	case blockchain.ErrMissingTxOut:
		return utxo.ErrMissingInput, true
	case blockchain.ErrBlockWeightTooHigh, blockchain.ErrBlockTooBig:
		// Without witness data the weight is four times the size, and a
		// base size over 1 MB always weighs over 4 MWU.
		return utxo.ErrBlockTooHeavy, true
	case blockchain.ErrWitnessCommitmentMismatch:
		return utxo.ErrBadWitnessCommitment, true
	}
	same := map[blockchain.ErrorCode]utxo.ErrorCode{
		blockchain.ErrFirstTxNotCoinbase:   utxo.ErrFirstTxNotCoinbase,
		blockchain.ErrMultipleCoinbases:    utxo.ErrMultipleCoinbases,
		blockchain.ErrBadCoinbaseScriptLen: utxo.ErrBadCoinbaseScriptLen,
		blockchain.ErrNoTxInputs:           utxo.ErrNoTxInputs,
		blockchain.ErrNoTxOutputs:          utxo.ErrNoTxOutputs,
		blockchain.ErrBadTxOutValue:        utxo.ErrBadTxOutValue,
		blockchain.ErrDuplicateTxInputs:    utxo.ErrDuplicateTxInputs,
		blockchain.ErrImmatureSpend:        utxo.ErrImmatureSpend,
		blockchain.ErrSpendTooHigh:         utxo.ErrSpendTooHigh,
		blockchain.ErrBadCoinbaseValue:     utxo.ErrBadCoinbaseValue,
		blockchain.ErrOverwriteTx:          utxo.ErrOverwriteTx,
		blockchain.ErrNoTransactions:       utxo.ErrNoTransactions,
		blockchain.ErrUnexpectedWitness:    utxo.ErrUnexpectedWitness,
	}
	c, ok := same[code]
	return c, ok
}

// powFails is Core's CheckProofOfWork, computed with btcd's helpers rather
// than the engine's: the bits must encode a positive target no easier than
// the limit, and the hash must not exceed it.
func powFails(hdr *wire.BlockHeader, powLimit *big.Int) bool {
	target := blockchain.CompactToBig(hdr.Bits)
	if target.Sign() <= 0 || target.Cmp(powLimit) > 0 {
		return true
	}
	hash := hdr.BlockHash()
	return blockchain.HashToBig(&hash).Cmp(target) > 0
}

// coreMerkleMutated is the mutation flag of Core's ComputeMerkleRoot: two
// equal hashes paired at some level of the tree.
func coreMerkleMutated(level []chainhash.Hash) bool {
	mutated := false
	for len(level) > 1 {
		for i := 0; i+1 < len(level); i += 2 {
			if level[i] == level[i+1] {
				mutated = true
			}
		}
		next := make([]chainhash.Hash, (len(level)+1)/2)
		for i := range next {
			left, right := level[2*i], level[len(level)-1]
			if 2*i+1 < len(level) {
				right = level[2*i+1]
			}
			next[i] = chainhash.DoubleHashH(append(left[:], right[:]...))
		}
		level = next
	}
	return mutated
}
