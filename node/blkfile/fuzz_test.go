package blkfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
)

// FuzzIndex feeds arbitrary bytes as a blk file (plain, and bzip2-compressed
// when small) through the index pass, chain building and reading. Nothing
// may panic; scan errors must be *FormatError; a file that scanned cleanly
// must read back without error; compression must not change the index.
func FuzzIndex(f *testing.F) {
	// Seeds from the genesis block and fake blocks on top of it, rather than
	// the fixture: fuzz workers run this setup under coverage
	// instrumentation, where decompressing the fixture takes many seconds.
	var genesis bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Serialize(&genesis); err != nil {
		f.Fatal(err)
	}
	blocks := append([][]byte{genesis.Bytes()}, relink([][]byte{genesis.Bytes(), genesis.Bytes(), genesis.Bytes()}, blockHash(genesis.Bytes()), 1, 0)...)
	good := &memWriter{}
	for _, b := range blocks {
		good.record(b)
	}
	fork := &memWriter{}
	fork.record(blocks[0])
	fork.record(blocks[1])
	for _, b := range relink(blocks[1:3], blockHash(blocks[0]), 9, 0) {
		fork.record(b)
	}
	f.Add(good.buf)
	f.Add(fork.buf)
	f.Add(append(bytes.Clone(good.buf), make([]byte, 64)...))
	f.Add(good.buf[:len(good.buf)-10])
	f.Add(good.buf[:300])
	f.Add([]byte{})
	f.Add([]byte{0xf9, 0xbe, 0xb4, 0xd9, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x0b, 0x11, 0x09, 0x07, 0x50, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		plain := filepath.Join(dir, "blk00000.dat")
		if err := os.WriteFile(plain, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ix := fuzzScan(t, plain)
		if ix != nil {
			fuzzRead(t, ix)
		}

		// The same bytes taken as a .bz2 file: almost always corrupt.
		garbled := filepath.Join(dir, "x.bz2")
		if err := os.WriteFile(garbled, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzScan(t, garbled)

		if len(data) > 1<<16 {
			return
		}
		compressed := filepath.Join(dir, "blk00001.dat.bz2")
		if err := os.WriteFile(compressed, bz2Compress(data), 0o644); err != nil {
			t.Fatal(err)
		}
		bix := fuzzScan(t, compressed)
		if (ix == nil) != (bix == nil) {
			t.Fatalf("plain scan ok=%v, compressed scan ok=%v", ix != nil, bix != nil)
		}
		if ix == nil {
			return
		}
		if !reflect.DeepEqual(stripFiles(ix.recs), stripFiles(bix.recs)) {
			t.Fatal("compressed file indexes differently")
		}
		fuzzRead(t, bix)
	})
}

func fuzzScan(t *testing.T, path string) *Index {
	ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{path}, &ScanOptions{BufferSize: 4096})
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("scan error is not a *FormatError: %v", err)
		}
		return nil
	}
	st := ix.Stats()
	if st.Records != ix.Len()+st.Duplicates || len(st.Truncated) > 1 {
		t.Fatalf("inconsistent stats %+v", st)
	}
	return ix
}

func fuzzRead(t *testing.T, ix *Index) {
	c, err := ix.BestChain()
	if err != nil {
		if !errors.Is(err, ErrNoChain) {
			t.Fatalf("chain: %v", err)
		}
		return
	}
	s, err := c.Blocks(context.Background(), c.Start(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := c.Start()
	for s.Next() {
		b := s.Block()
		if b.Height != h || blockHash(b.Raw) != b.Hash {
			t.Fatalf("bad block at %d", h)
		}
		h++
	}
	if s.Err() != nil {
		t.Fatalf("reading a file that scanned cleanly: %v", s.Err())
	}
	if tip, _ := c.Tip(); h != tip+1 {
		t.Fatalf("stream ended at %d, tip %d", h, tip)
	}
}

func stripFiles(recs []record) []record {
	out := append([]record(nil), recs...)
	for i := range out {
		out[i].file = 0
	}
	return out
}
