package p2p

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

func TestBodyStorePutGet(t *testing.T) {
	tb := loadBlocks(t)
	s, err := OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if _, ok, err := s.Get(tb.hashes[1]); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	if s.Has(tb.hashes[1]) {
		t.Fatal("empty store Has")
	}
	for i := range 10 {
		if err := s.Put(tb.hashes[i], int32(i), tb.raw[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		raw, ok, err := s.Get(tb.hashes[i])
		if err != nil || !ok || !bytes.Equal(raw, tb.raw[i]) {
			t.Fatalf("block %d: ok=%v err=%v equal=%v", i, ok, err, bytes.Equal(raw, tb.raw[i]))
		}
		if !s.Has(tb.hashes[i]) {
			t.Fatalf("block %d: Has false", i)
		}
	}
	// The returned slice is the caller's: changing it changes nothing stored.
	raw, _, _ := s.Get(tb.hashes[0])
	raw[0] ^= 0xff
	again, _, _ := s.Get(tb.hashes[0])
	if !bytes.Equal(again, tb.raw[0]) {
		t.Fatal("Get returned the store's own buffer")
	}

	for name, tc := range map[string]struct {
		height int32
		raw    []byte
	}{
		"negative height": {-1, tb.raw[0]},
		"short body":      {0, tb.raw[0][:80]},
	} {
		if err := s.Put(tb.hashes[0], tc.height, tc.raw); err == nil {
			t.Errorf("%s: Put succeeded", name)
		}
	}
}

func TestBodyStorePruneAndReopen(t *testing.T) {
	tb := loadBlocks(t)
	dir := t.TempDir()
	s, err := OpenBodyStore(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := s.Put(tb.hashes[i], int32(i), tb.raw[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Tip 25, retention 10: heights below 15 go.
	n, err := s.Prune(25)
	if err != nil || n != 15 {
		t.Fatalf("Prune(25) = %d, %v; want 15", n, err)
	}
	for i := range 40 {
		if got, want := s.Has(tb.hashes[i]), i >= 15; got != want {
			t.Errorf("height %d: Has=%v want %v", i, got, want)
		}
	}
	// Pruning again at the same tip finds nothing; a tip below the
	// retention window prunes nothing.
	if n, err := s.Prune(25); n != 0 || err != nil {
		t.Errorf("second Prune(25) = %d, %v", n, err)
	}
	if n, err := s.Prune(5); n != 0 || err != nil {
		t.Errorf("Prune(5) = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(tb.hashes[20]); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}

	// Reopened, the store holds the same bodies and the index still
	// works: a re-Put at another height moves the index entry.
	s, err = OpenBodyStore(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 15; i < 40; i++ {
		raw, ok, err := s.Get(tb.hashes[i])
		if err != nil || !ok || !bytes.Equal(raw, tb.raw[i]) {
			t.Fatalf("after reopen, block %d: ok=%v err=%v", i, ok, err)
		}
	}
	if err := s.Put(tb.hashes[39], 100, tb.raw[39]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(60); n != 24 || err != nil { // 15..38 go; 39 is now at 100
		t.Fatalf("Prune(60) = %d, %v; want 24", n, err)
	}
	if !s.Has(tb.hashes[39]) {
		t.Error("re-put body pruned at its old height")
	}
}

func TestBodyStoreKeepForever(t *testing.T) {
	tb := loadBlocks(t)
	s, err := OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		_ = s.Put(tb.hashes[i], int32(i), tb.raw[i])
	}
	if n, err := s.Prune(1 << 30); n != 0 || err != nil {
		t.Fatalf("retention 0: Prune = %d, %v", n, err)
	}
	if _, err := OpenBodyStore(t.TempDir(), -1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative retention: %v", err)
	}
}

func TestBodyStoreConcurrent(t *testing.T) {
	tb := loadBlocks(t)
	s, err := OpenBodyStore(t.TempDir(), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(tb.raw); i += 4 {
				if err := s.Put(tb.hashes[i], int32(i), tb.raw[i]); err != nil {
					t.Error(err)
				}
				_, _, _ = s.Get(tb.hashes[i/2])
				if i%7 == 0 {
					if _, err := s.Prune(int32(i)); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	// Whatever interleaving happened, the body and index keys agree: a
	// final prune removes exactly the bodies still present below the cutoff.
	below := 0
	for i := range int32(len(tb.raw)) {
		if i < int32(len(tb.raw))-8 && s.Has(tb.hashes[i]) {
			below++
		}
	}
	n, err := s.Prune(int32(len(tb.raw)))
	if err != nil || n != below {
		t.Fatalf("final Prune = %d, %v; want %d", n, err, below)
	}
	var zero chainhash.Hash
	if s.Has(zero) {
		t.Fatal("zero hash present")
	}
}
