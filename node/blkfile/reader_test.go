package blkfile

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shuffledBZ2 writes blocks in a random order into one .bz2 file.
func shuffledBZ2(t *testing.T, blocks [][]byte) string {
	t.Helper()
	shuffled := append([][]byte(nil), blocks...)
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	m := &memWriter{}
	for _, b := range shuffled {
		m.record(b)
	}
	path := filepath.Join(t.TempDir(), "blk00000.dat.bz2")
	if err := os.WriteFile(path, bz2Compress(m.buf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBZ2BufferLimit(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:2000]
	path := shuffledBZ2(t, blocks)
	_, c := scanChain(t, path)

	// With room for everything, the shuffled file reads in order...
	checkBlocks(t, readAll(t, c, 0, nil), blocks, 0)
	checkBlocks(t, readAll(t, c, 1500, &ReadOptions{MaxHeld: 200 << 10}), blocks, 1500)

	// ...with 20 kB it cannot.
	s, err := c.Blocks(context.Background(), 0, &ReadOptions{MaxHeld: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for s.Next() {
		n++
	}
	var bl *BufferLimitError
	err = s.Err()
	if !errors.Is(err, ErrBufferLimit) || !errors.As(err, &bl) || bl.File != path || bl.Limit != 20_000 {
		t.Fatalf("after %d blocks: %v", n, err)
	}
	if !strings.Contains(err.Error(), "decompress") {
		t.Fatalf("error does not tell the user what to do: %v", err)
	}
	if n >= 2000 {
		t.Fatal("all blocks read despite the limit")
	}
	if s.Next() {
		t.Fatal("Next after error")
	}
}

// TestStreamCancel stops streams in every state: consumer not reading (the
// reader blocked on its read-ahead budget), context cancelled, Close twice.
func TestStreamCancel(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), fixtureBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	_, plain := scanChain(t, dir)
	// A 1 MiB prefix of the fixture (ending in a cut record) keeps the
	// compressed case quick under -race.
	bzPath := filepath.Join(t.TempDir(), "blk00000.dat.bz2")
	if err := os.WriteFile(bzPath, bz2Compress(fixtureBytes(t)[:1<<20]), 0o644); err != nil {
		t.Fatal(err)
	}
	_, compressed := scanChain(t, bzPath)

	for _, c := range []*Chain{plain, compressed} {
		// Close with a full read-ahead buffer and no reads.
		s, err := c.Blocks(context.Background(), 0, &ReadOptions{ReadAhead: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s.Next() || s.Err() != nil {
			t.Fatal("Next after Close")
		}

		// Cancel the context midway.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err = c.Blocks(ctx, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for s.Next() {
			if s.Block().Height != int32(n) {
				t.Fatalf("height %d at %d", s.Block().Height, n)
			}
			n++
			if n == 100 {
				cancel()
			}
		}
		if !errors.Is(s.Err(), context.Canceled) || n < 100 || n > len(blocks) {
			t.Fatalf("after %d blocks: %v", n, s.Err())
		}
		s.Close()

		// Stop reading early, then Close.
		s, err = c.Blocks(context.Background(), 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3 && s.Next(); i++ {
		}
		s.Close()
	}
}

// TestReadAhead checks that the reader stays within its byte budget.
func TestReadAhead(t *testing.T) {
	noLeak(t)
	blocks := fixtureBlocks(t)[:3000]
	dir, _ := writeDir(t, blocks, nil)
	_, c := scanChain(t, dir)
	const budget = 10_000
	s, err := c.Blocks(context.Background(), 0, &ReadOptions{ReadAhead: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for s.Next() {
		if in := s.inflight.Load(); in > budget {
			t.Fatalf("%d bytes in flight, budget %d", in, budget)
		}
		n++
	}
	if s.Err() != nil || n != 3000 {
		t.Fatalf("%d blocks, %v", n, s.Err())
	}
}
