package utxo_test

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

func digestOf(t testing.TB, s utxo.KVReader) [32]byte {
	t.Helper()
	d, _, err := utxo.ContentDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func connectMsgs(t testing.TB, e *utxo.Engine, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		if _, err := e.Connect(toBlock(t, n.msg)); err != nil {
			t.Fatalf("connect height %d: %v", n.height, err)
		}
	}
}

// freshDigest imports genesis..tip into a new store in one pass and returns
// its content digest: the state any sequence of connects and disconnects
// ending at tip must reproduce byte for byte.
func freshDigest(t testing.TB, p *utxo.Params, tip *node) [32]byte {
	t.Helper()
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: p})
	connectMsgs(t, e, append([]*node{{msg: p.Chain.GenesisBlock}}, path(tip)...))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return digestOf(t, s)
}

// TestReorgRandomized drives random sequences of extensions, reorgs of up to
// five blocks and rejected blocks, under random cache budgets and flush
// intervals, and after every step checks that the store equals a fresh
// import of the current chain: coins, script-hash index and counters,
// headers, undo data, block records and MuHash history.
func TestReorgRandomized(t *testing.T) {
	seeds := 12
	switch {
	case os.Getenv("SATNODE_LONG") == "1":
		seeds = 150
	case testing.Short():
		seeds = 3
	}
	p := testParams()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		b := newBuilder(t, p, seed)
		s := memstore.New()
		cfg := utxo.Config{Params: p, CacheBytes: int64(1 + rng.IntN(1<<20)), FlushInterval: rng.IntN(4)}
		e := openEngine(t, s, cfg)
		connectMsgs(t, e, []*node{b.genesis})
		cur := b.genesis
		reorgs, rejects := 0, 0
		for step := 0; step < 30; step++ {
			switch r := rng.IntN(10); {
			case r < 5 || cur.height < 2:
				n := b.child(cur, rng.IntN(7))
				connectMsgs(t, e, []*node{n})
				cur = n
			case r < 9:
				depth := 1 + rng.IntN(min(5, int(cur.height)))
				fork := cur
				for i := 0; i < depth; i++ {
					if _, err := e.Disconnect(); err != nil {
						t.Fatalf("seed %d step %d: disconnect: %v", seed, step, err)
					}
					fork = fork.parent
				}
				// Sometimes check the intermediate state too.
				if rng.IntN(2) == 0 {
					if err := e.Flush(); err != nil {
						t.Fatal(err)
					}
					if digestOf(t, s) != freshDigest(t, p, fork) {
						t.Fatalf("seed %d step %d: state after disconnecting to %d differs from a fresh import", seed, step, fork.height)
					}
				}
				n := fork
				for i := 0; i <= depth; i++ {
					n = b.child(n, rng.IntN(7))
					connectMsgs(t, e, []*node{n})
				}
				cur = n
				reorgs++
			default:
				bad := b.invalidChild(cur, rng)
				if _, err := e.Connect(toBlock(t, bad)); err == nil {
					t.Fatalf("seed %d step %d: invalid block accepted", seed, step)
				}
				rejects++
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := digestOf(t, s), freshDigest(t, p, cur); got != want {
				t.Fatalf("seed %d step %d (height %d): store differs from a fresh import", seed, step, cur.height)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if s.HintTooSmall() > 0 {
			t.Fatalf("seed %d: %d flushes wrote more than their batch size hint", seed, s.HintTooSmall())
		}
		t.Logf("seed %d: height %d, %d reorgs, %d rejected blocks", seed, cur.height, reorgs, rejects)
	}
}

// TestMainnetConnectDisconnect connects the mainnet chain to 14131,
// disconnects back to 10000 and checks the store is byte-identical to the
// one that stopped at 10000.
func TestMainnetConnectDisconnect(t *testing.T) {
	raws := mainnetBlocks(t)
	const mid = 10000
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{FlushInterval: 1500})
	for _, raw := range raws[:mid+1] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	before := digestOf(t, s)
	for _, raw := range raws[mid+1:] {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	for h := len(raws) - 1; h > mid; h-- {
		st, err := e.Disconnect()
		if err != nil {
			t.Fatalf("disconnect %d: %v", h, err)
		}
		if st.Height != int32(h) {
			t.Fatalf("disconnected height %d, want %d", st.Height, h)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if digestOf(t, s) != before {
		t.Fatal("store after connect+disconnect differs from before")
	}
}
