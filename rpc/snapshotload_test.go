package rpc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// snapshotSample is the number of outpoints the snapshot gettxout load
// picks from.
const snapshotSample = 100_000

// BenchmarkLoadGetTxOutSnapshot is BenchmarkLoadGetTxOut on a mainnet-sized
// store: with SATNODE_BENCH_HOME set to a home that `satnode snapshot load`
// filled (make bench-snapshot leaves one in .bench), it serves that store,
// opened read-only, and runs the same closed-loop gettxout load
// (concurrency 64, SATNODE_LOAD_SECONDS) on outpoints sampled from it.
// There is no btcd run: btcd cannot load a snapshot. With
// SATNODE_MEASURE_OUT it appends the numbers there as a JSON line.
//
// The server gets its views the way rpctest publishes them: an app.Views
// holding one View over a snapshot of the store, with the tip from the
// store's state record and no consensus summary (gettxout reads none).
func BenchmarkLoadGetTxOutSnapshot(b *testing.B) {
	home := os.Getenv("SATNODE_BENCH_HOME")
	if home == "" {
		b.Skip("set SATNODE_BENCH_HOME to a home with a loaded snapshot (make bench-snapshot)")
	}
	// node.StoreDir; rpc cannot import node.
	dir := filepath.Join(home, "data", "satnode")
	// SATNODE_BENCH_BLOCK_CACHE_MB sets goleveldb's block cache (default:
	// leveldbstore's).
	cacheMB, _ := strconv.Atoi(os.Getenv("SATNODE_BENCH_BLOCK_CACHE_MB"))
	st, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true, BlockCacheBytes: cacheMB << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	state, err := utxo.NewReader(st).State()
	if err != nil {
		b.Fatal(err)
	}
	if !state.HasTip {
		b.Fatalf("%s: the store is empty", dir)
	}
	params, err := utxo.ParamsFor(state.Network)
	if err != nil {
		b.Fatal(err)
	}
	info, err := utxo.NewReader(st).BlockRecord(state.TipHeight)
	if err != nil {
		b.Fatal(err)
	}
	coins := info.Totals.TxOuts

	started := time.Now()
	ops, err := sampleCoins(st, snapshotSample, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d coins at %d; sampled %d outpoints in %v", dir, coins, state.TipHeight, len(ops),
		time.Since(started).Round(time.Millisecond))
	var reqs [][3]string
	for i, op := range ops {
		reqs = append(reqs, [3]string{"POST", "/", string(jsonRPC(i, "gettxout", chainhash.Hash(op.Hash).String(), op.Index))})
	}

	views := &app.Views{}
	b.Cleanup(views.Close) // before the store closes (cleanups run last first)
	snap, err := st.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	tip := app.BlockRef{Height: state.TipHeight, Hash: state.TipHash}
	views.Publish(&app.View{ChainID: "snapshot-bench", Height: 1, Time: time.Unix(1700000000, 0).UTC(), Params: params,
		FinalityDepth: 6, Tip: tip, Final: tip, BestHeader: tip, Endorsed: tip}, snap, nil)

	dur := loadSeconds()
	floor := floorServer(b)
	fl := runLoad(loadSpec{addr: floor, conc: 64, dur: dur, request: pick(reqs), check: gettxoutCheck})
	reportLoad(b, "nethttp-floor", fl)
	srv, err := New(Config{Listen: "127.0.0.1:0", MaxConns: 256}, views)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	sat := runLoad(loadSpec{addr: srv.Addr(), conc: 64, dur: dur, request: pick(reqs), check: gettxoutCheck})
	reportLoad(b, "satnode", sat)
	fmt.Printf("SNAPSHOT GETTXOUT: %d-coin store, %d outpoints, concurrency 64: %.0f req/s, p50 %v, p99 %v (net/http floor %.0f req/s)\n",
		coins, len(ops), sat.perSecond(), sat.P50, sat.P99, fl.perSecond())

	if p := os.Getenv("SATNODE_MEASURE_OUT"); p != "" {
		res := map[string]any{
			"bench": "snapshot-gettxout", "coins": coins, "outpoints": len(ops), "concurrency": 64,
			"seconds": sat.Elapsed.Seconds(), "requests": sat.N, "req_per_s": sat.perSecond(),
			"p50_ms": float64(sat.P50.Microseconds()) / 1000, "p99_ms": float64(sat.P99.Microseconds()) / 1000,
			"errors": sat.Errors, "floor_req_per_s": fl.perSecond(), "time": time.Now().UTC().Format(time.RFC3339),
		}
		line, _ := json.Marshal(res)
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// sampleCoins picks about n distinct outpoints of the coins table by random
// seeks: a random txid, then the coin at or after it, or one to three
// coins further (so not every pick is a transaction's first output).
// Txids are uniform, so the picks are close to uniform over transactions.
func sampleCoins(kv utxo.KVReader, n int, rng *rand.Rand) ([]utxo.Outpoint, error) {
	prefix := []byte{'c', 1} // the coins table (utxo/keys.go)
	seen := make(map[utxo.Outpoint]struct{}, n)
	ops := make([]utxo.Outpoint, 0, n)
	start := make([]byte, 2+32)
	copy(start, prefix)
	for tries := 0; len(ops) < n && tries < 2*n; tries++ {
		for i := 2; i < len(start); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				start[i+j] = byte(v >> (8 * j))
			}
		}
		it := kv.Iterate(prefix, start)
		ok := it.Next()
		for skip := rng.IntN(4); ok && skip > 0; skip-- {
			ok = it.Next()
		}
		var key []byte
		if ok {
			key = append(key, it.Key()...)
		}
		err := it.Err()
		it.Release()
		if err != nil {
			return nil, err
		}
		if key == nil {
			continue // past the last coin
		}
		k, err := utxo.ParseKey(key)
		if err != nil {
			return nil, err
		}
		if _, dup := seen[k.Outpoint]; !dup {
			seen[k.Outpoint] = struct{}{}
			ops = append(ops, k.Outpoint)
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("no coins in the store")
	}
	return ops, nil
}
