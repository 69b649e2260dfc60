package btcnode_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/node/btcnode"
)

// TestFileSource runs the Source suite over the mainnet fixture, a .bz2
// file served from memory.
func TestFileSource(t *testing.T) {
	ref := mainnetRef(t)
	src, err := btcnode.OpenFiles(context.Background(), &chaincfg.MainNetParams, []string{mainnetFixture})
	if err != nil {
		t.Fatal(err)
	}
	checkSource(t, src, ref, chaincfg.MainNetParams.Name)
}

// TestFileSourceStale: a block off the best chain is served by Block but
// has no height for BlockHeader.
func TestFileSourceStale(t *testing.T) {
	ref := mainnetRef(t)
	const n = 50
	dir := t.TempDir()
	w, err := blkfile.NewWriter(dir, wire.MainNet, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range ref.blocks[:n] {
		if _, err := w.WriteBlock(raw); err != nil {
			t.Fatal(err)
		}
	}
	// A sibling of block n-1: same parent and bits (so the same work; the
	// tie goes to the block first in the files), another nonce. blkfile
	// does not check proof of work, so it need not be mined.
	stale := bytes.Clone(ref.blocks[n-1])
	stale[76] ^= 0xff
	staleHash := chainhash.DoubleHashH(stale[:80])
	if _, err := w.WriteBlock(stale); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	src, err := btcnode.OpenFiles(context.Background(), &chaincfg.MainNetParams, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	sub := &refChain{}
	for _, raw := range ref.blocks[:n] {
		sub.add(t, raw)
	}
	checkSource(t, src, sub, "mainnet")

	ctx := context.Background()
	if raw, err := src.Block(ctx, staleHash); err != nil || !bytes.Equal(raw, stale) {
		t.Fatalf("Block(stale) = %d bytes, %v", len(raw), err)
	}
	if _, err := src.BlockHeader(ctx, staleHash); !errors.Is(err, btcnode.ErrNotFound) {
		t.Fatalf("BlockHeader(stale) = %v, want ErrNotFound", err)
	}
}

// TestFileSourceNotKept: without KeepCompressed, blocks of a .bz2 file
// cannot be served, and that is not "not found".
func TestFileSourceNotKept(t *testing.T) {
	ix, err := blkfile.Scan(context.Background(), &chaincfg.MainNetParams, []string{mainnetFixture}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := btcnode.NewFileSource(ix)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := src.BlockHash(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Block(context.Background(), hash)
	if !errors.Is(err, blkfile.ErrNotSeekable) || errors.Is(err, btcnode.ErrNotFound) {
		t.Fatalf("Block from an unkept .bz2: %v, want ErrNotSeekable and not ErrNotFound", err)
	}
}
