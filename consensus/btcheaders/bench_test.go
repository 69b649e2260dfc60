package btcheaders

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
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

// BenchmarkBlock is the header tree's share of one CometBFT block: a header
// added, then BestHeader, Root and WriteChanges, as the state machine calls
// them. The tree holds about 100 and about 100,000 headers (a catch-up or a
// header flood); the cost per block should not depend on it.
func BenchmarkBlock(b *testing.B) {
	p := &chaincfg.RegressionNetParams
	for _, size := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			// The tree is rebuilt, timer stopped, after refill blocks, so
			// it stays within 2% (or 100 headers) of size.
			refill := max(100, size/50)
			hdrs := regtestChain(b, size+refill)
			build := func() *Tree {
				tr := mustNew(b, p, StartPoint{})
				for i := 1; i < size; i++ {
					mustAdd(b, tr, &hdrs[i])
				}
				tr.Root()
				tr.WriteChanges(discardBatch{})
				return tr
			}
			tr, next := build(), size
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if next == len(hdrs) {
					b.StopTimer()
					tr, next = build(), size
					b.StartTimer()
				}
				mustAdd(b, tr, &hdrs[next])
				next++
				if tr.BestHeader().Height() != int32(next-1) {
					b.Fatal("best header is not the last one added")
				}
				tr.Root()
				tr.WriteChanges(discardBatch{})
			}
		})
	}
}

// regtestChain returns the first n headers (genesis included) of a regtest
// chain ten minutes apart, mined once and shared: regtest's difficulty makes
// each header a couple of hashes.
func regtestChain(b *testing.B, n int) []wire.BlockHeader {
	regtestOnce.Do(func() {
		p := &chaincfg.RegressionNetParams
		const total = 100_000 + 2000
		regtestHdrs = make([]wire.BlockHeader, 1, total)
		regtestHdrs[0] = p.GenesisBlock.Header
		for h := 1; h < total; h++ {
			prev := &regtestHdrs[h-1]
			hdr := wire.BlockHeader{
				Version:    0x20000000,
				PrevBlock:  prev.BlockHash(),
				MerkleRoot: chainhash.Hash{byte(h), byte(h >> 8), byte(h >> 16), 0xbe},
				Timestamp:  prev.Timestamp.Add(10 * time.Minute),
				Bits:       p.PowLimitBits,
			}
			mine(&hdr)
			regtestHdrs = append(regtestHdrs, hdr)
		}
	})
	if n > len(regtestHdrs) {
		b.Fatalf("regtest chain has %d headers, want %d", len(regtestHdrs), n)
	}
	return regtestHdrs[:n]
}

var (
	regtestOnce sync.Once
	regtestHdrs []wire.BlockHeader
)

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
