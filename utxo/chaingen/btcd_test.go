package chaingen

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// newChain returns a btcd regtest chain backed by a temporary ffldb.
func newChain(t testing.TB) *blockchain.BlockChain {
	t.Helper()
	params := &chaincfg.RegressionNetParams
	db, err := database.Create("ffldb", filepath.Join(t.TempDir(), "db"), params.Net)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	chain, err := blockchain.New(&blockchain.Config{
		DB:               db,
		UtxoCacheMaxSize: 256 << 20,
		ChainParams:      params,
		TimeSource:       blockchain.NewMedianTime(),
		SigCache:         txscript.NewSigCache(100_000),
	})
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

// scriptChecker re-verifies every input with txscript.StandardVerifyFlags,
// which are stricter than the consensus flags ProcessBlock applies (low-S,
// NULLFAIL, CLEANSTACK, compressed witness keys, ...), so the chain would
// also be relayable.
type scriptChecker struct {
	utxos map[wire.OutPoint]*wire.TxOut
}

func (sc *scriptChecker) check(t *testing.T, height int32, blk *wire.MsgBlock) {
	t.Helper()
	for ti, tx := range blk.Transactions {
		if ti > 0 {
			fetcher := txscript.NewMultiPrevOutFetcher(nil)
			for _, in := range tx.TxIn {
				prev, ok := sc.utxos[in.PreviousOutPoint]
				if !ok {
					t.Fatalf("block %d tx %d spends unknown %v", height, ti, in.PreviousOutPoint)
				}
				fetcher.AddPrevOut(in.PreviousOutPoint, prev)
			}
			hashes := txscript.NewTxSigHashes(tx, fetcher)
			for ii, in := range tx.TxIn {
				prev := sc.utxos[in.PreviousOutPoint]
				vm, err := txscript.NewEngine(prev.PkScript, tx, ii, txscript.StandardVerifyFlags, nil, hashes, prev.Value, fetcher)
				if err == nil {
					err = vm.Execute()
				}
				if err != nil {
					t.Fatalf("block %d tx %d input %d (%x): %v", height, ti, ii, prev.PkScript, err)
				}
				delete(sc.utxos, in.PreviousOutPoint)
			}
		}
		txid := tx.TxHash()
		for vout, out := range tx.TxOut {
			sc.utxos[wire.OutPoint{Hash: txid, Index: uint32(vout)}] = out
		}
	}
}

// runBtcd generates cfg's chain and feeds every block into btcd with full
// validation (BFNone), requiring each to extend the main chain; after each
// block it calls after (if non-nil). It returns the generator's summary.
func runBtcd(t *testing.T, cfg Config, after func(height int32, chain *blockchain.BlockChain)) Summary {
	t.Helper()
	start := time.Now()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chain := newChain(t)
	sc := &scriptChecker{utxos: map[wire.OutPoint]*wire.TxOut{}}
	act := cfg.ActivationHeight()
	var genTime time.Duration
	var prevTime time.Time
	for {
		t0 := time.Now()
		blk, err := g.Next()
		genTime += time.Since(t0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		height := g.Height()
		if height == 0 {
			if hash := blk.BlockHash(); hash != *chaincfg.RegressionNetParams.GenesisHash {
				t.Fatalf("block 0 is %v, not the regtest genesis", hash)
			}
			continue
		}
		ts := blk.Header.Timestamp
		if !ts.After(prevTime) || ts.After(cfg.LastBlockTime()) {
			t.Fatalf("block %d time %v: previous %v, LastBlockTime %v", height, ts, prevTime, cfg.LastBlockTime())
		}
		prevTime = ts
		if height < act && hasWitness(blk) {
			t.Fatalf("block %d before activation has witness data", height)
		}
		sc.check(t, height, blk)
		isMain, orphan, err := chain.ProcessBlock(btcutil.NewBlock(blk), blockchain.BFNone)
		if err != nil {
			t.Fatalf("btcd rejected block %d: %v", height, err)
		}
		if !isMain || orphan {
			t.Fatalf("block %d: main chain %v orphan %v", height, isMain, orphan)
		}
		if after != nil {
			after(height, chain)
		}
	}
	best := chain.BestSnapshot()
	if best.Height != int32(cfg.Blocks) || best.Hash != g.prevHash {
		t.Fatalf("btcd tip %d %v, generator tip %d %v", best.Height, best.Hash, g.Height(), g.prevHash)
	}
	s := g.Summary()
	t.Logf("generated in %v, generated+validated in %v\n%v", genTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), s)
	// The generator's UTXO count must match the chain's.
	if got := len(sc.utxos) - unspendable(sc.utxos); got != s.FinalUTXOs {
		t.Errorf("script checker sees %d spendable utxos, summary %d", got, s.FinalUTXOs)
	}
	return s
}

// TestBtcdAcceptsChain feeds the default chain (600 blocks, past
// segwit/taproot activation, every script type and shape) into btcd with
// full validation, and checks the deployments activate at height 432.
func TestBtcdAcceptsChain(t *testing.T) {
	cfg := DefaultConfig()
	act := cfg.ActivationHeight()
	if act != 432 {
		t.Fatalf("ActivationHeight = %d, want 432", act)
	}
	deployments := []uint32{chaincfg.DeploymentCSV, chaincfg.DeploymentSegwit, chaincfg.DeploymentTaproot}
	firstActive := int32(-1)
	s := runBtcd(t, cfg, func(height int32, chain *blockchain.BlockChain) {
		// IsDeploymentActive answers for the block after the tip.
		for _, d := range deployments {
			active, err := chain.IsDeploymentActive(d)
			if err != nil {
				t.Fatal(err)
			}
			if active && firstActive < 0 {
				firstActive = height + 1
			}
			if want := height+1 >= act; active != want {
				t.Fatalf("deployment %d active=%v for height %d, want %v", d, active, height+1, want)
			}
		}
	})
	t.Logf("CSV, segwit and taproot active from height %d", firstActive)
	for ty := range ScriptType(numSpendable) {
		if s.InputsByType[ty] == 0 {
			t.Errorf("no %v output was spent", ty)
		}
	}
	if s.OutputsByType[ScriptNullData] == 0 || s.Consolidations == 0 || s.Batches == 0 ||
		s.InBlockSpends == 0 || s.UnderclaimedBlocks == 0 || s.WitnessBlocks < cfg.Blocks-int(act)-5 {
		t.Errorf("shape not exercised: %+v", s)
	}
}

// TestBtcdAcceptsFullBlocks drives blocks to the consensus limits: blocks
// that stop only on the weight budget, and (before activation, with P2PKH
// batch payouts) blocks that stop only on the sigop budget.
func TestBtcdAcceptsFullBlocks(t *testing.T) {
	t.Run("weight", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Blocks = 432 // the first segwit block is the full one
		cfg.PreActivationTxsPerBlock = 3
		cfg.TxsPerBlock = 20_000
		cfg.KeyPoolSize = 500
		s := runBtcd(t, cfg, nil)
		if s.MaxBlockWeight < 3_800_000 {
			t.Errorf("max block weight %d, want a nearly full block", s.MaxBlockWeight)
		}
	})
	t.Run("sigops", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Blocks = 101 // the first block with a mature coinbase is the full one
		cfg.PreActivationTxsPerBlock = 20_000
		cfg.KeyPoolSize = 500
		cfg.Mix = OutputMix{P2PKH: 1}
		cfg.ConsolidationRate = 0
		cfg.BatchRate = 0.5
		cfg.BatchOutputs = [2]int{400, 500}
		cfg.BatchPayout = [2]int64{20_000, 50_000}
		cfg.FeeRate = [2]int64{1, 2}
		s := runBtcd(t, cfg, nil)
		if s.MaxBlockSigOpCost < 75_000 {
			t.Errorf("max block sigop cost %d, want a nearly sigop-full block", s.MaxBlockSigOpCost)
		}
	})
}

func hasWitness(blk *wire.MsgBlock) bool {
	for _, tx := range blk.Transactions {
		if tx.HasWitness() {
			return true
		}
	}
	return false
}

func unspendable(utxos map[wire.OutPoint]*wire.TxOut) int {
	n := 0
	for _, o := range utxos {
		if txscript.IsUnspendable(o.PkScript) {
			n++
		}
	}
	return n
}
