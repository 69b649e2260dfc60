package smt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// memKV is a sorted in-memory store: Reader for Apply and Prove, Writer
// for Apply's output once applied.
type memKV struct{ m map[string][]byte }

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}} }

func (s *memKV) Get(k []byte) ([]byte, bool, error) {
	v, ok := s.m[string(k)]
	return v, ok, nil
}

func (s *memKV) Scan(prefix, start []byte, fn func(k, v []byte) (bool, error)) error {
	keys := make([]string, 0)
	for k := range s.m {
		if strings.HasPrefix(k, string(prefix)) && (start == nil || k >= string(start)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		more, err := fn([]byte(k), s.m[k])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// batch collects writes and applies them after Apply returns.
type batch struct {
	puts map[string][]byte
	dels map[string]bool
}

func newBatch() *batch { return &batch{puts: map[string][]byte{}, dels: map[string]bool{}} }

func (b *batch) Put(k, v []byte) { b.puts[string(k)] = bytes.Clone(v); delete(b.dels, string(k)) }
func (b *batch) Delete(k []byte) { b.dels[string(k)] = true; delete(b.puts, string(k)) }

func (s *memKV) apply(b *batch) {
	for k := range b.dels {
		delete(s.m, k)
	}
	for k, v := range b.puts {
		s.m[k] = v
	}
}

var tables = Tables{Leaves: []byte{'l', 1}, Nodes: []byte{'k', 1}}

func keyOf(i int) []byte { return binary.BigEndian.AppendUint64([]byte("key"), uint64(i)) }

func valueOf(i, version int) []byte { return []byte(fmt.Sprintf("value %d v%d", i, version)) }

// model is the set the tree should hold, hashed from scratch.
type model map[Hash]Leaf

func (m model) leaves() []Leaf {
	out := make([]Leaf, 0, len(m))
	for _, l := range m {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Leaf) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	return out
}

func (m model) root() Hash { return hashLeaves(0, m.leaves()) }

func applyChanges(t *testing.T, kv *memKV, changes []Change) Hash {
	t.Helper()
	slices.SortFunc(changes, func(a, b Change) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	b := newBatch()
	root, _, err := tables.Apply(kv, changes, b)
	if err != nil {
		t.Fatal(err)
	}
	kv.apply(b)
	return root
}

// randomBatches applies random inserts, replacements and deletes (of
// present and missing keys) in batches, checking the root against a
// from-scratch hash after each.
func TestApplyMatchesScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kv := newMemKV()
	m := model{}
	next := 0
	for round := range 60 {
		changes := map[Hash]Change{}
		n := 1 + rng.IntN(200)
		if round%10 == 9 {
			n = 1
		}
		for range n {
			switch op := rng.IntN(10); {
			case op < 6 || len(m) == 0: // insert
				k := keyOf(next)
				next++
				p := PathOf(k)
				changes[p] = Change{Path: p, ValueHash: ValueHash(valueOf(next, 0)), Ref: k}
			case op < 8: // delete a present leaf
				for p := range m {
					changes[p] = Change{Path: p, Delete: true}
					break
				}
			case op < 9: // delete a missing key
				p := PathOf(keyOf(1 << 40))
				changes[p] = Change{Path: p, Delete: true}
			default: // replace a present leaf's value
				for p, l := range m {
					changes[p] = Change{Path: p, ValueHash: ValueHash(valueOf(round, 1)), Ref: l.Ref}
					break
				}
			}
		}
		list := make([]Change, 0, len(changes))
		for _, c := range changes {
			list = append(list, c)
			if c.Delete {
				delete(m, c.Path)
			} else {
				m[c.Path] = Leaf{Path: c.Path, ValueHash: c.ValueHash, Ref: c.Ref}
			}
		}
		got := applyChanges(t, kv, list)
		if want := m.root(); got != want {
			t.Fatalf("round %d (%d leaves): root %x, from scratch %x", round, len(m), got, want)
		}
		stored, n2, err := tables.Root(kv)
		if err != nil || stored != got || n2 != uint64(len(m)) {
			t.Fatalf("round %d: stored root %x/%d (%v), want %x/%d", round, stored, n2, err, got, len(m))
		}
		checkLayout(t, kv, m)
	}
}

// checkLayout: the stored nodes are exactly the subtrees of
// StoreThreshold leaves or more, and the leaf table holds the set.
func checkLayout(t *testing.T, kv *memKV, m model) {
	t.Helper()
	want := map[string][]byte{}
	var walk func(d int, prefix Hash, leaves []Leaf)
	walk = func(d int, prefix Hash, leaves []Leaf) {
		if len(leaves) < StoreThreshold {
			return
		}
		h := hashLeaves(d, leaves)
		want[string(tables.nodeKey(d, &prefix))] = encodeNode(&h, uint64(len(leaves)))
		i := splitAt(leaves, d)
		walk(d+1, prefix, leaves[:i])
		walk(d+1, withBit(prefix, d, 1), leaves[i:])
	}
	leaves := m.leaves()
	walk(0, Hash{}, leaves)
	for _, l := range leaves {
		want[string(tables.LeafKey(&l.Path))] = encodeLeafValue(&l.ValueHash, l.Ref)
	}
	if len(want) != len(kv.m) {
		t.Fatalf("store has %d records, the set needs %d", len(kv.m), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(kv.m[k], v) {
			t.Fatalf("record %x: %x, want %x", k, kv.m[k], v)
		}
	}
}

func TestBatchingDoesNotMatter(t *testing.T) {
	// The same final set reached one change at a time, in one batch, and
	// through inserts later deleted: byte-identical stores.
	var all []Change
	for i := range 500 {
		k := keyOf(i)
		all = append(all, Change{Path: PathOf(k), ValueHash: ValueHash(valueOf(i, 0)), Ref: k})
	}
	one := newMemKV()
	applyChanges(t, one, slices.Clone(all))
	step := newMemKV()
	for i := range all {
		applyChanges(t, step, []Change{all[i]})
	}
	detour := newMemKV()
	for i := range 700 {
		k := keyOf(i)
		applyChanges(t, detour, []Change{{Path: PathOf(k), ValueHash: ValueHash(valueOf(i, 0)), Ref: k}})
	}
	var dels []Change
	for i := 500; i < 700; i++ {
		dels = append(dels, Change{Path: PathOf(keyOf(i)), Delete: true})
	}
	applyChanges(t, detour, dels)
	for name, kv := range map[string]*memKV{"one at a time": step, "insert then delete": detour} {
		if len(kv.m) != len(one.m) {
			t.Fatalf("%s: %d records, one batch %d", name, len(kv.m), len(one.m))
		}
		for k, v := range one.m {
			if !bytes.Equal(kv.m[k], v) {
				t.Fatalf("%s: record %x differs", name, k)
			}
		}
	}
	// Deleting everything empties the store.
	for i := range all {
		all[i] = Change{Path: all[i].Path, Delete: true}
	}
	if root := applyChanges(t, one, all); root != Empty || len(one.m) != 0 {
		t.Fatalf("after deleting all: root %x, %d records", root, len(one.m))
	}
}

func TestProve(t *testing.T) {
	for _, n := range []int{0, 1, 2, 15, 16, 17, 300, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			kv := newMemKV()
			m := model{}
			var changes []Change
			for i := range n {
				k := keyOf(i)
				c := Change{Path: PathOf(k), ValueHash: ValueHash(valueOf(i, 0)), Ref: k}
				changes = append(changes, c)
				m[c.Path] = Leaf{Path: c.Path, ValueHash: c.ValueHash, Ref: k}
			}
			root := applyChanges(t, kv, changes)
			leaves := m.leaves()
			for i := range min(n, 200) {
				p, err := tables.Prove(kv, PathOf(keyOf(i)))
				if err != nil {
					t.Fatal(err)
				}
				if !p.Found || p.Leaf.Root() != root || !bytes.Equal(p.Leaf.Leaf.Ref, keyOf(i)) {
					t.Fatalf("key %d: found %v, root %x, want %x", i, p.Found, p.Leaf.Root(), root)
				}
			}
			for i := range 200 {
				path := PathOf(keyOf(n + i))
				p, err := tables.Prove(kv, path)
				if err != nil {
					t.Fatal(err)
				}
				if p.Found {
					t.Fatalf("missing key %d found", n+i)
				}
				j := sort.Search(len(leaves), func(j int) bool { return bytes.Compare(leaves[j].Path[:], path[:]) > 0 })
				checkNeighbour(t, p.Left, leaves, j-1, root)
				checkNeighbour(t, p.Right, leaves, j, root)
			}
		})
	}
}

func checkNeighbour(t *testing.T, lp *LeafProof, leaves []Leaf, i int, root Hash) {
	t.Helper()
	if i < 0 || i >= len(leaves) {
		if lp != nil {
			t.Fatalf("a neighbour past the end: %x", lp.Leaf.Path)
		}
		return
	}
	if lp == nil || lp.Leaf.Path != leaves[i].Path || lp.Root() != root {
		t.Fatalf("neighbour %d wrong or unproven", i)
	}
}

func TestBuildEqualsApply(t *testing.T) {
	for _, n := range []int{0, 1, 2, 16, 17, 1000} {
		var changes []Change
		m := model{}
		for i := range n {
			k := keyOf(i)
			c := Change{Path: PathOf(k), ValueHash: ValueHash(valueOf(i, 0)), Ref: k}
			changes = append(changes, c)
			m[c.Path] = Leaf{Path: c.Path, ValueHash: c.ValueHash, Ref: k}
		}
		applied := newMemKV()
		want := applyChanges(t, applied, changes)
		built := newMemKV()
		leaves := m.leaves()
		b := newBatch()
		i, flushes := 0, 0
		root, count, err := tables.Build(func() (Leaf, bool, error) {
			if i == len(leaves) {
				return Leaf{}, false, nil
			}
			i++
			return leaves[i-1], true, nil
		}, b, func() error {
			if len(b.puts) > 100 {
				built.apply(b)
				clear(b.puts)
				clear(b.dels)
				flushes++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		built.apply(b)
		if n == 1000 && flushes == 0 {
			t.Fatal("written was never given a chance to flush")
		}
		if root != want || count != uint64(n) {
			t.Fatalf("%d leaves: built %x/%d, applied %x", n, root, count, want)
		}
		if len(built.m) != len(applied.m) {
			t.Fatalf("%d leaves: built %d records, applied %d", n, len(built.m), len(applied.m))
		}
		for k, v := range applied.m {
			if !bytes.Equal(built.m[k], v) {
				t.Fatalf("%d leaves: record %x differs", n, k)
			}
		}
	}
	// Out of order is refused.
	leaves := model{PathOf(keyOf(1)): {Path: PathOf(keyOf(1))}, PathOf(keyOf(2)): {Path: PathOf(keyOf(2))}}.leaves()
	i := 1
	_, _, err := tables.Build(func() (Leaf, bool, error) {
		if i < 0 {
			return Leaf{}, false, nil
		}
		i--
		return leaves[i+1], true, nil
	}, newBatch(), nil)
	if err == nil {
		t.Fatal("leaves out of order were accepted")
	}
}
