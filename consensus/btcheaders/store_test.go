package btcheaders

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// op is one recorded operation on a tree: an Add (hdr set) or a SetBase.
type op struct {
	hdr  *wire.BlockHeader
	now  time.Time
	base *Node // in the recording tree; replayed by hash
}

// randomOps drives a regtest tree through n random operations: extending
// the best chain, forking off recent nodes, rejected adds, and moving the
// base up. It returns the operations and the tree they were recorded on.
func randomOps(t testing.TB, seed uint64, n int) ([]op, *Tree) {
	p := &chaincfg.RegressionNetParams
	r := newRand(seed)
	tr := mustNew(t, p, StartPoint{})
	var ops []op
	var recent []*Node
	salt := uint32(seed << 16)
	for len(ops) < n {
		best := tr.BestChain(nil)
		var parent *Node
		switch x := r.IntN(100); {
		case x < 65 || len(recent) == 0:
			parent = best
		case x < 90:
			parent = recent[len(recent)-1-r.IntN(min(len(recent), 30))]
			if parent.pruned || parent.Height() < tr.Base().Height() {
				continue
			}
		case x < 95:
			d := int32(r.IntN(25))
			b := best.Ancestor(best.Height() - d)
			if b == nil || b.Height() < tr.Base().Height() {
				continue
			}
			if _, err := tr.SetBase(b); err != nil {
				t.Fatal(err)
			}
			ops = append(ops, op{base: b})
			continue
		default:
			// A rejected add changes nothing, but is replayed too.
			h := best.Header()
			ops = append(ops, op{hdr: &h, now: hourAfter(&h)})
			if _, err := tr.Add(&h, hourAfter(&h)); err == nil {
				t.Fatal("duplicate accepted")
			}
			continue
		}
		salt++
		ts := tr.MedianTimePast(parent).Add(time.Duration(1+r.IntN(1200)) * time.Second)
		h := child(tr, p, parent, ts, salt)
		n, err := tr.Add(&h, hourAfter(&h))
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op{hdr: &h, now: hourAfter(&h)})
		recent = append(recent, n)
	}
	return ops, tr
}

// replay applies ops to a fresh tree, calling save after every operation for
// which every(i) is true, and at the end.
func replay(t testing.TB, ops []op, every func(i int) bool, save func(*Tree)) *Tree {
	tr := mustNew(t, &chaincfg.RegressionNetParams, StartPoint{})
	for i, o := range ops {
		if o.hdr != nil {
			tr.Add(o.hdr, o.now) // the outcome is checked by comparing trees
		} else {
			n, ok := tr.Get(o.base.Hash())
			if !ok {
				t.Fatalf("op %d: base %s missing", i, o.base.Hash())
			}
			if _, err := tr.SetBase(n); err != nil {
				t.Fatal(err)
			}
		}
		if every(i) {
			save(tr)
		}
	}
	save(tr)
	return tr
}

func saveTo(t testing.TB, s *memstore.Store) func(*Tree) {
	return func(tr *Tree) {
		if err := s.Update(tr.ChangesSize(), true, func(b utxo.Batch) error {
			tr.WriteChanges(b)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if s.HintTooSmall() != 0 {
			t.Fatal("ChangesSize is not an upper bound")
		}
	}
}

func dump(t testing.TB, s utxo.KVReader) []string {
	it := s.Iterate(nil, nil)
	defer it.Release()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPersistence replays random operation sequences, saving at different
// rates into separate stores, and checks that the stores are byte-identical
// and that Load rebuilds a tree equal to the live one in every query.
func TestPersistence(t *testing.T) {
	p := &chaincfg.RegressionNetParams
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ops, rec := randomOps(t, seed, 3600)
			stores := []*memstore.Store{memstore.New(), memstore.New(), memstore.New()}
			r := newRand(seed + 100)
			rates := []func(int) bool{
				func(int) bool { return true },
				func(int) bool { return r.IntN(50) == 0 },
				func(int) bool { return false },
			}
			var trees []*Tree
			for i, s := range stores {
				tr := replay(t, ops, rates[i], saveTo(t, s))
				trees = append(trees, tr)
			}
			equalTrees(t, rec, trees[0])
			want := dump(t, stores[0])
			for i := 1; i < len(stores); i++ {
				if got := dump(t, stores[i]); !slicesEqual(got, want) {
					t.Fatalf("store %d differs from store 0 (%d vs %d entries)", i, len(got), len(want))
				}
			}
			if rec.Base().Height() < 2100 || rec.Len() > 2016+200 {
				t.Fatalf("the sequence did not exercise pruning: base %d, %d nodes", rec.Base().Height(), rec.Len())
			}
			loaded, err := Load(stores[1], p, testPrefix)
			if err != nil {
				t.Fatal(err)
			}
			equalTrees(t, rec, loaded)
			if loaded.HasChanges() {
				t.Fatal("a loaded tree has changes to write")
			}
			// The loaded tree goes on exactly like the live one.
			tip := rec.BestChain(nil)
			h := child(rec, p, tip, tr0(rec).Add(time.Minute), 99)
			n1, err1 := rec.Add(&h, hourAfter(&h))
			n2, err2 := loaded.Add(&h, hourAfter(&h))
			if err1 != nil || err2 != nil || n1.Seq() != n2.Seq() || rec.Root() != loaded.Root() {
				t.Fatalf("after load: %v %v", err1, err2)
			}
		})
	}
}

func tr0(tr *Tree) time.Time { return tr.MedianTimePast(tr.BestChain(nil)).Add(time.Hour) }

// TestLoadAtEveryStep saves after every operation and loads the store each
// time, comparing with the live tree: crash recovery at any commit.
func TestLoadAtEveryStep(t *testing.T) {
	p := &chaincfg.RegressionNetParams
	ops, _ := randomOps(t, 7, 400)
	s := memstore.New()
	save := saveTo(t, s)
	i := 0
	replay(t, ops, func(int) bool { return true }, func(tr *Tree) {
		save(tr)
		i++
		if i%7 != 0 {
			return
		}
		loaded, err := Load(s, p, testPrefix)
		if err != nil {
			t.Fatal(err)
		}
		equalTrees(t, tr, loaded)
	})
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equalTrees compares two trees through every query.
func equalTrees(t testing.TB, a, b *Tree) {
	t.Helper()
	if a.Root() != b.Root() || a.Len() != b.Len() || a.nextSeq != b.nextSeq {
		t.Fatalf("roots %x %x, len %d %d", a.Root(), b.Root(), a.Len(), b.Len())
	}
	if a.Base().Hash() != b.Base().Hash() || a.Bottom().Hash() != b.Bottom().Hash() {
		t.Fatal("base or bottom differ")
	}
	if a.BestHeader() != a.BestChain(nil) || b.BestHeader() != b.BestChain(nil) ||
		a.BestHeader().Hash() != b.BestHeader().Hash() {
		t.Fatal("best header differs, or is not BestChain(nil)")
	}
	ta, tb := a.Tips(), b.Tips()
	if len(ta) != len(tb) {
		t.Fatalf("%d tips vs %d", len(ta), len(tb))
	}
	for i := range ta {
		if ta[i].Hash() != tb[i].Hash() {
			t.Fatalf("tip %d differs", i)
		}
	}
	if (a.cp == nil) != (b.cp == nil) || a.cp != nil && a.cp.Hash() != b.cp.Hash() {
		t.Fatal("checkpoint differs")
	}
	filters := []func(*Node) bool{
		nil,
		func(n *Node) bool { return n.Hash()[0]&3 != 0 },
		func(n *Node) bool { return n.Height()%5 != 0 },
	}
	for i, f := range filters {
		if a.BestChain(f).Hash() != b.BestChain(f).Hash() {
			t.Fatalf("best chain %d differs", i)
		}
	}
	na, nb := a.Nodes(), b.Nodes()
	for i := range na {
		x, y := na[i], nb[i]
		if x.Hash() != y.Hash() || x.Height() != y.Height() || x.Work() != y.Work() || x.Seq() != y.Seq() ||
			x.Header() != y.Header() || !a.MedianTimePast(x).Equal(b.MedianTimePast(y)) {
			t.Fatalf("node %d (%s) differs", i, x.Hash())
		}
		if (x.Parent() == nil) != (y.Parent() == nil) || x.Parent() != nil && x.Parent().Hash() != y.Parent().Hash() {
			t.Fatalf("node %s: parents differ", x.Hash())
		}
		cx, cy := x.Children(), y.Children()
		if len(cx) != len(cy) {
			t.Fatalf("node %s: %d children vs %d", x.Hash(), len(cx), len(cy))
		}
		for j := range cx {
			if cx[j].Hash() != cy[j].Hash() {
				t.Fatalf("node %s: child %d differs", x.Hash(), j)
			}
		}
		if g, ok := b.Get(x.Hash()); !ok || g != y {
			t.Fatalf("Get(%s)", x.Hash())
		}
		if i > 0 {
			fa, fb := a.ForkPoint(x, na[i-1]), b.ForkPoint(y, nb[i-1])
			if (fa == nil) != (fb == nil) || fa != nil && fa.Hash() != fb.Hash() {
				t.Fatalf("fork point at node %d differs", i)
			}
		}
	}
}

// TestLoadErrors covers what Load refuses.
func TestLoadErrors(t *testing.T) {
	p := &chaincfg.RegressionNetParams
	s := memstore.New()
	if _, err := Load(s, p, testPrefix); !errors.Is(err, ErrNoTree) || !utxo.IsNotFound(err) {
		t.Fatalf("empty store: %v", err)
	}
	ops, _ := randomOps(t, 3, 300)
	tr := replay(t, ops, func(int) bool { return false }, saveTo(t, s))
	if _, err := Load(s, &chaincfg.SimNetParams, testPrefix); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("wrong network: %v", err)
	}
	if _, err := Load(s, p, []byte("X")); !errors.Is(err, ErrNoTree) {
		t.Fatalf("other prefix: %v", err)
	}
	entries := dump(t, s)
	corrupt := func(name string, mutate func(b utxo.Batch)) {
		t.Helper()
		c := memstore.New()
		copyStore(t, s, c)
		if err := c.Update(1<<20, false, func(b utxo.Batch) error { mutate(b); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(c, p, testPrefix); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	nodes := tr.Nodes()
	mid := nodes[len(nodes)/2]
	corrupt("meta too short", func(b utxo.Batch) { b.Put(tr.metaKey(), []byte{1}) })
	corrupt("missing node", func(b utxo.Batch) { b.Delete(tr.nodeKey(mid)) })
	corrupt("missing base", func(b utxo.Batch) { b.Delete(tr.nodeKey(tr.Base())) })
	corrupt("missing bottom", func(b utxo.Batch) { b.Delete(tr.nodeKey(tr.Bottom())) })
	corrupt("value of another node", func(b utxo.Batch) {
		b.Put(tr.nodeKey(mid), appendNodeValue(nil, nodes[len(nodes)/2+1]))
	})
	corrupt("repeated sequence number", func(b utxo.Batch) {
		v := appendNodeValue(nil, mid)
		copy(v[80:], appendNodeValue(nil, nodes[1])[80:])
		b.Put(tr.nodeKey(mid), v)
	})
	corrupt("sequence number too high", func(b utxo.Batch) {
		v := appendNodeValue(nil, mid)
		v[80] = 0xff
		b.Put(tr.nodeKey(mid), v)
	})
	corrupt("stray key", func(b utxo.Batch) { b.Put(append(nodePrefix(testPrefix), 1, 2, 3), nil) })
	corrupt("unknown base", func(b utxo.Batch) {
		m := tr.metaValue()
		m[20]++
		b.Put(tr.metaKey(), m)
	})
	corrupt("base at another height", func(b utxo.Batch) {
		m := tr.metaValue()
		binary.BigEndian.PutUint32(m[4:], uint32(tr.Base().Height()+1))
		b.Put(tr.metaKey(), m)
	})
	corrupt("bottom work overflows", func(b utxo.Batch) {
		m := tr.metaValue()
		for i := 40; i < 72; i++ {
			m[i] = 0xff
		}
		b.Put(tr.metaKey(), m)
	})
	if len(entries) != tr.Len()+1 {
		t.Fatalf("%d entries for %d nodes", len(entries), tr.Len())
	}
}

func copyStore(t testing.TB, from utxo.KVReader, to *memstore.Store) {
	it := from.Iterate(nil, nil)
	defer it.Release()
	err := to.Update(1<<24, false, func(b utxo.Batch) error {
		for it.Next() {
			b.Put(bytes.Clone(it.Key()), bytes.Clone(it.Value()))
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
