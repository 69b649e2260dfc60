package chaingen

import (
	"testing"

	"github.com/btcsuite/btcd/wire"
)

// TestFork: a fork builds a competing branch from the same parent whose
// transactions double-spend coins the original branch spends, and forking
// leaves the original's output unchanged.
func TestFork(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Blocks = 460
	cfg.TxsPerBlock = 10
	ref, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := New(cfg)
	for range 440 {
		if _, err := ref.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Next(); err != nil {
			t.Fatal(err)
		}
	}
	f := g.Fork(7)
	spentA := map[wire.OutPoint]string{}
	conflicts := 0
	for range 3 {
		a, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		r, _ := ref.Next()
		if a.BlockHash() != r.BlockHash() {
			t.Fatal("forking changed the original branch")
		}
		for _, tx := range a.Transactions[1:] {
			for _, in := range tx.TxIn {
				spentA[in.PreviousOutPoint] = tx.TxHash().String()
			}
		}
	}
	for range 3 {
		b, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Transactions[1:] {
			for _, in := range tx.TxIn {
				if other, ok := spentA[in.PreviousOutPoint]; ok && other != tx.TxHash().String() {
					conflicts++
				}
			}
		}
	}
	if conflicts == 0 {
		t.Fatal("the branches spend no coin differently")
	}
	t.Logf("%d inputs double-spent across the branches", conflicts)
}
