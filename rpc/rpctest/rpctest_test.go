package rpctest

import (
	"testing"

	"github.com/satnode/satnode/utxo/chaingen"
)

func TestChainReorg(t *testing.T) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 140
	c := New(t, cfg, 120)
	sub := c.Views.Subscribe(16)
	defer sub.Close()
	fork := c.Fork(7)
	c.Extend(3)
	c.Reorg(fork, 4)
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if v.Tip.Height != 124 || v.Tip.Hash != c.Blocks[124].BlockHash() {
		t.Fatalf("view tip %d %s, want 124 %s", v.Tip.Height, v.Tip.Hash, c.Blocks[124].BlockHash())
	}
	st, err := v.Reader.State()
	if err != nil || st.TipHash != v.Tip.Hash {
		t.Fatalf("reader state %+v, %v", st, err)
	}
	<-sub.C // the 3 blocks
	ev := <-sub.C
	var kinds []bool
	for _, b := range ev.Blocks {
		kinds = append(kinds, b.Connected)
	}
	want := []bool{false, false, false, true, true, true, true}
	if len(kinds) != len(want) {
		t.Fatalf("reorg event connected flags %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("reorg event connected flags %v, want %v", kinds, want)
		}
	}
	if ev.Blocks[0].Height != 123 || ev.Blocks[2].Height != 121 || ev.Blocks[3].Height != 121 {
		t.Fatalf("reorg heights: %d %d %d", ev.Blocks[0].Height, ev.Blocks[2].Height, ev.Blocks[3].Height)
	}
}
