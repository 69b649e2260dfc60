package chaingen

import (
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"
)

// generateAll runs g to the end and returns the number of blocks after
// genesis.
func generateAll(tb testing.TB, g *Generator) int {
	tb.Helper()
	n := -1
	for {
		_, err := g.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// BenchmarkGenerate measures generation speed on post-activation blocks of
// bench-profile shape (2000 transactions each). The pre-activation prefix
// is generated outside the timer.
func BenchmarkGenerate(b *testing.B) {
	cfg := BenchConfig()
	const postBlocks = 20
	cfg.Blocks = int(cfg.ActivationHeight()) + postBlocks
	var txs, inputs int
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		g, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for g.Height() < cfg.ActivationHeight()-1 {
			if _, err := g.Next(); err != nil {
				b.Fatal(err)
			}
		}
		s0 := g.Summary()
		b.StartTimer()
		t0 := time.Now()
		generateAll(b, g)
		elapsed += time.Since(t0)
		b.StopTimer()
		s := g.Summary()
		txs += s.Txs - s0.Txs
		inputs += s.Inputs - s0.Inputs
		b.StartTimer()
	}
	b.ReportMetric(float64(txs)/elapsed.Seconds(), "txs/s")
	b.ReportMetric(float64(inputs)/elapsed.Seconds(), "inputs/s")
}

// TestBenchProfile generates the full bench profile (over 1M transactions,
// over 3M final UTXOs) and reports its wall time. It takes minutes, so it
// only runs with SATNODE_LONG=1.
func TestBenchProfile(t *testing.T) {
	if os.Getenv("SATNODE_LONG") != "1" {
		t.Skip("set SATNODE_LONG=1 to generate the bench profile")
	}
	cfg := BenchConfig()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	blocks := -1
	for {
		_, err := g.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if blocks++; blocks%100 == 0 {
			t.Logf("block %d at %v: %d txs so far", blocks, time.Since(start).Round(time.Second), g.stats.txs)
		}
	}
	elapsed := time.Since(start)
	s := g.Summary()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("bench profile: %d blocks, %d txs in %v (%.0f txs/s, GOMAXPROCS=%d, heap %d MiB)\n%v",
		blocks, s.Txs, elapsed.Round(time.Millisecond), float64(s.Txs)/elapsed.Seconds(),
		runtime.GOMAXPROCS(0), ms.HeapAlloc>>20, s)
	if s.Txs < 1_000_000 {
		t.Errorf("bench profile has %d transactions, want >= 1,000,000", s.Txs)
	}
	if s.FinalUTXOs < 3_000_000 {
		t.Errorf("bench profile ends with %d UTXOs, want >= 3,000,000", s.FinalUTXOs)
	}
}
