package utxo_test

import (
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/memstore"
)

// TestDeterminism imports the mainnet fixture under very different cache
// budgets, flush intervals and restart patterns, on both store backends,
// and requires identical store contents (hence identical MuHash at every
// height, which the block records hold).
func TestDeterminism(t *testing.T) {
	raws := mainnetBlocks(t)
	if testing.Short() {
		raws = raws[:4000]
	}
	type variant struct {
		name    string
		cfg     utxo.Config
		restart int // close and reopen the engine every restart blocks
		level   bool
	}
	variants := []variant{
		{"tiny cache, flush every block", utxo.Config{CacheBytes: 1, FlushInterval: 1}, 0, false},
		{"1 GiB cache, flush at close", utxo.Config{CacheBytes: 1 << 30}, 0, false},
		{"64 KiB cache, flush every 37", utxo.Config{CacheBytes: 64 << 10, FlushInterval: 37}, 0, true},
		{"restart every 1000, one worker", utxo.Config{FlushInterval: 250, Workers: 1}, 1000, true},
	}
	var first [32]byte
	for i, v := range variants {
		var s utxo.Store
		if v.level {
			ls, err := leveldbstore.Open(t.TempDir(), leveldbstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			s = ls
		} else {
			s = memstore.New()
		}
		v.cfg.Params = utxo.MainNet()
		e := openEngine(t, s, v.cfg)
		for h, raw := range raws {
			if _, err := e.Connect(decode(t, raw)); err != nil {
				t.Fatalf("%s: height %d: %v", v.name, h, err)
			}
			if v.restart > 0 && h%v.restart == v.restart-1 {
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				e = openEngine(t, s, v.cfg)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if ms, ok := s.(*memstore.Store); ok && ms.HintTooSmall() > 0 {
			t.Fatalf("%s: %d flushes wrote more than their batch size hint", v.name, ms.HintTooSmall())
		}
		d, n, err := utxo.ContentDigest(s)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d keys, digest %x", v.name, n, d[:8])
		if i == 0 {
			first = d
		} else if d != first {
			t.Fatalf("%s: store differs from %s", v.name, variants[0].name)
		}
	}
}
