package blkfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
)

// BenchmarkIndexPlain measures the index pass over the decompressed fixture
// (from the page cache: this is the CPU cost, not the disk's). MB/s counts
// the file's bytes.
func BenchmarkIndexPlain(b *testing.B) {
	data := fixtureBytes(b)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if ix.Len() != fixtureTip+1 {
			b.Fatal("wrong count")
		}
	}
}

// BenchmarkIndexBZ2 is the index pass over the compressed fixture, bound by
// bzip2 decompression.
func BenchmarkIndexBZ2(b *testing.B) {
	st, err := os.Stat(fixturePath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{fixturePath}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBestChain is the chain building step for the fixture's 14132
// blocks.
func BenchmarkBestChain(b *testing.B) {
	ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{fixturePath}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ix.BestChain(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPlain streams every block of the decompressed fixture.
func BenchmarkReadPlain(b *testing.B) {
	data := fixtureBytes(b)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	_, c := scanChain(b, dir)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.Blocks(context.Background(), 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		for s.Next() {
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
		s.Close()
	}
}

// BenchmarkIndexLargeBlocks indexes 64 one-megabyte blocks: the bodies are
// seeked over, so MB/s (of file bytes) is far above any read rate.
func BenchmarkIndexLargeBlocks(b *testing.B) {
	header := fixtureBlocks(b)[1][:80]
	blocks := make([][]byte, 64)
	for i := range blocks {
		blocks[i] = make([]byte, 1<<20)
		copy(blocks[i], header)
		blocks[i][76] = byte(i) // distinct hashes
	}
	dir, _ := writeDir(b, blocks, nil)
	b.SetBytes(64 * (8 + 1<<20))
	for b.Loop() {
		ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if ix.Len() != 64 {
			b.Fatal("wrong count")
		}
	}
}
