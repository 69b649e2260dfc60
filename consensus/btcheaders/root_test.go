package btcheaders

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo/memstore"
)

// fullDigest is Root computed from scratch, written out from doc.go's
// description rather than with rootState, so the incremental code is checked
// against an independent statement of the format.
func fullDigest(nodes []*Node, meta []byte) [32]byte {
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, compareHeightHash)
	var buckets [4096][]byte
	for _, n := range sorted {
		i := int(n.hash[0])<<4 | int(n.hash[1]>>4)
		buckets[i] = appendNodeKeyBody(buckets[i], n)
		buckets[i] = appendNodeValue(buckets[i], n)
	}
	top := sha256.New()
	top.Write([]byte("satnode/btcheaders/root/v2"))
	top.Write(meta)
	for g := range 64 {
		group := sha256.New()
		for _, b := range buckets[g*64 : (g+1)*64] {
			h := sha256.Sum256(b)
			group.Write(h[:])
		}
		top.Write(group.Sum(nil))
	}
	var out [32]byte
	top.Sum(out[:0])
	return out
}

func fullRoot(tr *Tree) [32]byte { return fullDigest(tr.Nodes(), tr.metaValue()) }

// TestIncrementalState replays random operation sequences (forks, rejected
// adds, SetBase) and checks after each step what the tree keeps up to date
// against a full recomputation: Root against fullRoot, BestHeader against
// BestChain(nil), and SetBase's pruned list against the difference of the
// node sets before and after.
func TestIncrementalState(t *testing.T) {
	spineGone := 0
	for seed := uint64(11); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ops, _ := randomOps(t, seed, 3000)
			r := newRand(seed)
			tr := mustNew(t, &chaincfg.RegressionNetParams, StartPoint{})
			for i, o := range ops {
				if o.hdr != nil {
					tr.Add(o.hdr, o.now) // outcomes are checked through the state
				} else {
					n, ok := tr.Get(o.base.Hash())
					if !ok {
						t.Fatalf("op %d: base missing", i)
					}
					spineGone += checkSetBase(t, tr, n)
				}
				if tr.BestHeader() != tr.BestChain(nil) {
					t.Fatalf("op %d: BestHeader at %d, BestChain at %d", i,
						tr.BestHeader().Height(), tr.BestChain(nil).Height())
				}
				// Not every step, so that changes pile up between calls.
				if r.IntN(3) == 0 {
					if got, want := tr.Root(), fullRoot(tr); got != want {
						t.Fatalf("op %d: Root %x, from scratch %x", i, got, want)
					}
				}
			}
			if got, want := tr.Root(), fullRoot(tr); got != want {
				t.Fatalf("end: Root %x, from scratch %x", got, want)
			}
		})
	}
	// A base moved far enough drops finalized headers that had been above
	// the old base; the sequences must have exercised that case.
	if spineGone == 0 {
		t.Fatal("no SetBase dropped headers of the new base's own chain")
	}
}

// TestBestHeaderOffBestChain grows a random tree and finalizes random nodes,
// often on a branch that is not the best, so that SetBase prunes the best
// header; randomOps only finalizes along the best chain.
func TestBestHeaderOffBestChain(t *testing.T) {
	p := &chaincfg.RegressionNetParams
	r := newRand(31)
	tr := mustNew(t, p, StartPoint{})
	live := []*Node{tr.Base()}
	prunedBest := 0
	for step := range 3000 {
		if r.IntN(10) > 0 {
			parent := live[r.IntN(len(live))]
			ts := tr.MedianTimePast(parent).Add(time.Duration(1+r.IntN(1200)) * time.Second)
			h := child(tr, p, parent, ts, uint32(step))
			live = append(live, mustAdd(t, tr, &h))
		} else {
			best := tr.BestHeader()
			checkSetBase(t, tr, live[r.IntN(len(live))])
			if best.pruned {
				prunedBest++
			}
			live = slices.DeleteFunc(live, func(n *Node) bool { return n.pruned || n.height < tr.base.height })
		}
		if tr.BestHeader() != tr.BestChain(nil) {
			t.Fatalf("step %d: BestHeader at %d, BestChain at %d", step,
				tr.BestHeader().Height(), tr.BestChain(nil).Height())
		}
		if step%10 == 0 && tr.Root() != fullRoot(tr) {
			t.Fatalf("step %d: Root differs from the full hash", step)
		}
	}
	if prunedBest < 10 {
		t.Fatalf("SetBase pruned the best header only %d times", prunedBest)
	}
}

// checkSetBase moves tr's base to n and checks the pruned list. It returns
// how many of the pruned nodes were n's own ancestors.
func checkSetBase(t *testing.T, tr *Tree, n *Node) int {
	t.Helper()
	old := tr.Base().Height()
	before := make(map[chainhash.Hash]*Node)
	for h, x := range tr.index {
		if x.height > old {
			before[h] = x
		}
	}
	spine := make(map[*Node]bool)
	for a := n; a != nil && a.height > old; a = a.parent {
		spine[a] = true
	}
	gone, err := tr.SetBase(n)
	if err != nil {
		t.Fatal(err)
	}
	var want []*Node
	for h, x := range before {
		if _, ok := tr.index[h]; !ok {
			want = append(want, x)
		}
	}
	slices.SortFunc(want, compareHeightHash)
	if !slices.Equal(gone, want) {
		t.Fatalf("SetBase(%d) from %d: pruned %d nodes, want %d", n.height, old, len(gone), len(want))
	}
	k := 0
	for _, g := range gone {
		if !g.pruned || before[g.Hash()] != g {
			t.Fatalf("pruned node %s not marked or lost its hash", g.Hash())
		}
		if spine[g] {
			k++
		}
	}
	return k
}

// TestRootInsertionOrder builds the digest of one set of nodes in many
// orders, with extra nodes entering and leaving in between and Root read at
// random moments, and gets one answer: the one computed from scratch.
func TestRootInsertionOrder(t *testing.T) {
	r := newRand(5)
	mk := func(i int) *Node {
		n := &Node{seq: uint64(i), height: int32(r.IntN(300)), bits: 0x207fffff, time: uint32(i)}
		for j := range n.hash {
			n.hash[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			n.hash[0], n.hash[1] = 0xab, 0xc0 // a crowded bucket
		}
		n.merkle[0] = byte(i)
		return n
	}
	keep := make([]*Node, 5000)
	for i := range keep {
		keep[i] = mk(i)
	}
	meta := []byte("any meta record")
	want := fullDigest(keep, meta)
	for trial := range 4 {
		extra := make([]*Node, 800)
		for i := range extra {
			extra[i] = mk(10000 + trial*1000 + i)
		}
		all := append(slices.Clone(keep), extra...)
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		var s rootState
		s.init()
		for i, n := range all {
			s.add(n)
			if r.IntN(500) == 0 {
				s.sum(meta)
			}
			if i == len(all)/2 {
				// Half the extras leave while the rest are still arriving.
				for _, x := range extra[:400] {
					if slices.Index(all[:i+1], x) >= 0 {
						s.remove(x)
						x.pruned = true
					}
				}
			}
		}
		for _, x := range extra {
			if !x.pruned {
				s.remove(x)
			}
		}
		if got := s.sum(meta); got != want {
			t.Fatalf("trial %d: %x, want %x", trial, got, want)
		}
		if s.sum([]byte("another meta")) == want {
			t.Fatal("the meta record is not covered")
		}
		s.remove(keep[0])
		if s.sum(meta) == want {
			t.Fatal("removing a node did not change the digest")
		}
	}
}

// TestRootAfterLoad: a tree whose insertion order differs from key order
// (forks added out of height order), written with WriteChanges and loaded
// back, has the same Root as the live tree; so do a replay that never read
// Root before the end and one that read it after every step.
func TestRootAfterLoad(t *testing.T) {
	tr, _ := forkTree(t)
	s := memstore.New()
	saveTo(t, s)(tr)
	loaded, err := Load(s, &chaincfg.MainNetParams, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Root() != tr.Root() || tr.Root() != fullRoot(tr) {
		t.Fatal("fork tree: loaded root differs")
	}
	if loaded.BestHeader() != loaded.BestChain(nil) || loaded.BestHeader().Hash() != tr.BestHeader().Hash() {
		t.Fatal("fork tree: loaded best header differs")
	}

	ops, rec := randomOps(t, 21, 2500)
	eager := replay(t, ops, func(int) bool { return true }, func(tr *Tree) { tr.Root() })
	lazy := replay(t, ops, func(int) bool { return false }, func(*Tree) {})
	s = memstore.New()
	saved := replay(t, ops, func(i int) bool { return i%97 == 0 }, saveTo(t, s))
	loaded, err = Load(s, &chaincfg.RegressionNetParams, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	want := fullRoot(rec)
	for i, x := range []*Tree{rec, eager, lazy, saved, loaded} {
		if x.Root() != want {
			t.Fatalf("tree %d: root differs", i)
		}
	}
}
