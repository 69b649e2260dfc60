package utxo_test

// A harness that runs btcd's blockchain.BlockChain next to our engine. btcd
// is the oracle for which blocks form the best chain: every block it
// connects or disconnects is mirrored into our engine through its
// notifications, in the order btcd applies them, so after any sequence of
// blocks and reorgs the two sets must agree coin for coin.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/database"
	_ "github.com/btcsuite/btcd/database/ffldb" // registers the "ffldb" driver
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// btcdHarness is btcd's chain plus our engine following it.
type btcdHarness struct {
	t      testing.TB
	chain  *blockchain.BlockChain
	engine *utxo.Engine
	store  *memstore.Store
	flags  blockchain.BehaviorFlags

	// Blocks connected and disconnected through btcd's notifications.
	connected, disconnected int
	// reorgs counts ProcessBlock calls during which btcd disconnected at
	// least one block.
	reorgs            int
	disconnectsInCall int
	// failure is the first error met inside a notification callback. It is
	// reported once ProcessBlock returns instead of unwinding through btcd's
	// stack while it holds its own locks and database transactions.
	failure error
}

// newBtcdHarness creates btcd's chain the way btcd's own fullblocktests
// driver does (an ffldb database, blockchain.New with a copy of the
// parameters, a signature cache), here in t.TempDir(), and an engine on an
// in-memory store holding the same genesis block. utxoCacheBytes is btcd's
// UTXO cache budget; 0, as in btcd's driver, flushes it after every block.
func newBtcdHarness(t testing.TB, chainParams *chaincfg.Params, p *utxo.Params,
	utxoCacheBytes uint64, flags blockchain.BehaviorFlags) *btcdHarness {
	t.Helper()
	db, err := database.Create("ffldb", filepath.Join(t.TempDir(), "ffldb"), chainParams.Net)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	chain, err := blockchain.New(&blockchain.Config{
		DB:               db,
		ChainParams:      chainParams,
		Checkpoints:      nil, // no checkpoints: btcd validates every script
		TimeSource:       blockchain.NewMedianTime(),
		SigCache:         txscript.NewSigCache(1000),
		UtxoCacheMaxSize: utxoCacheBytes,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &btcdHarness{t: t, chain: chain, store: memstore.New(), flags: flags}
	h.engine = openEngine(t, h.store, utxo.Config{Params: p})
	t.Cleanup(func() { h.engine.Close() })
	// btcd starts with the genesis block in place and never announces it.
	g, err := utxo.NewBlock(chainParams.GenesisBlock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.engine.Connect(g); err != nil {
		t.Fatalf("genesis: %v", err)
	}
	chain.Subscribe(h.onNotification)
	return h
}

func (h *btcdHarness) fail(format string, args ...any) {
	if h.failure == nil {
		h.failure = fmt.Errorf(format, args...)
	}
}

// onNotification mirrors btcd's main-chain changes into our engine. btcd
// announces exactly the blocks it has fully validated and made part of the
// best chain, so our engine must accept every one of them.
func (h *btcdHarness) onNotification(n *blockchain.Notification) {
	if h.failure != nil {
		return
	}
	switch n.Type {
	case blockchain.NTBlockConnected:
		blk := n.Data.(*btcutil.Block)
		b, err := utxo.NewBlock(blk.MsgBlock())
		var st *utxo.BlockStats
		if err == nil {
			st, err = h.engine.Connect(b)
		}
		if err != nil {
			h.fail("btcd connected block %s at height %d, our engine refused it: %w", blk.Hash(), blk.Height(), err)
			return
		}
		if st.Height != blk.Height() || st.Hash != *blk.Hash() {
			h.fail("btcd connected %s at height %d, our engine connected %s at %d", blk.Hash(), blk.Height(), st.Hash, st.Height)
			return
		}
		h.connected++
	case blockchain.NTBlockDisconnected:
		blk := n.Data.(*btcutil.Block)
		st, err := h.engine.Disconnect()
		if err != nil {
			h.fail("btcd disconnected block %s at height %d, our engine could not: %w", blk.Hash(), blk.Height(), err)
			return
		}
		if st.Height != blk.Height() || st.Hash != *blk.Hash() {
			h.fail("btcd disconnected %s at height %d, our engine popped %s at %d", blk.Hash(), blk.Height(), st.Hash, st.Height)
			return
		}
		h.disconnected++
		h.disconnectsInCall++
	}
}

// process hands a block to btcd and returns ProcessBlock's results. A
// failure to mirror one of the notifications it caused fails the test.
func (h *btcdHarness) process(blk *btcutil.Block) (isMainChain, isOrphan bool, err error) {
	h.t.Helper()
	h.disconnectsInCall = 0
	isMainChain, isOrphan, err = h.chain.ProcessBlock(blk, h.flags)
	if h.failure != nil {
		h.t.Fatal(h.failure)
	}
	if h.disconnectsInCall > 0 {
		h.reorgs++
	}
	return isMainChain, isOrphan, err
}

// assertSameTip fails unless our tip is btcd's best block.
func (h *btcdHarness) assertSameTip(context string) {
	h.t.Helper()
	best := h.chain.BestSnapshot()
	height, hash, ok := h.engine.Tip()
	if !ok || height != best.Height || hash != best.Hash {
		h.t.Fatalf("%s: our tip is %s at %d, btcd's is %s at %d", context, hash, height, best.Hash, best.Height)
	}
}

// setComparison counts what compareSets looked at.
type setComparison struct {
	blocks, outputs int
	unspent         int // present in both sets, with equal fields
	absent          int // in neither: spent, or the genesis coinbase
	unspendable     int // OP_RETURN or over 10,000 bytes: in neither
	// btcdOnlyUnspendable are scripts that fail to parse but are no longer
	// than 10,000 bytes: btcd drops them (txscript.IsUnspendable), Core and
	// we keep them. They are skipped, not compared.
	btcdOnlyUnspendable int
	ourCoins            int // outputs found in our set
}

func (c setComparison) String() string {
	return fmt.Sprintf("%d blocks, %d outputs: %d unspent in both, %d in neither, %d unspendable, %d skipped (btcd-only unspendable)",
		c.blocks, c.outputs, c.unspent, c.absent, c.unspendable, c.btcdOnlyUnspendable)
}

// compareSets flushes our engine and checks, for every output of every
// block on btcd's main chain (genesis included), that our flushed set and
// btcd's UTXO set agree: both without the coin, or both with the same
// amount, script, height and coinbase flag. It also checks that our stored
// header at each height is btcd's block, and that our set holds nothing
// else.
func (h *btcdHarness) compareSets() setComparison {
	h.t.Helper()
	t := h.t
	if err := h.engine.Flush(); err != nil {
		t.Fatal(err)
	}
	r := utxo.NewReader(h.store)
	best := h.chain.BestSnapshot()
	var c setComparison
	for height := int32(0); height <= best.Height; height++ {
		blk, err := h.chain.BlockByHeight(height)
		if err != nil {
			t.Fatalf("btcd block at height %d: %v", height, err)
		}
		hdr, err := r.Header(height)
		if err != nil {
			t.Fatalf("our header at height %d: %v", height, err)
		}
		if hdr.BlockHash() != *blk.Hash() {
			t.Fatalf("height %d: our block %s, btcd's %s", height, hdr.BlockHash(), blk.Hash())
		}
		c.blocks++
		for _, tx := range blk.Transactions() {
			for vout, out := range tx.MsgTx().TxOut {
				op := wire.OutPoint{Hash: *tx.Hash(), Index: uint32(vout)}
				c.outputs++
				ours, err := r.Coin(utxo.Outpoint{Hash: op.Hash, Index: op.Index})
				have := err == nil
				if err != nil && !utxo.IsNotFound(err) {
					t.Fatalf("our coin %v: %v", op, err)
				}
				if have {
					c.ourCoins++
				}
				entry, err := h.chain.FetchUtxoEntry(op)
				if err != nil {
					t.Fatalf("btcd coin %v: %v", op, err)
				}
				// Every lookup lands in btcd's UTXO cache; with the
				// driver's zero budget each one adds a map that later
				// lookups scan, which is quadratic. Emptying the cache
				// now and then (what btcd does after every block anyway)
				// keeps the walk linear and changes nothing in the set.
				if c.outputs%256 == 0 {
					if err := h.chain.FlushUtxoCache(blockchain.FlushRequired); err != nil {
						t.Fatal(err)
					}
				}
				theirs := entry != nil && !entry.IsSpent()
				switch {
				case utxo.IsUnspendable(out.PkScript):
					// Core's rule; btcd's is a superset, so neither may
					// hold the coin.
					if have || theirs {
						t.Fatalf("height %d: unspendable output %v in our set: %v, in btcd's: %v", height, op, have, theirs)
					}
					c.unspendable++
				case txscript.IsUnspendable(out.PkScript):
					c.btcdOnlyUnspendable++
				case have != theirs:
					t.Fatalf("height %d: output %v in our set: %v, in btcd's: %v", height, op, have, theirs)
				case !have:
					c.absent++
				default:
					if ours.Value != entry.Amount() || !bytes.Equal(ours.Script, entry.PkScript()) ||
						ours.Height != entry.BlockHeight() || ours.Coinbase != entry.IsCoinBase() {
						t.Fatalf("height %d: coin %v: ours value %d height %d coinbase %v script %x, btcd's %d %d %v %x",
							height, op, ours.Value, ours.Height, ours.Coinbase, ours.Script,
							entry.Amount(), entry.BlockHeight(), entry.IsCoinBase(), entry.PkScript())
					}
					c.unspent++
				}
			}
		}
	}
	// Nothing else: the coin table (prefix 'c' 01, keys.go) and the tip's
	// record both count exactly the coins found on the walk.
	stored := 0
	it := h.store.Iterate([]byte{'c', 1}, nil)
	for it.Next() {
		if k, err := utxo.ParseKey(it.Key()); err != nil || k.Table != "coin" {
			t.Fatalf("coin table key %x: %v %v", it.Key(), k.Table, err)
		}
		stored++
	}
	it.Release()
	rec, err := r.BlockRecord(best.Height)
	if err != nil {
		t.Fatal(err)
	}
	if stored != c.ourCoins || rec.Totals.TxOuts != uint64(c.ourCoins) {
		t.Fatalf("our store holds %d coins and its record says %d, but %d are outputs of btcd's main chain",
			stored, rec.Totals.TxOuts, c.ourCoins)
	}
	return c
}

// fmtCounts formats a tally in a stable order.
func fmtCounts[K comparable](m map[K]int) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%v=%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
