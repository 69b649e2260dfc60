package utxo_test

import (
	"testing"

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
