package app

import (
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// TestViewHeaderHeight: a committed view answers the height of a hash on
// the canonical chain (applied) and of one in the header tree that is not
// applied yet, and knows nothing of any other hash, whatever a peer says.
func TestViewHeaderHeight(t *testing.T) {
	all := mainnetRaws(t) // shared: never modified
	if len(all) < 13 {
		t.Fatalf("only %d fixture blocks", len(all))
	}
	raws := all[:12]
	h := newHarness(t, harnessOpts{stakes: []uint64{10e6}})
	h.mustOK(h.submit(raws[1:])...)
	h.mustOK(h.endorse(0, 1, raws[1:6])...) // 1..5 become canonical; 6..11 stay in the tree
	if got := h.btcTip(); got != 5 {
		t.Fatalf("tip %d, want 5", got)
	}
	v, err := h.app.Views().Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	for i := range raws {
		got, ok, err := v.HeaderHeight(blockHash(raws[i]))
		if err != nil || !ok || got != int32(i) {
			t.Errorf("block %d: height %d, known %v, err %v", i, got, ok, err)
		}
	}
	for _, hash := range []chainhash.Hash{{}, {1, 2, 3}, blockHash(all[len(raws)])} {
		if got, ok, err := v.HeaderHeight(hash); ok || err != nil {
			t.Errorf("unknown %s: height %d, known %v, err %v", hash, got, ok, err)
		}
	}
}
