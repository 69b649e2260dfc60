package blkfile

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// checkFixtureChain checks a chain built from the whole fixture.
func checkFixtureChain(t *testing.T, ix *Index, c *Chain, blocks [][]byte) {
	t.Helper()
	st := ix.Stats()
	if st.Records != fixtureTip+1 || st.Duplicates != 0 || len(st.Truncated) != 0 || ix.Len() != fixtureTip+1 {
		t.Fatalf("stats %+v, len %d", st, ix.Len())
	}
	if st.Bytes != int64(len(fixtureBytesOf(blocks))) {
		t.Fatalf("stats bytes %d, want %d", st.Bytes, len(fixtureBytesOf(blocks)))
	}
	if c.Start() != 0 {
		t.Fatalf("start %d", c.Start())
	}
	tip, tipHash := c.Tip()
	if tip != fixtureTip || tipHash != blockHash(blocks[fixtureTip]) {
		t.Fatalf("tip %d %s, want %d %s", tip, tipHash, fixtureTip, blockHash(blocks[fixtureTip]))
	}
	if h, _ := c.Hash(0); h != *chaincfg.MainNetParams.GenesisHash || blockHash(blocks[0]) != h {
		t.Fatalf("height 0 is %s, want genesis", h)
	}
	if cs := c.Stats(); cs != (ChainStats{Blocks: fixtureTip + 1}) {
		t.Fatalf("chain stats %+v", cs)
	}
	var total int64
	want := new(big.Int)
	for i, b := range blocks {
		total += int64(len(b))
		hash := blockHash(b)
		if h, ok := c.Height(hash); !ok || h != int32(i) {
			t.Fatalf("Height(%s) = %d %v, want %d", hash, h, ok, i)
		}
		if h, ok := c.Hash(int32(i)); !ok || h != hash {
			t.Fatalf("Hash(%d) = %s", i, h)
		}
		if loc, ok := c.Location(int32(i)); !ok || int(loc.Size) != len(b) {
			t.Fatalf("Location(%d) = %+v", i, loc)
		}
		var hdr wire.BlockHeader
		if err := hdr.Deserialize(bytes.NewReader(b[:80])); err != nil {
			t.Fatal(err)
		}
		want.Add(want, blockchain.CalcWork(hdr.Bits))
	}
	if c.BytesFrom(0) != total {
		t.Fatalf("BytesFrom(0) = %d, want %d", c.BytesFrom(0), total)
	}
	if c.Work().Cmp(want) != 0 {
		t.Fatalf("work %s, want %s", c.Work(), want)
	}
	got := readAll(t, c, 0, nil)
	checkBlocks(t, got, blocks, 0)
	for i := 1; i < len(got); i++ {
		if [32]byte(got[i].Raw[4:36]) != got[i-1].Hash {
			t.Fatalf("height %d does not link to %d", i, i-1)
		}
	}
}

func fixtureBytesOf(blocks [][]byte) []byte {
	w := &memWriter{}
	for _, b := range blocks {
		w.record(b)
	}
	return w.buf
}

// memWriter builds blk-format bytes in memory.
type memWriter struct{ buf []byte }

func (m *memWriter) record(b []byte) {
	m.buf = append(m.buf, 0xf9, 0xbe, 0xb4, 0xd9, byte(len(b)), byte(len(b)>>8), byte(len(b)>>16), byte(len(b)>>24))
	m.buf = append(m.buf, b...)
}

func TestFixtureBZ2(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)
	ix, c := scanChain(t, fixturePath)
	checkFixtureChain(t, ix, c, blocks)
}

func TestFixturePlain(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), fixtureBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, c := scanChain(t, dir)
	checkFixtureChain(t, ix, c, blocks)
	loc, _ := c.Location(1)
	if want := (Location{Path: filepath.Join(dir, "blk00000.dat"), Offset: 8 + 285, Size: 215}); loc != want {
		t.Fatalf("Location(1) = %+v, want %+v", loc, want)
	}
	if l, ok := ix.Lookup(blockHash(blocks[1])); !ok || l != loc {
		t.Fatalf("Lookup = %+v %v", l, ok)
	}
}

// TestResume reads from the middle, as an importer resuming from its store
// tip does, from plain and compressed sources.
func TestResume(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "blk00000.dat")
	if err := os.WriteFile(plain, fixtureBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	// Plain only: resuming inside .bz2 files (decompress and skip) is
	// covered by TestOutOfOrderDirectory and TestBZ2BufferLimit on smaller
	// inputs, as a full fixture decompression is slow under -race.
	for _, src := range []string{plain} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			_, c := scanChain(t, src)
			storeTip := blockHash(blocks[6999])
			h, ok := c.Height(storeTip)
			if !ok || h != 6999 {
				t.Fatalf("Height(store tip) = %d %v", h, ok)
			}
			var want int64
			for _, b := range blocks[7000:] {
				want += int64(len(b))
			}
			if got := c.BytesFrom(h + 1); got != want {
				t.Fatalf("BytesFrom(7000) = %d, want %d", got, want)
			}
			checkBlocks(t, readAll(t, c, h+1, nil), blocks, 7000)
			checkBlocks(t, readAll(t, c, fixtureTip, nil), blocks, fixtureTip)
			if got := readAll(t, c, fixtureTip+1, nil); len(got) != 0 {
				t.Fatalf("reading from tip+1 gave %d blocks", len(got))
			}
			for _, bad := range []int32{-1, fixtureTip + 2} {
				if _, err := c.Blocks(context.Background(), bad, nil); !errors.Is(err, ErrHeightRange) {
					t.Fatalf("Blocks(%d): %v, want ErrHeightRange", bad, err)
				}
			}
		})
	}
}

// TestBestChainFrom roots the chain at a mid-chain block, with the base
// block present in the sources and without it.
func TestBestChainFrom(t *testing.T) {
	blocks := fixtureBlocks(t)
	base := blockHash(blocks[1000])

	plain := filepath.Join(t.TempDir(), "blk00000.dat")
	if err := os.WriteFile(plain, fixtureBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{plain}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ix.BestChainFrom(base, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if tip, _ := c.Tip(); c.Start() != 1000 || tip != fixtureTip {
		t.Fatalf("start %d tip %d", c.Start(), tip)
	}
	if _, ok := c.Height(blockHash(blocks[999])); ok {
		t.Fatal("block below the base is on the chain")
	}
	if cs := c.Stats(); cs.Unconnected != 1000 || cs.Blocks != fixtureTip+1-1000 {
		t.Fatalf("stats %+v", cs)
	}
	checkBlocks(t, readAll(t, c, 1000, nil), blocks, 1000)

	// Only blocks 1001..2000 in the files: the chain starts above the base.
	dir, _ := writeDir(t, blocks[1001:2001], nil)
	ix, err = Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.BestChain(); !errors.Is(err, ErrNoChain) {
		t.Fatalf("BestChain without genesis: %v, want ErrNoChain", err)
	}
	if _, err := ix.BestChainFrom(blockHash(blocks[5000]), 5000); !errors.Is(err, ErrNoChain) {
		t.Fatalf("unrelated base: %v, want ErrNoChain", err)
	}
	if _, err := ix.BestChainFrom(base, -1); err == nil {
		t.Fatal("negative base height accepted")
	}
	c, err = ix.BestChainFrom(base, 1000)
	if err != nil {
		t.Fatal(err)
	}
	tip, tipHash := c.Tip()
	if c.Start() != 1001 || tip != 2000 || tipHash != blockHash(blocks[2000]) {
		t.Fatalf("start %d tip %d", c.Start(), tip)
	}
	if h, ok := c.Height(base); !ok || h != 1000 {
		t.Fatalf("Height(base) = %d %v", h, ok)
	}
	if hb, ok := c.Hash(1000); !ok || hb != base {
		t.Fatalf("Hash(1000) = %s", hb)
	}
	if _, ok := c.Location(1000); ok {
		t.Fatal("location for a base block that is not in the files")
	}
	if _, err := c.Blocks(context.Background(), 1000, nil); !errors.Is(err, ErrHeightRange) {
		t.Fatalf("reading the absent base: %v", err)
	}
	got := readAll(t, c, 1001, nil)
	if len(got) != 1000 || got[0].Height != 1001 || got[999].Hash != blockHash(blocks[2000]) {
		t.Fatalf("read %d blocks", len(got))
	}
	for i, b := range got {
		if b.Hash != blockHash(blocks[1001+i]) {
			t.Fatalf("height %d wrong", b.Height)
		}
	}
}
