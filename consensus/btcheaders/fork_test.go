package btcheaders

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// forkTree builds, from real mainnet headers,
//
//	genesis ─ 1 ─ 2 ─ 3 ─ 4          (the mainnet chain, added second)
//	   └──── 1' ─ 2' ─ 3' ─ 4'       (btcd's side branch, added first)
//	                └─ 3A ─ 4A ─ 5A  (added last)
//
// and returns it with its nodes by name.
func forkTree(t *testing.T) (*Tree, map[string]*Node) {
	hdrs := mainnetHeaders(t)
	reorg := reorgHeaders(t)
	tr := mustNew(t, &chaincfg.MainNetParams, StartPoint{})
	n := map[string]*Node{"0": tr.Base()}
	for _, name := range []string{"1'", "2'", "3'", "4'"} {
		h := reorg[name]
		n[name] = mustAdd(t, tr, &h)
	}
	for i, name := range []string{"1", "2", "3", "4"} {
		n[name] = mustAdd(t, tr, &hdrs[i+1])
	}
	for _, name := range []string{"3A", "4A", "5A"} {
		h := reorg[name]
		n[name] = mustAdd(t, tr, &h)
	}
	return tr, n
}

func names(n map[string]*Node, nodes []*Node) []string {
	byHash := map[chainhash.Hash]string{}
	for k, v := range n {
		byHash[v.Hash()] = k
	}
	out := make([]string, len(nodes))
	for i, x := range nodes {
		out[i] = byHash[x.Hash()]
	}
	return out
}

func TestForkChoice(t *testing.T) {
	tr, n := forkTree(t)
	all := func(*Node) bool { return true }
	not := func(bad ...string) func(*Node) bool {
		return func(x *Node) bool {
			for _, b := range bad {
				if x == n[b] {
					return false
				}
			}
			return true
		}
	}
	cases := []struct {
		name string
		ok   func(*Node) bool
		want string
	}{
		{"most work", all, "5A"},
		{"nil filter", nil, "5A"},
		// 4', 4 and 4A have equal work; 4' was seen first.
		{"tie goes to first seen", not("5A"), "4'"},
		{"filter stops the chain below", not("4A", "3'"), "4"},
		{"filter on a shared ancestor", not("2'"), "4"},
		{"filter on the first header", not("1", "1'"), "0"},
		{"tie among the rest", not("4'", "5A"), "4"},
	}
	for _, c := range cases {
		if got := tr.BestChain(c.ok); got != n[c.want] {
			t.Errorf("%s: best %v, want %s", c.name, names(n, []*Node{got}), c.want)
		}
	}
	// The filter is never asked about the base, nor about a node whose
	// parent it refused.
	asked := map[*Node]bool{}
	tr.BestChain(func(x *Node) bool { asked[x] = true; return x != n["2'"] })
	if asked[n["0"]] || asked[n["3'"]] || asked[n["3A"]] || !asked[n["2'"]] || !asked[n["4"]] {
		t.Fatalf("filter called on %v", asked)
	}

	if n["4'"].Seq() >= n["4"].Seq() || n["4"].Seq() >= n["4A"].Seq() {
		t.Fatal("sequence numbers out of insertion order")
	}
	if got := names(n, tr.Tips()); len(got) != 3 || got[0] != "5A" {
		t.Fatalf("tips %v", got)
	}
	// 4 and 4' have equal work: hash order (internal byte order) decides.
	tips := tr.Tips()
	if c := bytesCompare(tips[1].Hash(), tips[2].Hash()); c >= 0 {
		t.Fatalf("equal-work tips not in hash order: %v", names(n, tips))
	}
	if got := names(n, n["2'"].Children()); len(got) != 2 || got[0] != "3'" || got[1] != "3A" {
		t.Fatalf("children of 2' %v", got)
	}

	for _, c := range []struct{ a, b, want string }{
		{"5A", "4", "0"}, {"5A", "4'", "2'"}, {"4'", "2'", "2'"}, {"2'", "4'", "2'"},
		{"3", "3", "3"}, {"1", "1'", "0"}, {"0", "5A", "0"},
	} {
		if got := tr.ForkPoint(n[c.a], n[c.b]); got != n[c.want] {
			t.Errorf("ForkPoint(%s, %s) = %v, want %s", c.a, c.b, names(n, []*Node{got}), c.want)
		}
	}
	if tr.ForkPoint(nil, n["1"]) != nil {
		t.Error("ForkPoint with nil")
	}
	if n["5A"].Ancestor(2) != n["2'"] || n["5A"].Ancestor(6) != nil || n["5A"].Ancestor(-1) != nil {
		t.Error("Ancestor")
	}
}

func bytesCompare(a, b chainhash.Hash) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// TestSetBase finalizes the mainnet chain's block 1: the side branch,
// which forks below it, goes, with its tips.
func TestSetBase(t *testing.T) {
	hdrs := mainnetHeaders(t)
	reorg := reorgHeaders(t)
	tr, n := forkTree(t)
	if _, err := tr.SetBase(n["5A"].Ancestor(-3)); !errors.Is(err, ErrNotInTree) {
		t.Fatalf("SetBase(nil): %v", err)
	}
	gone, err := tr.SetBase(n["1"])
	if err != nil {
		t.Fatal(err)
	}
	// Everything of the side branches, in (height, hash) order; ties by
	// the hashes' byte order (internal, little-endian).
	want := []string{"1'", "2'", "3'", "3A", "4'", "4A", "5A"}
	before := func(a, b string) bool {
		ha, hb := n[a].Hash(), n[b].Hash()
		return bytes.Compare(ha[:], hb[:]) < 0
	}
	if before("3A", "3'") {
		want[2], want[3] = want[3], want[2]
	}
	if before("4A", "4'") {
		want[4], want[5] = want[5], want[4]
	}
	if got := names(n, gone); !slicesEqual(got, want) {
		t.Fatalf("pruned %v, want %v", got, want)
	}
	for _, g := range gone {
		if g.Height() != n[names(n, []*Node{g})[0]].Height() || g.Height() < 1 || g.Height() > 5 {
			t.Fatalf("pruned node lost its height")
		}
	}
	if got := names(n, tr.Tips()); len(got) != 1 || got[0] != "4" {
		t.Fatalf("tips after SetBase %v", got)
	}
	if tr.Len() != 5 || tr.Base() != n["1"] || tr.Bottom() != n["0"] {
		t.Fatalf("%d nodes, base %v", tr.Len(), tr.Base().Height())
	}
	for _, name := range []string{"1'", "2'", "3'", "4'", "3A", "4A", "5A"} {
		if _, ok := tr.Get(n[name].Hash()); ok {
			t.Fatalf("%s survived", name)
		}
	}
	if tr.BestChain(nil) != n["4"] || tr.BestHeader() != n["4"] {
		t.Fatal("best chain after SetBase")
	}
	if _, err := tr.SetBase(n["4'"]); !errors.Is(err, ErrNotInTree) {
		t.Fatalf("SetBase on a pruned node: %v", err)
	}
	if _, err := tr.SetBase(n["0"]); !errors.Is(err, ErrBaseBackwards) {
		t.Fatalf("SetBase below the base: %v", err)
	}
	if gone, err := tr.SetBase(n["1"]); err != nil || gone != nil {
		t.Fatalf("SetBase to itself: %v, pruned %d", err, len(gone))
	}
	b1, b2 := reorg["1'"], reorg["2'"]
	_, err = tr.Add(&b1, hourAfter(&b1))
	wantCode(t, err, ErrBelowFinalized)
	_, err = tr.Add(&b2, hourAfter(&b2))
	wantCode(t, err, ErrUnknownParent)
	mustAdd(t, tr, &hdrs[5])

	// Further up, the ancestry shrinks to what the rules need.
	for i := 6; i <= 3000; i++ {
		mustAdd(t, tr, &hdrs[i])
	}
	// Only the move to 2016 drops candidates: the spine from above the old
	// base at 20 to below the new bottom at 2006. The later moves drop only
	// ancestry that was already below the base.
	for _, c := range []struct {
		h    int32
		gone int
	}{{20, 0}, {2016, 2005 - 20}, {2020, 0}, {2030, 0}, {2900, 0}} {
		h := c.h
		old := tr.Base().Height()
		gone, err := tr.SetBase(tr.BestChain(nil).Ancestor(h))
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) != c.gone || len(gone) > 0 && (gone[0].Height() != old+1 ||
			gone[len(gone)-1].Height() != RequiredBottom(tr.Params(), h)-1 ||
			gone[0].Hash() != hdrs[old+1].BlockHash()) {
			t.Fatalf("base %d: %d pruned, want %d", h, len(gone), c.gone)
		}
		if tr.Bottom().Height() != RequiredBottom(tr.Params(), h) || tr.Bottom().Parent() != nil ||
			tr.Len() != 3001-int(tr.Bottom().Height()) {
			t.Fatalf("base %d: bottom %d, %d nodes", h, tr.Bottom().Height(), tr.Len())
		}
		if tr.Bottom().Header() != hdrs[tr.Bottom().Height()] {
			t.Fatalf("base %d: bottom header lost its previous-block hash", h)
		}
	}
	// The tree keeps working: the rest of the fixture still goes in.
	for i := 3001; i <= 4100; i++ {
		mustAdd(t, tr, &hdrs[i])
	}
}
