package blkfile

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// fixturePath is real mainnet data: blocks 0..14131 in blk format, bzip2.
const fixturePath = "../../testdata/mainnet/mainnet-0-14131.blk.bz2"

const fixtureTip = 14131

// decompressedFixture decompresses the fixture once per test binary: under
// the race detector bzip2 decompression costs seconds, and most tests need
// the blocks. Callers get their own copy, so the cache stays unchanged.
var decompressedFixture = sync.OnceValues(func() ([]byte, error) {
	f, err := os.Open(fixturePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(bzip2.NewReader(f))
})

// fixtureBytes returns the decompressed fixture.
func fixtureBytes(t testing.TB) []byte {
	t.Helper()
	data, err := decompressedFixture()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return bytes.Clone(data)
}

// fixtureBlocks splits the decompressed fixture into raw blocks, with a
// parser of its own so that the tests do not trust the package's framing.
func fixtureBlocks(t testing.TB) [][]byte {
	t.Helper()
	data := fixtureBytes(t)
	var blocks [][]byte
	for len(data) > 0 {
		if len(data) < 8 || binary.LittleEndian.Uint32(data) != uint32(wire.MainNet) {
			t.Fatalf("fixture: bad framing after %d blocks", len(blocks))
		}
		n := int(binary.LittleEndian.Uint32(data[4:]))
		blocks = append(blocks, data[8:8+n:8+n])
		data = data[8+n:]
	}
	if len(blocks) != fixtureTip+1 {
		t.Fatalf("fixture has %d blocks, want %d", len(blocks), fixtureTip+1)
	}
	return blocks
}

func blockHash(raw []byte) chainhash.Hash { return chainhash.DoubleHashH(raw[:80]) }

// writeDir writes blocks with a Writer into a new directory.
func writeDir(t testing.TB, blocks [][]byte, opts *WriterOptions) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blocks")
	w, err := NewWriter(dir, wire.MainNet, opts)
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
	return dir, w.Files()
}

func appendFile(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func scanChain(t testing.TB, sources ...string) (*Index, *Chain) {
	t.Helper()
	ix, err := Scan(context.Background(), &chaincfg.MainNetParams, sources, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ix.BestChain()
	if err != nil {
		t.Fatal(err)
	}
	return ix, c
}

// readAll streams the chain from height from and returns the blocks.
func readAll(t testing.TB, c *Chain, from int32, opts *ReadOptions) []Block {
	t.Helper()
	s, err := c.Blocks(context.Background(), from, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []Block
	for s.Next() {
		out = append(out, s.Block())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkBlocks checks that got are want[from:], in order, at the right
// heights, with matching hashes.
func checkBlocks(t testing.TB, got []Block, want [][]byte, from int) {
	t.Helper()
	if len(got) != len(want)-from {
		t.Fatalf("read %d blocks, want %d", len(got), len(want)-from)
	}
	for i, b := range got {
		h := from + i
		if b.Height != int32(h) {
			t.Fatalf("block %d: height %d, want %d", i, b.Height, h)
		}
		if !bytes.Equal(b.Raw, want[h]) {
			t.Fatalf("height %d: bytes differ", h)
		}
		if b.Hash != blockHash(want[h]) {
			t.Fatalf("height %d: hash %s, want %s", h, b.Hash, blockHash(want[h]))
		}
	}
}

// noLeak fails the test if goroutines started during it are still running
// at its end.
func noLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// relink returns copies of blocks made into a branch building on parent:
// each header's prev hash points to the previous copy and its nonce is
// changed by salt so that the hashes differ from the originals. If bits is
// non-zero it replaces the difficulty bits.
func relink(blocks [][]byte, parent chainhash.Hash, salt uint32, bits uint32) [][]byte {
	out := make([][]byte, len(blocks))
	prev := parent
	for i, b := range blocks {
		nb := bytes.Clone(b)
		copy(nb[4:36], prev[:])
		if bits != 0 {
			binary.LittleEndian.PutUint32(nb[72:76], bits)
		}
		binary.LittleEndian.PutUint32(nb[76:80], binary.LittleEndian.Uint32(nb[76:80])^salt)
		out[i] = nb
		prev = blockHash(nb)
	}
	return out
}
