package utxo_test

import (
	"errors"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// TestFlushWith checks the consensus layer's hook: its records land in the
// same update as the UTXO changes, a failing or trespassing caller leaves
// the store as it was, and an engine with nothing connected still writes
// the caller's records.
func TestFlushWith(t *testing.T) {
	raws := mainnetBlocks(t)[:200]
	put := func(k, v string) func(utxo.Batch) error {
		return func(b utxo.Batch) error { b.Put([]byte(k), []byte(v)); return nil }
	}

	t.Run("Atomic", func(t *testing.T) {
		store := memstore.New()
		e := openEngine(t, store, utxo.Config{})
		if err := e.FlushWith(64, put("Sgenesis", "1")); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := e.Tip(); ok {
			t.Fatal("a tip without any block")
		}
		if v, err := store.Get([]byte("Sgenesis")); err != nil || string(v) != "1" {
			t.Fatalf("caller's record before any block: %q, %v", v, err)
		}
		for _, raw := range raws[:100] {
			if _, err := e.Connect(decode(t, raw)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.FlushWith(64, put("Sheight", "99")); err != nil {
			t.Fatal(err)
		}
		r := utxo.NewReader(store)
		st, err := r.State()
		if err != nil || st.TipHeight != 99 {
			t.Fatalf("flushed state: height %d, %v", st.TipHeight, err)
		}
		if v, _ := store.Get([]byte("Sheight")); string(v) != "99" {
			t.Fatalf("caller's record: %q", v)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	})

	fails := map[string]func(utxo.Batch) error{
		"CallerError": func(b utxo.Batch) error {
			b.Put([]byte("Sx"), []byte("x"))
			return errors.New("consensus state failed to encode")
		},
		"ReservedKey": func(b utxo.Batch) error {
			b.Put([]byte("Sx"), []byte("x"))
			b.Put([]byte("c\x01stray"), []byte("x"))
			return nil
		},
	}
	for name, extra := range fails {
		t.Run(name, func(t *testing.T) {
			store := memstore.New()
			e := openEngine(t, store, utxo.Config{})
			for _, raw := range raws[:100] {
				if _, err := e.Connect(decode(t, raw)); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			before, _, _ := utxo.ContentDigest(store)
			for _, raw := range raws[100:] {
				if _, err := e.Connect(decode(t, raw)); err != nil {
					t.Fatal(err)
				}
			}
			err := e.FlushWith(64, extra)
			if err == nil {
				t.Fatal("flush succeeded")
			}
			if name == "ReservedKey" && !errors.Is(err, utxo.ErrReservedKey) {
				t.Fatalf("error %v, want ErrReservedKey", err)
			}
			if after, _, _ := utxo.ContentDigest(store); after != before {
				t.Fatal("a failed flush changed the store")
			}
			if _, err := e.Connect(decode(t, raws[0])); err == nil {
				t.Fatal("the engine went on after a failed flush")
			}
		})
	}
}

// TestManualFlush: with ManualFlush the engine writes nothing on its own,
// however small its cache, and Close discards what was not flushed, so the
// store always holds the caller's last commit.
func TestManualFlush(t *testing.T) {
	raws := mainnetBlocks(t)[:300]
	store := memstore.New()
	e := openEngine(t, store, utxo.Config{ManualFlush: true, CacheBytes: 1, FlushInterval: 1})
	for _, raw := range raws[:100] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	if _, n, _ := utxo.ContentDigest(store); n != 0 {
		t.Fatalf("%d keys written without a flush", n)
	}
	d, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if rec, err := utxo.NewReader(store).BlockRecord(99); err != nil || rec.MuHash != d {
		t.Fatalf("Digest %x, block record %v, %v", d, rec, err)
	}
	committed, _, _ := utxo.ContentDigest(store)
	for _, raw := range raws[100:] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := utxo.ContentDigest(store); d != committed {
		t.Fatal("the store changed after the last flush")
	}
	e = openEngine(t, store, utxo.Config{ManualFlush: true})
	if h, _, _ := e.Tip(); h != 99 {
		t.Fatalf("reopened at %d, want the flushed 99", h)
	}
	e.Close()
}
