package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/utxo/utxotest"
)

// TestFileBodies serves bodies from a plain blk directory and from the
// compressed mainnet fixture (held in memory), and answers app.ErrNoBody
// for unknown hashes and when no source is configured.
func TestFileBodies(t *testing.T) {
	fixture, err := utxotest.Path("mainnet-0-14131.blk.bz2")
	if err != nil {
		t.Fatal(err)
	}
	// The first blocks of the fixture, written with an obfuscation key
	// like Bitcoin Core 28+.
	chain, err := utxotest.MainnetChain()
	if err != nil {
		t.Fatal(err)
	}
	blocks := chain[:300]
	dir := filepath.Join(t.TempDir(), "blocks")
	w, err := blkfile.NewWriter(dir, wire.MainNet, &blkfile.WriterOptions{MaxFileSize: 20 << 10, XORKey: [8]byte{9, 8, 7, 6, 5, 4, 3, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if _, err := w.WriteBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for _, src := range []string{dir, fixture} {
		fb, err := OpenFileBodies(ctx, &chaincfg.MainNetParams, []string{src})
		if err != nil {
			t.Fatal(err)
		}
		if fb.Len() < len(blocks) {
			t.Fatalf("%s: %d blocks indexed", src, fb.Len())
		}
		for _, i := range []int{299, 0, 170, 1} {
			got, err := fb.Body(ctx, chainhash.DoubleHashH(blocks[i][:80]), int32(i))
			if err != nil {
				t.Fatalf("%s: block %d: %v", src, i, err)
			}
			if !bytes.Equal(got, blocks[i]) {
				t.Fatalf("%s: block %d differs", src, i)
			}
		}
		if _, err := fb.Body(ctx, chainhash.Hash{7}, 0); !errors.Is(err, app.ErrNoBody) {
			t.Fatalf("%s: unknown hash: %v, want app.ErrNoBody", src, err)
		}
	}

	none, err := OpenFileBodies(ctx, &chaincfg.MainNetParams, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Body(ctx, chainhash.DoubleHashH(blocks[0][:80]), 0); !errors.Is(err, app.ErrNoBody) {
		t.Fatalf("no sources: %v, want app.ErrNoBody", err)
	}
	if _, err := OpenFileBodies(ctx, &chaincfg.MainNetParams, []string{filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("a missing source was accepted")
	}
	// A file that disappears after indexing is a missing body, not a halt.
	fb, err := OpenFileBodies(ctx, &chaincfg.MainNetParams, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mustGlob(t, filepath.Join(dir, "blk*.dat")) {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fb.Body(ctx, chainhash.DoubleHashH(blocks[5][:80]), 0); !errors.Is(err, app.ErrNoBody) {
		t.Fatalf("removed file: %v, want app.ErrNoBody", err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("glob %s: %v %v", pattern, m, err)
	}
	return m
}
