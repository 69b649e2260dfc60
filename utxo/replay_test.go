package utxo_test

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/utxotest"
)

func mainnetBlocks(t testing.TB) [][]byte {
	t.Helper()
	raws, err := utxotest.MainnetChain()
	if err != nil {
		t.Fatal(err)
	}
	return raws
}

func decode(t testing.TB, raw []byte) *utxo.Block {
	t.Helper()
	b, err := utxo.DecodeBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openEngine(t testing.TB, s utxo.Store, cfg utxo.Config) *utxo.Engine {
	t.Helper()
	if cfg.Params == nil {
		cfg.Params = utxo.MainNet()
	}
	e, err := utxo.Open(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMainnetReplay connects mainnet blocks 0–14131 and checks txouts,
// total_amount, bogosize and MuHash at every height against the
// independent reference model, the set itself coin by coin at the tip, and
// Core's conservation invariant (set + unspendable = subsidy) everywhere.
func TestMainnetReplay(t *testing.T) {
	raws := mainnetBlocks(t)
	store := memstore.New()
	e := openEngine(t, store, utxo.Config{FlushInterval: 2000})
	ref := newRefSet(t)
	for h, raw := range raws {
		b := decode(t, raw)
		if _, err := e.Connect(b); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		var msg wire.MsgBlock
		if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		ref.connect(&msg, int32(h))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	r := utxo.NewReader(store)
	for h := range raws {
		rec, err := r.BlockRecord(int32(h))
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		tot := rec.Totals
		if tot.TxOuts != ref.txouts[h] || tot.TotalAmount != ref.amounts[h] || tot.BogoSize != ref.bogos[h] {
			t.Fatalf("height %d: txouts %d amount %d bogo %d, reference %d %d %d", h,
				tot.TxOuts, tot.TotalAmount, tot.BogoSize, ref.txouts[h], ref.amounts[h], ref.bogos[h])
		}
		if rec.MuHash != ref.digests[h] {
			t.Fatalf("height %d: muhash %s, reference %s", h, muhash.Digest(rec.MuHash), muhash.Digest(ref.digests[h]))
		}
		if tot.TotalAmount+tot.TotalUnspendable != tot.TotalSubsidy {
			t.Fatalf("height %d: amount %d + unspendable %d != subsidy %d", h, tot.TotalAmount, tot.TotalUnspendable, tot.TotalSubsidy)
		}
	}
	// The set, coin by coin.
	n := 0
	for op, want := range ref.coins {
		got, err := r.Coin(op)
		if err != nil {
			t.Fatalf("coin %s: %v", op, err)
		}
		if got.Value != want.Value || got.Height != want.Height || got.Coinbase != want.Coinbase || !bytes.Equal(got.Script, want.Script) {
			t.Fatalf("coin %s: got %+v want %+v", op, got, want)
		}
		n++
	}
	last, _ := r.BlockRecord(int32(len(raws) - 1))
	if uint64(n) != last.Totals.TxOuts {
		t.Fatalf("set has %d coins, record says %d", n, last.Totals.TxOuts)
	}
	t.Logf("height %d: txouts %d total %d sat muhash %s", len(raws)-1, last.Totals.TxOuts,
		last.Totals.TotalAmount, muhash.Digest(last.MuHash))
}
