package utxo_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// BenchmarkConnectBlock866342 connects a full taproot-era block (4,864
// transactions, 7,972 inputs, 10,327 outputs) onto a goleveldb store seeded
// with the coins it spends, flush included. Reported per block, plus
// transactions and inputs+outputs per second.
func BenchmarkConnectBlock866342(b *testing.B) {
	t := &testing.T{}
	m := loadMid(t, 866342)
	msg := msgOf(b, m.raw)
	var txs, io int
	for _, tx := range msg.Transactions {
		txs++
		io += len(tx.TxIn) + len(tx.TxOut)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := leveldbstore.Open(b.TempDir(), leveldbstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		e := openEngine(b, s, utxo.Config{})
		if err := e.Seed(utxo.SeedBase{Height: m.height - 1, Hash: msg.Header.PrevBlock, Times: m.times}, m.coins); err != nil {
			b.Fatal(err)
		}
		blk := decode(b, m.raw)
		b.StartTimer()
		if _, err := e.Connect(blk); err != nil {
			b.Fatal(err)
		}
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		e.Close()
		s.Close()
		b.StartTimer()
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(txs)/sec, "tx/s")
	b.ReportMetric(float64(io)/sec, "io/s")
}

// BenchmarkSeedStream loads a million synthetic coins (random txids in
// order, P2WPKH, P2PKH and P2TR scripts; see synthCoins) into a goleveldb
// store under two cache budgets, final flush included, and reports coins
// per second and the store's bytes per coin after closing.
func BenchmarkSeedStream(b *testing.B) {
	const n = 1_000_000
	coins := synthCoins(n, 1, 850_000)
	base := utxo.SeedBase{Height: 850_000, Hash: chainhash.Hash{1}}
	for _, budget := range []int64{256 << 20, 32 << 20} {
		b.Run(fmt.Sprintf("budget=%dMiB", budget>>20), func(b *testing.B) {
			var diskBytes int64
			var chunks uint64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				s, err := leveldbstore.Open(dir, leveldbstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				e := openEngine(b, s, utxo.Config{CacheBytes: budget})
				b.StartTimer()
				err = e.SeedStream(base, streamOf(coins, -1), utxo.SeedOptions{
					ExpectedCoins: n,
					Progress:      func(p utxo.SeedProgress) { chunks = p.Chunks },
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				diskBytes = dirSize(b, dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "coins/s")
			b.ReportMetric(float64(diskBytes)/n, "B/utxo")
			b.ReportMetric(float64(chunks), "chunks")
		})
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var size int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			size += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return size
}
