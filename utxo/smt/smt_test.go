package smt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// memKV is a sorted in-memory store: Reader for Apply and Prove, Writer
// for Apply's output once applied. paths resolves references as a caller
// would from its own table (every path ever applied is known).
type memKV struct {
	m       map[string][]byte
	paths   map[string]Hash
	resolve atomic.Int64 // Resolve calls
	applies int
}

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}, paths: map[string]Hash{}} }

func (s *memKV) Resolve(short, ref []byte) (Hash, error) {
	s.resolve.Add(1)
	p, ok := s.paths[string(ref)]
	if !ok || !bytes.Equal(p[:ShortPath], short) {
		return Hash{}, fmt.Errorf("no leaf %x/%x", short, ref)
	}
	return p, nil
}

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

func (m model) root() Hash {
	h, err := hashLeaves(nil, 0, m.leaves())
	if err != nil {
		panic(err)
	}
	return h
}

// set is the change that sets key's leaf (ref: the key) to value.
func set(key, value []byte) Change { return setAt(PathOf(key), key, value) }

func setAt(path Hash, ref, value []byte) Change { return Set(NewLeaf(path, ValueHash(value), ref)) }

func leafOf(c Change) Leaf { return Leaf{Path: c.Path, Full: true, Hash: c.Hash, Ref: c.Ref} }

func applyChanges(t *testing.T, kv *memKV, changes []Change) Hash {
	t.Helper()
	slices.SortFunc(changes, func(a, b Change) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	for _, c := range changes {
		kv.paths[string(c.Ref)] = c.Path
	}
	// Every other batch of two or more goes through ApplySplit's halves.
	b, b1 := newBatch(), newBatch()
	var root Hash
	var err error
	if kv.applies++; kv.applies%2 == 0 {
		root, _, err = tables.ApplySplit([2]Reader{kv, kv}, [2]Writer{b, b1}, changes)
	} else {
		root, _, err = tables.Apply(kv, changes, b)
	}
	if err != nil {
		t.Fatal(err)
	}
	kv.apply(b)
	kv.apply(b1)
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
				c := set(k, valueOf(next, 0))
				changes[c.Path] = c
			case op < 8: // delete a present leaf
				for p, l := range m {
					changes[p] = Change{Path: p, Delete: true, Ref: l.Ref}
					break
				}
			case op < 9: // delete a missing key
				k := keyOf(1 << 40)
				changes[PathOf(k)] = Change{Path: PathOf(k), Delete: true, Ref: k}
			default: // replace a present leaf's value
				for p, l := range m {
					changes[p] = setAt(p, l.Ref, valueOf(round, 1))
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
				m[c.Path] = leafOf(c)
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
		h, err := hashLeaves(nil, d, leaves)
		if err != nil {
			t.Fatal(err)
		}
		want[string(tables.nodeKey(d, &prefix))] = encodeNode(&h, uint64(len(leaves)))
		i := splitAt(leaves, d)
		walk(d+1, prefix, leaves[:i])
		walk(d+1, withBit(prefix, d, 1), leaves[i:])
	}
	leaves := m.leaves()
	walk(0, Hash{}, leaves)
	for _, l := range leaves {
		want[string(tables.LeafKey(&l.Path, l.Ref))] = l.Hash[:]
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
		all = append(all, set(keyOf(i), valueOf(i, 0)))
	}
	one := newMemKV()
	applyChanges(t, one, slices.Clone(all))
	step := newMemKV()
	for i := range all {
		applyChanges(t, step, []Change{all[i]})
	}
	detour := newMemKV()
	for i := range 700 {
		applyChanges(t, detour, []Change{set(keyOf(i), valueOf(i, 0))})
	}
	var dels []Change
	for i := 500; i < 700; i++ {
		dels = append(dels, Change{Path: PathOf(keyOf(i)), Delete: true, Ref: keyOf(i)})
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
		all[i] = Change{Path: all[i].Path, Delete: true, Ref: all[i].Ref}
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
				c := set(keyOf(i), valueOf(i, 0))
				changes = append(changes, c)
				m[c.Path] = leafOf(c)
			}
			root := applyChanges(t, kv, changes)
			leaves := m.leaves()
			for i := range min(n, 200) {
				p, err := tables.Prove(kv, PathOf(keyOf(i)), keyOf(i))
				if err != nil {
					t.Fatal(err)
				}
				if !p.Found || p.Leaf.Root() != root || !bytes.Equal(p.Leaf.Leaf.Ref, keyOf(i)) {
					t.Fatalf("key %d: found %v, root %x, want %x", i, p.Found, p.Leaf.Root(), root)
				}
			}
			for i := range 200 {
				path := PathOf(keyOf(n + i))
				p, err := tables.Prove(kv, path, keyOf(n+i))
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
		got := "none"
		if lp != nil {
			got = fmt.Sprintf("%x (root ok %v)", lp.Leaf.Path, lp.Root() == root)
		}
		t.Fatalf("neighbour %d wrong or unproven: %s, want %x", i, got, leaves[i].Path)
	}
}

func TestBuildEqualsApply(t *testing.T) {
	for _, n := range []int{0, 1, 2, 16, 17, 1000} {
		var changes []Change
		m := model{}
		for i := range n {
			c := set(keyOf(i), valueOf(i, 0))
			changes = append(changes, c)
			m[c.Path] = leafOf(c)
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
	leaves := model{PathOf(keyOf(1)): {Path: PathOf(keyOf(1)), Full: true}, PathOf(keyOf(2)): {Path: PathOf(keyOf(2)), Full: true}}.leaves()
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

// TestSharedShortPaths: leaves whose paths share their first 64 bits (the
// leaf table's short path) — by chance once in 2^64, or ground on purpose —
// are placed by their whole paths, resolved through the reader: roots,
// layout, proofs and Build all agree with a from-scratch hash, down to a
// group of over twice StoreThreshold whose stored nodes sit below depth 64.
func TestSharedShortPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pathIn := func(group int) Hash {
		var p Hash
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		if group >= 0 {
			binary.BigEndian.PutUint64(p[:8], uint64(group)*0x0101010101010101)
		}
		return p
	}
	sizes := []int{2*StoreThreshold + 20, 2, 3, 2, StoreThreshold + 1}
	kv := newMemKV()
	m := model{}
	var all []Leaf
	next := 0
	newLeaf := func(group int) Change {
		next++
		return setAt(pathIn(group), []byte(fmt.Sprintf("ref%d", next)), valueOf(next, 0))
	}
	for round := range 30 {
		var changes []Change
		seen := map[Hash]bool{}
		add := func(c Change) {
			if !seen[c.Path] {
				seen[c.Path] = true
				changes = append(changes, c)
			}
		}
		if round == 0 {
			for g, n := range sizes {
				for range n {
					add(newLeaf(g))
				}
			}
			for range 300 {
				add(newLeaf(-1))
			}
		} else {
			for range 1 + rng.IntN(30) {
				switch op := rng.IntN(4); {
				case op == 0:
					add(newLeaf(rng.IntN(len(sizes))))
				case op == 1:
					add(newLeaf(-1))
				case op == 2 && len(all) > 0:
					l := all[rng.IntN(len(all))]
					add(Change{Path: l.Path, Delete: true, Ref: l.Ref})
				case len(all) > 0:
					l := all[rng.IntN(len(all))]
					add(setAt(l.Path, l.Ref, valueOf(round, 2)))
				}
			}
		}
		for _, c := range changes {
			if c.Delete {
				delete(m, c.Path)
			} else {
				m[c.Path] = leafOf(c)
			}
		}
		got := applyChanges(t, kv, changes)
		if want := m.root(); got != want {
			t.Fatalf("round %d: root %x, from scratch %x", round, got, want)
		}
		checkLayout(t, kv, m)
		all = m.leaves()
	}
	if kv.resolve.Load() == 0 {
		t.Fatal("nothing was resolved: the test placed no shared short paths")
	}
	deep := 0
	for k := range kv.m {
		if strings.HasPrefix(k, string(tables.Nodes)) && k[len(tables.Nodes)] > shortBits {
			deep++
		}
	}
	if deep == 0 {
		t.Fatal("no stored node below depth 64")
	}
	root := m.root()
	// Every leaf proven; absent paths in every group and outside them
	// proven absent by their true neighbours.
	for _, l := range all {
		p, err := tables.Prove(kv, l.Path, l.Ref)
		if err != nil || !p.Found || p.Leaf.Root() != root || p.Leaf.Leaf.Path != l.Path {
			t.Fatalf("leaf %x: %v %+v", l.Path, err, p)
		}
	}
	for g := -1; g < len(sizes); g++ {
		for range 20 {
			path := pathIn(g)
			p, err := tables.Prove(kv, path, []byte("absent"))
			if err != nil || p.Found {
				t.Fatalf("absent %x: found %v, %v", path, p != nil && p.Found, err)
			}
			j := sort.Search(len(all), func(j int) bool { return bytes.Compare(all[j].Path[:], path[:]) > 0 })
			checkNeighbour(t, p.Left, all, j-1, root)
			checkNeighbour(t, p.Right, all, j, root)
		}
	}
	// A path that exists with another reference is not that leaf.
	if p, err := tables.Prove(kv, all[0].Path, []byte("other")); err != nil || p.Found {
		t.Fatalf("a leaf was found under another reference: %v", err)
	}
	// Build writes the same records.
	built := newMemKV()
	b := newBatch()
	i := 0
	broot, _, err := tables.Build(func() (Leaf, bool, error) {
		if i == len(all) {
			return Leaf{}, false, nil
		}
		i++
		return all[i-1], true, nil
	}, b, nil)
	if err != nil || broot != root {
		t.Fatalf("build: %x, %v; want %x", broot, err, root)
	}
	built.apply(b)
	if len(built.m) != len(kv.m) {
		t.Fatalf("built %d records, applied %d", len(built.m), len(kv.m))
	}
	for k, v := range kv.m {
		if !bytes.Equal(built.m[k], v) {
			t.Fatalf("record %x differs", k)
		}
	}
}
