// Package rpctest builds committed states for the RPC server's tests and
// benchmarks without running consensus: a chaingen regtest chain connected
// by a real UTXO engine into a real store, published as app.Views after
// every "commit", with reorgs on demand. What it does not do: endorsements,
// validators or anything else of the consensus layer beyond the fields an
// RPC reader needs (the View's consensus summary is empty or synthetic).
package rpctest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// Chain is a store, the engine over it and the views published from it.
// Its methods are not safe for concurrent use; the views are.
type Chain struct {
	Store  utxo.Store
	Engine *utxo.Engine
	Views  *app.Views
	// Gen generates the next blocks of the current branch.
	Gen *chaingen.Generator
	// Blocks[h] is the block at height h on the current branch.
	Blocks []*wire.MsgBlock
	// Bodies holds the body of every block connected so far, stale
	// branches included, for the handlers that serve blocks.
	Bodies *Bodies

	tb      testing.TB
	height  int64
	changes []*utxo.BlockChange
	elapsed []time.Duration
}

// New opens a leveldb store in a temporary directory and connects the
// genesis block and the first n blocks of cfg's chain (cfg.Blocks must
// leave room for every block the test will ask for), committing once.
func New(tb testing.TB, cfg chaingen.Config, n int) *Chain {
	tb.Helper()
	st, err := leveldbstore.Open(tb.TempDir(), leveldbstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return NewOn(tb, st, cfg, n)
}

// NewOn is New over a store the caller opened (and closes).
func NewOn(tb testing.TB, st utxo.Store, cfg chaingen.Config, n int) *Chain {
	tb.Helper()
	gen, err := chaingen.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c := &Chain{Store: st, Views: &app.Views{}, Gen: gen, Bodies: NewBodies(), tb: tb}
	c.Engine, err = utxo.Open(st, utxo.Config{Params: utxo.RegTest(), ManualFlush: true,
		OnBlock: func(ch *utxo.BlockChange) { c.changes = append(c.changes, ch) }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Engine.Close() })
	c.Extend(n + 1) // the genesis block and n more
	return c
}

// Extend connects the next n blocks of the current branch and commits.
func (c *Chain) Extend(n int) {
	c.tb.Helper()
	c.connect(c.Gen, n)
	c.Commit()
}

func (c *Chain) connect(g *chaingen.Generator, n int) {
	c.tb.Helper()
	for range n {
		mb, err := g.Next()
		if err != nil {
			c.tb.Fatalf("rpctest: generate: %v", err)
		}
		c.connectBlock(mb)
	}
}

// connectBlock connects mb on the tip (not committed).
func (c *Chain) connectBlock(mb *wire.MsgBlock) {
	c.tb.Helper()
	var buf bytes.Buffer
	if err := mb.Serialize(&buf); err != nil {
		c.tb.Fatal(err)
	}
	blk, err := utxo.DecodeBlock(buf.Bytes())
	if err != nil {
		c.tb.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.Engine.Connect(blk); err != nil {
		c.tb.Fatalf("rpctest: connect %d: %v", len(c.Blocks), err)
	}
	c.elapsed = append(c.elapsed, time.Since(t0))
	c.Blocks = append(c.Blocks, mb)
	c.Bodies.Put(blk.Hash, buf.Bytes())
}

// Fork returns a generator of a competing branch from the current tip,
// for a later Reorg.
func (c *Chain) Fork(salt uint64) *chaingen.Generator { return c.Gen.Fork(salt) }

// Reorg disconnects the blocks above g's height, connects n blocks from g
// (which becomes the branch's generator) and commits the whole reorg at
// once, as one consensus block would.
func (c *Chain) Reorg(g *chaingen.Generator, n int) {
	c.tb.Helper()
	for int32(len(c.Blocks)-1) > g.Height() {
		t0 := time.Now()
		if _, err := c.Engine.Disconnect(); err != nil {
			c.tb.Fatalf("rpctest: disconnect: %v", err)
		}
		c.elapsed = append(c.elapsed, time.Since(t0))
		c.Blocks = c.Blocks[:len(c.Blocks)-1]
	}
	c.Gen = g
	c.connect(g, n)
	c.Commit()
}

// Commit flushes the engine and publishes a view of the store with the
// changes since the last commit.
func (c *Chain) Commit() {
	c.tb.Helper()
	if err := c.Engine.Flush(); err != nil {
		c.tb.Fatal(err)
	}
	c.height++
	snap, err := c.Store.Snapshot()
	if err != nil {
		c.tb.Fatal(err)
	}
	h, hash, _ := c.Engine.Tip()
	tip := app.BlockRef{Height: h, Hash: hash}
	final := app.BlockRef{}
	if h > 6 {
		fh := h - 6
		final = app.BlockRef{Height: fh, Hash: c.Blocks[fh].BlockHash()}
	}
	v := &app.View{ChainID: "rpctest", Height: c.height, Time: time.Unix(1700000000+c.height, 0).UTC(),
		Params: c.Engine.Params(), FinalityDepth: 6, Tip: tip, Final: final, BestHeader: tip, Endorsed: tip}
	// App hash v2 over the engine's commitments (no consensus state here:
	// its root is zero), so that proofs can be asked for.
	mu, err := c.Engine.Digest()
	if err != nil {
		c.tb.Fatal(err)
	}
	root, err := c.Engine.TreeRoot()
	if err != nil {
		c.tb.Fatal(err)
	}
	v.AppHashVersion = int(apphash.V2)
	v.Commitments = apphash.Commitments{UTXORoot: root, MuHash: mu, TipHeight: h, TipHash: hash}
	v.AppHash = v.Commitments.Root()
	var ev *app.Event
	if len(c.changes) > 0 {
		ev = &app.Event{Height: c.height, Tip: tip, Blocks: c.changes, Elapsed: c.elapsed}
	}
	c.changes, c.elapsed = nil, nil
	c.Views.Publish(v, snap, ev)
}

// Tip is the current tip height.
func (c *Chain) Tip() int32 { return int32(len(c.Blocks) - 1) }

// String describes the chain for failure messages.
func (c *Chain) String() string {
	return fmt.Sprintf("rpctest chain at %d (%s)", c.Tip(), c.Blocks[c.Tip()].BlockHash())
}

// PruneUndo deletes the undo records of the blocks more than keep below
// the tip and commits, leaving the store as the application's engine
// leaves it (utxo.Config.UndoDepth = finality_depth+1, where rpctest's
// engine keeps every record so that tests may reorg deep). Keys are
// utxo/keys.go's undo records: 'u' 0x01 u32be(height). Reorgs deeper than
// keep fail afterwards.
func (c *Chain) PruneUndo(keep int32) {
	c.tb.Helper()
	tip := c.Tip()
	err := c.Store.Update(0, false, func(b utxo.Batch) error {
		for h := int32(1); h <= tip-keep; h++ {
			b.Delete([]byte{'u', 1, byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
		}
		return nil
	})
	if err != nil {
		c.tb.Fatal(err)
	}
	c.Commit()
}
