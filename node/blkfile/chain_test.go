package blkfile

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// TestOutOfOrderDirectory writes the first 3000 blocks shuffled over several
// files, with Core's zero padding and a record cut short at the end, plus the
// other things a blocks/ directory holds, and expects the original order.
func TestOutOfOrderDirectory(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:3000]
	shuffled := append([][]byte(nil), blocks...)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

	dir, files := writeDir(t, shuffled, &WriterOptions{MaxFileSize: 100 << 10})
	if len(files) < 5 {
		t.Fatalf("only %d files written", len(files))
	}
	for _, f := range files[:len(files)-1] {
		appendFile(t, f, make([]byte, 4096))
	}
	last := files[len(files)-1]
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	cut := &memWriter{}
	cut.record(blocks[5])
	appendFile(t, last, cut.buf[:100])
	// Things a Core blocks/ directory also holds, to be ignored.
	for _, name := range []string{"rev00000.dat", "blk.dat", "blkX.dat", "blk00000.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a blk file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		t.Fatal(err)
	}

	ix, c := scanChain(t, dir)
	stats := ix.Stats()
	if stats.Files != len(files) || stats.Records != 3000 || stats.PaddedFiles != len(files)-1 {
		t.Fatalf("stats %+v, %d files", stats, len(files))
	}
	wantCut := []Truncation{{File: last, Offset: st.Size(), Have: 100, Want: int64(8 + len(blocks[5]))}}
	if !reflect.DeepEqual(stats.Truncated, wantCut) {
		t.Fatalf("truncated %+v, want %+v", stats.Truncated, wantCut)
	}
	if tip, _ := c.Tip(); tip != 2999 {
		t.Fatalf("tip %d", tip)
	}
	for h, b := range blocks {
		if got, _ := c.Hash(int32(h)); got != blockHash(b) {
			t.Fatalf("height %d: %s, want %s", h, got, blockHash(b))
		}
	}
	checkBlocks(t, readAll(t, c, 0, nil), blocks, 0)
	checkBlocks(t, readAll(t, c, 1234, &ReadOptions{ReadAhead: 1}), blocks, 1234)

	// The index must not depend on how many files are scanned at once.
	for _, workers := range []int{1, 3, 8} {
		ix2, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, &ScanOptions{Workers: workers, BufferSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ix2.recs, ix.recs) || !reflect.DeepEqual(ix2.Stats(), stats) {
			t.Fatalf("%d workers: different index", workers)
		}
	}

	// The same files bzip2-compressed: a shuffled .bz2 directory still reads
	// in order as long as the out-of-order blocks fit in memory.
	bzDir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bzDir, filepath.Base(f)+".bz2"), bz2Compress(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bix, bc := scanChain(t, bzDir)
	if bs := bix.Stats(); bs.Records != 3000 || len(bs.Truncated) != 1 || bs.PaddedFiles != len(files)-1 {
		t.Fatalf("bz2 stats %+v", bs)
	}
	checkBlocks(t, readAll(t, bc, 0, nil), blocks, 0)
	checkBlocks(t, readAll(t, bc, 2500, nil), blocks, 2500)
}

// forkSetup is the main chain used by the fork tests: heights 0..299.
func forkSetup(t *testing.T) [][]byte {
	return fixtureBlocks(t)[:300]
}

func chainHashes(t *testing.T, c *Chain) []chainhash.Hash {
	tip, _ := c.Tip()
	var out []chainhash.Hash
	for h := c.Start(); h <= tip; h++ {
		hash, ok := c.Hash(h)
		if !ok {
			t.Fatalf("no hash at %d", h)
		}
		out = append(out, hash)
	}
	return out
}

func hashesOf(blocks [][]byte) []chainhash.Hash {
	out := make([]chainhash.Hash, len(blocks))
	for i, b := range blocks {
		out[i] = blockHash(b)
	}
	return out
}

func concat(parts ...[][]byte) [][]byte {
	var out [][]byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestForks(t *testing.T) {
	main := forkSetup(t)
	at := func(h int) chainhash.Hash { return blockHash(main[h]) }
	// A branch off height 200 built from copies of later real blocks.
	branch := func(n int, salt, bits uint32) [][]byte {
		src := make([][]byte, n)
		for i := range src {
			src[i] = main[201+i%99]
		}
		return relink(src, at(200), salt, bits)
	}
	orphan := relink(main[10:13], chainhash.Hash{1, 2, 3}, 7, 0)

	tests := []struct {
		name      string
		write     [][]byte
		want      [][]byte // the expected chain
		wantStats ChainStats
		wantDup   int
		wantStart int32
	}{{
		name:      "longer fork wins",
		write:     concat(main, branch(150, 1, 0)),
		want:      concat(main[:201], branch(150, 1, 0)),
		wantStats: ChainStats{Blocks: 351, Stale: 99},
	}, {
		name:      "shorter fork loses",
		write:     concat(branch(50, 2, 0), main),
		want:      main,
		wantStats: ChainStats{Blocks: 300, Stale: 50},
	}, {
		name:      "equal work: main seen first",
		write:     concat(main, branch(99, 3, 0)),
		want:      main,
		wantStats: ChainStats{Blocks: 300, Stale: 99},
	}, {
		name:      "equal work: fork seen first",
		write:     concat(main[:250], branch(99, 3, 0), main[250:]),
		want:      concat(main[:201], branch(99, 3, 0)),
		wantStats: ChainStats{Blocks: 300, Stale: 99},
	}, {
		// 256 times the work per block (target shifted by one byte): 20
		// blocks outweigh the 99 of the main chain above the fork.
		name:      "shorter fork with more work wins",
		write:     concat(main, branch(20, 4, 0x1c00ffff)),
		want:      concat(main[:201], branch(20, 4, 0x1c00ffff)),
		wantStats: ChainStats{Blocks: 221, Stale: 99},
	}, {
		name:      "orphans are ignored",
		write:     concat(main[:100], orphan, main[100:]),
		want:      main,
		wantStats: ChainStats{Blocks: 300, Unconnected: 3},
	}, {
		name:      "duplicates are ignored",
		write:     concat(main, main[100:110], main[:1]),
		want:      main,
		wantStats: ChainStats{Blocks: 300},
		wantDup:   11,
	}, {
		name:      "blocks of an unknown ancestor do not connect",
		write:     main[2:],
		wantStats: ChainStats{Unconnected: 298},
	}, {
		// The base (here genesis) need not be stored: the chain then
		// starts with the blocks building on it.
		name:      "genesis not stored",
		write:     main[1:],
		want:      main,
		wantStats: ChainStats{Blocks: 299},
		wantStart: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := writeDir(t, tc.write, &WriterOptions{MaxFileSize: 64 << 10})
			ix, err := Scan(context.Background(), &chaincfg.MainNetParams, []string{dir}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ix.Stats().Duplicates != tc.wantDup {
				t.Fatalf("duplicates %d, want %d", ix.Stats().Duplicates, tc.wantDup)
			}
			c, err := ix.BestChain()
			if tc.want == nil {
				if !errors.Is(err, ErrNoChain) {
					t.Fatalf("got %v, want ErrNoChain", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Start() != tc.wantStart {
				t.Fatalf("start %d, want %d", c.Start(), tc.wantStart)
			}
			if got := chainHashes(t, c); !reflect.DeepEqual(got, hashesOf(tc.want[tc.wantStart:])) {
				t.Fatalf("chain of %d blocks differs from the expected %d", len(got), len(tc.want))
			}
			if c.Stats() != tc.wantStats {
				t.Fatalf("stats %+v, want %+v", c.Stats(), tc.wantStats)
			}
			for _, b := range tc.write {
				if h, on := c.Height(blockHash(b)); on && !bytes.Equal(tc.want[h], b) {
					t.Fatalf("Height maps %s to %d wrongly", blockHash(b), h)
				}
			}
			checkBlocks(t, readAll(t, c, tc.wantStart, nil), tc.want, int(tc.wantStart))
		})
	}

	// A duplicate is read from its first copy.
	dir, files := writeDir(t, concat(main[:5], main[3:4]), nil)
	_, c := scanChain(t, dir)
	wantOff := int64(0)
	for _, b := range main[:3] {
		wantOff += int64(8 + len(b))
	}
	if loc, _ := c.Location(3); loc.Path != files[0] || loc.Offset != wantOff {
		t.Fatalf("duplicate resolved to %+v", loc)
	}
}

func TestWork(t *testing.T) {
	// Difficulty 1 (bits 0x1d00ffff) is 2^32 + 2^16 + 1 hashes of work.
	w := workFromBits(0x1d00ffff)
	if w.big().Uint64() != 0x100010001 {
		t.Fatalf("work %s", w.big())
	}
	// Sums carry across limbs and compare across limbs.
	var a work
	a[0] = ^uint64(0)
	b := a.add(work{1})
	if b != (work{0, 1}) || b.cmp(a) != 1 || a.cmp(b) != -1 || a.cmp(a) != 0 {
		t.Fatalf("add/cmp wrong: %v", b)
	}
	// Absurd bits give work in range, never a panic.
	for _, bits := range []uint32{0, 0x00800000, 0xff7fffff, 0x01003456, 0x20ffffff, 0x03000001} {
		_ = workFromBits(bits)
	}
	if workFromBits(0x03000001).big().BitLen() > 256 {
		t.Fatal("work too large")
	}
	// Negative or zero targets weigh nothing.
	if workFromBits(0x04923456) != (work{}) || workFromBits(0) != (work{}) {
		t.Fatal("invalid bits have work")
	}
}
