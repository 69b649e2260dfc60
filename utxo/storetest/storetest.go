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
		b := s.NewBatch(0)
		b.Put([]byte("a"), []byte("1"))
		b.Put([]byte("b"), []byte("2"))
		b.Delete([]byte("c"))
		if b.Len() != 3 {
			t.Fatalf("Len = %d", b.Len())
		}
		write(t, s, b)
		expect(t, s, "a", "1")
		b = s.NewBatch(0)
		b.Delete([]byte("a"))
		b.Put([]byte("b"), []byte("3"))
		write(t, s, b)
		expect(t, s, "a", "")
		expect(t, s, "b", "3")
	})
	t.Run("BatchCopiesArguments", func(t *testing.T) {
		// The engine reuses key and value buffers after Put.
		s := open(t)
		b := s.NewBatch(0)
		k, v := []byte("key"), []byte("val")
		b.Put(k, v)
		k[0], v[0] = 'X', 'X'
		write(t, s, b)
		expect(t, s, "key", "val")
	})
	t.Run("GetReturnsCallerOwnedCopy", func(t *testing.T) {
		s := open(t)
		b := s.NewBatch(0)
		b.Put([]byte("k"), []byte("v1"))
		write(t, s, b)
		v, _ := s.Get([]byte("k"))
		v[0] = 'X'
		expect(t, s, "k", "v1")
	})
	t.Run("IteratePrefixAndStart", func(t *testing.T) {
		s := open(t)
		b := s.NewBatch(0)
		for _, k := range []string{"a1", "b3", "b1", "b2", "c1", "b", "ba"} {
			b.Put([]byte(k), []byte("v"+k))
		}
		write(t, s, b)
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
		b := s.NewBatch(0)
		b.Put([]byte("k"), []byte("vk"))
		write(t, s, b)
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		b = s.NewBatch(0)
		b.Put([]byte("k"), []byte("new"))
		b.Put([]byte("k2"), []byte("x"))
		write(t, s, b)
		expect(t, snap, "k", "vk")
		expect(t, snap, "k2", "")
		expect(t, s, "k", "new")
		if got := keys(t, snap, "k", ""); got != "k" {
			t.Fatalf("snapshot iteration: %q", got)
		}
	})
	t.Run("LargeBatch", func(t *testing.T) {
		// A flush after a large import is one batch of millions of writes;
		// check a batch bigger than typical memtables stays atomic and
		// complete.
		s := open(t)
		b := s.NewBatch(0)
		val := bytes.Repeat([]byte{7}, 100)
		const n = 200_000
		for i := 0; i < n; i++ {
			b.Put([]byte(fmt.Sprintf("k%07d", i)), val)
		}
		write(t, s, b)
		it := s.Iterate([]byte("k"), nil)
		defer it.Release()
		c := 0
		for it.Next() {
			c++
		}
		if c != n || it.Err() != nil {
			t.Fatalf("%d keys after a batch of %d (%v)", c, n, it.Err())
		}
	})
}

func write(t *testing.T, s utxo.Store, b utxo.Batch) {
	t.Helper()
	if err := s.Write(b, true); err != nil {
		t.Fatal(err)
	}
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
