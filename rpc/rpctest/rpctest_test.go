package rpctest

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/query"
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

// TestFanOut: the fan-out blocks connect and the script-hash index counts
// every output they pay.
func TestFanOut(t *testing.T) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 20
	c := New(t, cfg, 20)
	script := []byte{txscript.OP_DUP, txscript.OP_HASH160, txscript.OP_DATA_20,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
		txscript.OP_EQUALVERIFY, txscript.OP_CHECKSIG}
	t0 := time.Now()
	c.FanOut(script, 30_000, 1000)
	t.Logf("30,000 outputs in %v", time.Since(t0))
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	st, err := v.Reader.ScriptHashStats(query.ScriptHashOf(script))
	if err != nil || st.UTXOCount() != 30_000 {
		t.Fatalf("stats %+v, %v; want 30,000 unspent", st, err)
	}
	if v.Tip.Height != 22 || c.Tip() != 22 {
		t.Fatalf("tip %d (chain %d), want 22 after two fan-out blocks", v.Tip.Height, c.Tip())
	}
}
