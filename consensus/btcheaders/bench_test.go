package btcheaders

import (
	"runtime"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
)

// BenchmarkAdd adds mainnet fixture headers one per iteration, starting a
// new tree when the fixture runs out.
func BenchmarkAdd(b *testing.B) {
	hdrs := mainnetHeaders(b)
	p := &chaincfg.MainNetParams
	tr := mustNew(b, p, StartPoint{})
	i := 1
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if i == len(hdrs) {
			b.StopTimer()
			tr, i = mustNew(b, p, StartPoint{}), 1
			b.StartTimer()
		}
		if _, err := tr.Add(&hdrs[i], hourAfter(&hdrs[i])); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestMemoryPerHeader measures the heap a tree holds per header, the number
// doc.go quotes. It only logs, with a generous bound so a regression that
// doubles it fails.
func TestMemoryPerHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	hdrs := mainnetHeaders(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := mustNew(t, &chaincfg.MainNetParams, StartPoint{})
	for i := 1; i < len(hdrs); i++ {
		mustAdd(t, tr, &hdrs[i])
	}
	tr.WriteChanges(discardBatch{}) // drop the pending list, as a running node would
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (after.HeapAlloc - before.HeapAlloc) / uint64(tr.Len())
	t.Logf("%d bytes of heap per header (%d headers)", per, tr.Len())
	if per > 500 {
		t.Fatalf("%d bytes per header", per)
	}
	runtime.KeepAlive(tr)
}

type discardBatch struct{}

func (discardBatch) Put(k, v []byte) {}
func (discardBatch) Delete(k []byte) {}
func (discardBatch) Len() int        { return 0 }
