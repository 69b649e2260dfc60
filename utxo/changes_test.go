package utxo_test

import (
	"testing"

	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestBlockChangesReplay follows every BlockChange the engine reports
// through connects and reorgs (whose branches double-spend each other's
// coins) and checks that replaying them gives exactly the set in the
// store: the same outpoints under the same script hashes, with the same
// values, and the same count as the set totals.
func TestBlockChangesReplay(t *testing.T) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 480 // past segwit's activation at 432
	c := rpctest.New(t, cfg, 0)
	sub := c.Views.Subscribe(1 << 12)
	defer sub.Close()
	type coin struct {
		sh    [32]byte
		value int64
	}
	model := map[utxo.Outpoint]coin{}
	replay := func() {
		for {
			select {
			case ev := <-sub.C:
				for _, b := range ev.Blocks {
					// BlockChange's documented replay: a connect adds
					// Created then removes Spent; a disconnect removes
					// Created and adds Spent.
					add, del := b.Created, b.Spent
					if !b.Connected {
						add, del = b.Spent, b.Created
						for _, x := range del {
							delete(model, x.Outpoint)
						}
						for _, x := range add {
							model[x.Outpoint] = coin{x.ScriptHash, x.Value}
						}
						continue
					}
					for _, x := range add {
						model[x.Outpoint] = coin{x.ScriptHash, x.Value}
					}
					for _, x := range del {
						delete(model, x.Outpoint)
					}
				}
			default:
				return
			}
		}
	}
	c.Extend(200)
	replay()
	for i := range 20 {
		fork := c.Fork(uint64(i + 1))
		c.Extend(1 + i%3)
		replay()
		c.Reorg(fork, 2+i%3)
		replay()
		c.Extend(10)
		replay()
	}
	v, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	rec, err := v.Reader.BlockRecord(v.Tip.Height)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(model)) != rec.Totals.TxOuts {
		t.Fatalf("replayed changes give %d coins, the set has %d", len(model), rec.Totals.TxOuts)
	}
	byScript := map[[32]byte]int{}
	for op, m := range model {
		byScript[m.sh]++
		got, err := v.Reader.Coin(op)
		if err != nil {
			t.Fatalf("replayed coin %s is not in the set: %v", op, err)
		}
		if got.Value != m.value {
			t.Fatalf("coin %s: value %d in the set, %d replayed", op, got.Value, m.value)
		}
	}
	for sh, n := range byScript {
		st, err := v.Reader.ScriptHashStats(sh)
		if err != nil {
			t.Fatal(err)
		}
		if st.UTXOCount() != uint64(n) {
			t.Fatalf("script hash %x: %d unspent in the index, %d replayed", sh, st.UTXOCount(), n)
		}
	}
	t.Logf("%d coins under %d script hashes at height %d", len(model), len(byScript), v.Tip.Height)
}
