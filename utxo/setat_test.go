package utxo_test

import (
	"errors"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

type setCoin struct {
	op   utxo.Outpoint
	coin utxo.Coin
}

func walkSetAt(t *testing.T, s utxo.Store, height int32) (uint64, []setCoin) {
	t.Helper()
	var n uint64
	var out []setCoin
	err := utxo.NewReader(s).SetAt(height, func(c uint64) error { n = c; return nil },
		func(op utxo.Outpoint, c utxo.Coin) error { out = append(out, setCoin{op, c}); return nil })
	if err != nil {
		t.Fatalf("SetAt(%d): %v", height, err)
	}
	return n, out
}

// TestSetAt: the set at a past height, rebuilt from the tip's set and the
// undo records above it, is coin for coin (and in the same order) the set
// of a store that stopped at that height; the count announced first is its
// size; and a height whose undo data is gone is refused.
func TestSetAt(t *testing.T) {
	raws := mainnetBlocks(t)
	const tip, past = 3000, 2400
	connect := func(upTo int, cfg utxo.Config) utxo.Store {
		s := memstore.New()
		e := openEngine(t, s, cfg)
		for _, raw := range raws[:upTo+1] {
			if _, err := e.Connect(decode(t, raw)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	full, stopped := connect(tip, utxo.Config{}), connect(past, utxo.Config{})
	for _, h := range []int32{tip, past} {
		ref := full
		if h == past {
			ref = stopped
		}
		wantN, want := walkSetAt(t, ref, h)
		gotN, got := walkSetAt(t, full, h)
		if gotN != wantN || uint64(len(got)) != gotN || len(got) != len(want) {
			t.Fatalf("height %d: count %d, %d coins; want %d, %d", h, gotN, len(got), wantN, len(want))
		}
		for i := range want {
			if got[i].op != want[i].op || got[i].coin.Value != want[i].coin.Value || got[i].coin.Height != want[i].coin.Height ||
				got[i].coin.Coinbase != want[i].coin.Coinbase || string(got[i].coin.Script) != string(want[i].coin.Script) {
				t.Fatalf("height %d, coin %d: %s %+v, want %s %+v", h, i, got[i].op, got[i].coin, want[i].op, want[i].coin)
			}
		}
	}
	// Undo kept for the last 100 blocks only: 2400 is out of reach.
	pruned := connect(tip, utxo.Config{UndoDepth: 100})
	err := utxo.NewReader(pruned).SetAt(past, func(uint64) error { return nil }, func(utxo.Outpoint, utxo.Coin) error { return nil })
	if !errors.Is(err, utxo.ErrNoUndo) {
		t.Fatalf("SetAt beyond the undo depth: %v", err)
	}
}
