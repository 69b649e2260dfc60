package utxo

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortByPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 100, 10000} {
		refs := make([]prefixRef, n)
		for i := range refs {
			p := rng.Uint64()
			if i%5 == 0 {
				p &= 0xff // many short keys sharing high bytes
			}
			if i%7 == 0 && i > 0 {
				p = refs[i-1].prefix // duplicates
			}
			if i >= 5000 && i < 5300 {
				p = 42 // one long run
			}
			refs[i] = prefixRef{p, uint32(i)}
		}
		want := slices.Clone(refs)
		slices.SortStableFunc(want, func(a, b prefixRef) int {
			switch {
			case a.prefix < b.prefix:
				return -1
			case a.prefix > b.prefix:
				return 1
			}
			return 0
		})
		sortByPrefix(refs)
		if !slices.Equal(refs, want) {
			t.Fatalf("n=%d: radix sort differs from a stable sort", n)
		}
		// Runs of equal prefixes come out in descending index order after
		// sortRuns with a reversed comparator.
		sortRuns(refs, func(a, b uint32) bool { return a > b })
		for i := 1; i < len(refs); i++ {
			if refs[i].prefix == refs[i-1].prefix && refs[i].i > refs[i-1].i {
				t.Fatal("sortRuns left a run unsorted")
			}
		}
	}
}
