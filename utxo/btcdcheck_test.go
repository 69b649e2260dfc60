package utxo_test

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/utxo"
)

// TestBtcdMainnetAgreement imports mainnet blocks 0–14131 into btcd's
// blockchain package, with full validation (scripts included, no
// checkpoints), and into our engine following btcd's notifications, then
// compares the two UTXO sets output by output: every output of every
// block must be in both sets with the same amount, script, height and
// coinbase flag, or in neither. btcd is an independent implementation, so
// this checks ours coin for coin against a second opinion.
func TestBtcdMainnetAgreement(t *testing.T) {
	raws := mainnetBlocks(t)
	start := time.Now()
	chainParams := chaincfg.MainNetParams
	p := utxo.MainNet()
	p.Chain = &chainParams
	// A 64 MiB UTXO cache: with the fullblocktests driver's zero budget
	// btcd writes its set to disk after every block, which only costs time.
	h := newBtcdHarness(t, &chainParams, p, 64<<20, blockchain.BFNone)
	for height := 1; height < len(raws); height++ {
		blk, err := btcutil.NewBlockFromBytes(raws[height])
		if err != nil {
			t.Fatalf("height %d: %v", height, err)
		}
		isMainChain, isOrphan, err := h.process(blk)
		if err != nil || !isMainChain || isOrphan {
			t.Fatalf("height %d: btcd: main chain %v, orphan %v, error %v", height, isMainChain, isOrphan, err)
		}
	}
	h.assertSameTip("after the import")
	if h.connected != len(raws)-1 || h.disconnected != 0 {
		t.Fatalf("%d blocks connected and %d disconnected through btcd's notifications, want %d and 0",
			h.connected, h.disconnected, len(raws)-1)
	}
	imported := time.Since(start)
	c := h.compareSets()
	// The first spend is at height 170, so some coins must be gone: a
	// comparison that found every output unspent would prove little.
	if c.blocks != len(raws) || c.unspent == 0 || c.absent <= len(raws)/100 {
		t.Fatalf("comparison looked at too little: %v", c)
	}
	t.Logf("imported %d blocks into btcd and our engine in %v, compared in %v", len(raws),
		imported.Round(time.Millisecond), (time.Since(start) - imported).Round(time.Millisecond))
	t.Logf("compared %v", c)
}
