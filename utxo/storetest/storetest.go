// Package storetest is the conformance suite every utxo.Store
// implementation runs (lnd's chainntnfstest pattern): the engine relies on
// exactly these behaviours, so each backend proves them the same way.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/satnode/satnode/utxo"
)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) utxo.Store) {
	t.Run("GetMissing", func(t *testing.T) {
		s := open(t)
		if _, err := s.Get([]byte("nope")); !errors.Is(err, utxo.ErrNotFound) {
			t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
		}
	})
	t.Run("BatchPutDelete", func(t *testing.T) {
		s := open(t)
		update(t, s, 0, func(b utxo.Batch) {
			b.Put([]byte("a"), []byte("1"))
			b.Put([]byte("b"), []byte("2"))
			b.Delete([]byte("c"))
			if b.Len() != 3 {
				t.Errorf("Len = %d", b.Len())
			}
		})
		expect(t, s, "a", "1")
		update(t, s, 0, func(b utxo.Batch) {
			b.Delete([]byte("a"))
			b.Put([]byte("b"), []byte("3"))
		})
		expect(t, s, "a", "")
		expect(t, s, "b", "3")
	})
	t.Run("BatchCopiesArguments", func(t *testing.T) {
		// The engine reuses key and value buffers after Put.
		for _, hint := range []int{0, largeHint} {
			s := open(t)
			update(t, s, hint, func(b utxo.Batch) {
				k, v := []byte("key"), []byte("val")
				b.Put(k, v)
				k[0], v[0] = 'X', 'X'
			})
			expect(t, s, "key", "val")
		}
	})
	t.Run("GetReturnsCallerOwnedCopy", func(t *testing.T) {
		s := open(t)
		update(t, s, 0, func(b utxo.Batch) { b.Put([]byte("k"), []byte("v1")) })
		v, _ := s.Get([]byte("k"))
		v[0] = 'X'
		expect(t, s, "k", "v1")
	})
	t.Run("IteratePrefixAndStart", func(t *testing.T) {
		s := open(t)
		update(t, s, 0, func(b utxo.Batch) {
			for _, k := range []string{"a1", "b3", "b1", "b2", "c1", "b", "ba"} {
				b.Put([]byte(k), []byte("v"+k))
			}
		})
		if got := keys(t, s, "b", ""); got != "b b1 b2 b3 ba" {
			t.Fatalf("prefix b: %q", got)
		}
		if got := keys(t, s, "b", "b2"); got != "b2 b3 ba" {
			t.Fatalf("prefix b from b2: %q", got)
		}
		if got := keys(t, s, "", ""); got != "a1 b b1 b2 b3 ba c1" {
			t.Fatalf("all: %q", got)
		}
		if got := keys(t, s, "z", ""); got != "" {
			t.Fatalf("prefix z: %q", got)
		}
	})
	t.Run("SnapshotIsolation", func(t *testing.T) {
		s := open(t)
		update(t, s, 0, func(b utxo.Batch) { b.Put([]byte("k"), []byte("vk")) })
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		update(t, s, 0, func(b utxo.Batch) {
			b.Put([]byte("k"), []byte("new"))
			b.Put([]byte("k2"), []byte("x"))
		})
		expect(t, snap, "k", "vk")
		expect(t, snap, "k2", "")
		expect(t, s, "k", "new")
		if got := keys(t, snap, "k", ""); got != "k" {
			t.Fatalf("snapshot iteration: %q", got)
		}
	})
	t.Run("LargeBatch", func(t *testing.T) {
		// A flush after a large import is one update of millions of
		// writes; check one bigger than typical memtables stays complete,
		// with and without a hint announcing its size, and that its
		// deletes apply.
		for _, hint := range []int{0, largeHint} {
			s := open(t)
			update(t, s, 0, func(b utxo.Batch) { b.Put([]byte("k9999999"), []byte("old")) })
			val := bytes.Repeat([]byte{7}, 100)
			const n = 200_000
			update(t, s, hint, func(b utxo.Batch) {
				for i := 0; i < n; i++ {
					b.Put([]byte(fmt.Sprintf("k%07d", i)), val)
				}
				b.Delete([]byte("k9999999"))
				if b.Len() != n+1 {
					t.Errorf("Len = %d, want %d", b.Len(), n+1)
				}
			})
			if c := count(t, s, "k"); c != n {
				t.Fatalf("hint %d: %d keys after an update of %d", hint, c, n)
			}
		}
	})
	t.Run("FailedUpdateWritesNothing", func(t *testing.T) {
		// A fill that fails or panics half way leaves the store as it
		// was, and the store takes the next update.
		val := bytes.Repeat([]byte{7}, 100)
		fill := func(b utxo.Batch) {
			b.Delete([]byte("keep"))
			for i := 0; i < 100_000; i++ {
				b.Put([]byte(fmt.Sprintf("k%07d", i)), val)
			}
		}
		for _, hint := range []int{0, largeHint} {
			s := open(t)
			update(t, s, 0, func(b utxo.Batch) { b.Put([]byte("keep"), []byte("vkeep")) })
			errFill := errors.New("fill failed")
			err := s.Update(hint, true, func(b utxo.Batch) error {
				fill(b)
				return errFill
			})
			if !errors.Is(err, errFill) {
				t.Fatalf("hint %d: Update returned %v, want the fill's error", hint, err)
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Fatalf("hint %d: the fill's panic was swallowed", hint)
					}
				}()
				_ = s.Update(hint, true, func(b utxo.Batch) error {
					fill(b)
					panic("fill panicked")
				})
			}()
			expect(t, s, "keep", "vkeep")
			if c := count(t, s, "k"); c != 1 {
				t.Fatalf("hint %d: %d keys after failed updates, want 1", hint, c)
			}
			update(t, s, hint, func(b utxo.Batch) { b.Put([]byte("after"), []byte("vafter")) })
			expect(t, s, "after", "vafter")
		}
	})
}

// largeHint announces an update bigger than any memtable the suite's
// stores use, so implementations that stream large updates do.
const largeHint = 1 << 30

func update(t *testing.T, s utxo.Store, hint int, fill func(utxo.Batch)) {
	t.Helper()
	if err := s.Update(hint, true, func(b utxo.Batch) error { fill(b); return nil }); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, r utxo.KVReader, prefix string) int {
	t.Helper()
	it := r.Iterate([]byte(prefix), nil)
	defer it.Release()
	c := 0
	for it.Next() {
		c++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func expect(t *testing.T, r utxo.KVReader, k, want string) {
	t.Helper()
	v, err := r.Get([]byte(k))
	if want == "" {
		if !errors.Is(err, utxo.ErrNotFound) {
			t.Fatalf("%s: %q, %v; want not found", k, v, err)
		}
		return
	}
	if err != nil || string(v) != want {
		t.Fatalf("%s: %q, %v; want %q", k, v, err, want)
	}
}

func keys(t *testing.T, r utxo.KVReader, prefix, start string) string {
	t.Helper()
	var st []byte
	if start != "" {
		st = []byte(start)
	}
	it := r.Iterate([]byte(prefix), st)
	defer it.Release()
	var out []string
	for it.Next() {
		out = append(out, string(it.Key()))
		if string(it.Value()) != "v"+string(it.Key()) {
			t.Fatalf("value of %s is %q", it.Key(), it.Value())
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return joinSpace(out)
}

func joinSpace(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}
