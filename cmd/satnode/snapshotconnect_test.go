package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/query"
)

// The shape of the connect benchmark: 200 blocks of 2,000 transactions,
// each spending 2 coins of the snapshot and creating 2 outputs, so 800,000
// cold coins are read from the loaded store.
const (
	connectBlocks      = 200
	connectTxsPerBlock = 2000
	connectFee         = 1000 // satoshis per transaction
	// connectBits is regtest's PoW limit: a nonce or two meets it.
	connectBits = 0x207fffff
	// connectTime is the first block's timestamp (866342 is of October
	// 2024); the engine checks no timestamps, they only need to ascend.
	connectTime = 1729600000
)

// TestBenchSnapshotConnect is part of `make bench-snapshot` (issue 12), not
// a test: with SATNODE_BENCH_SNAPSHOT=N it connects 200 blocks on the store
// TestBenchSnapshotLoad left in SATNODE_BENCH_DIR (default .bench) and
// reports transactions and inputs per second, the 200 Connects and the
// final Flush timed together. With SATNODE_MEASURE_OUT it appends the
// numbers there as a JSON line.
//
// The blocks spend coins sampled from the snapshot file itself (so that
// sampling does not warm the store's caches: every coin a block spends is
// a cold read) in random order, with empty scriptSigs (scripts are not
// validated by default), and pay P2WPKH-shaped outputs. The engine runs
// with mainnet's parameters and the default cache budget, except for one
// thing: the proof-of-work limit is regtest's, so that headers with bits
// 0x207fffff pass checkProofOfWork. Every UTXO step is real: the cold coin
// reads, BIP30 lookups of every new output (a seeded store counts its base
// as a block without a BIP34 push), the spends, script-hash index and
// counters, MuHash, undo records and the flush. Afterwards the set must
// have exactly the sampled coins spent and the blocks' outputs added: its
// coin count, total amount, and MuHash (recomputed here with the muhash
// package alone).
//
// Connecting changes the store, and the benchmarks that follow want the
// loaded one: the blocks are connected on a scratch clone of it (see
// cloneLevelDB), removed at the end.
func TestBenchSnapshotConnect(t *testing.T) {
	set := benchSetOf(t)
	coins, dir, file, home := set.coins, set.dir, set.file, set.home
	const height, seed = benchHeight, benchSeed
	storeDir := filepath.Join(home, filepath.FromSlash(node.StoreDir))
	if _, err := os.Stat(filepath.Join(storeDir, "CURRENT")); err != nil {
		t.Fatalf("no loaded store at %s (%v): run TestBenchSnapshotLoad first (make bench-snapshot SNAPSHOT_COINS=%d)",
			storeDir, err, coins)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("%v: run TestBenchSnapshotLoad first (make bench-snapshot SNAPSHOT_COINS=%d)", err, coins)
	}

	rng := rand.New(rand.NewPCG(seed, 0x5a7c0de))
	started := time.Now()
	sample, eligible, err := sampleSpendable(file, height, connectBlocks*connectTxsPerBlock*2, rng)
	if err != nil {
		t.Fatal(err)
	}
	perBlock := min(connectTxsPerBlock, len(sample)/(2*connectBlocks))
	if perBlock == 0 {
		t.Fatalf("only %d spendable coins in %s: too few for %d blocks", eligible, file, connectBlocks)
	}
	t.Logf("sampled %d of %d spendable coins in %v", len(sample), eligible, time.Since(started).Round(time.Millisecond))

	scratch := filepath.Join(dir, fmt.Sprintf("snapshot-connect-scratch-%d", coins))
	t.Cleanup(func() { _ = os.RemoveAll(scratch) })
	if err := cloneLevelDB(storeDir, scratch); err != nil {
		t.Fatal(err)
	}
	s, err := leveldbstore.Open(scratch, leveldbstore.Options{BlockCacheBytes: benchBlockCache()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := utxo.NewReader(s)
	st, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	before, err := query.GetTxOutSetInfo(r, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !st.HasTip || st.TipHeight != height || before.TxOuts != coins {
		t.Fatalf("the loaded store is at %d with %d coins, want %d with %d", st.TipHeight, before.TxOuts, height, coins)
	}

	p := connectParams()
	started = time.Now()
	blocks, added, err := buildConnectBlocks(p, st.TipHash, height, sample[:connectBlocks*perBlock*2], perBlock, rng)
	if err != nil {
		t.Fatal(err)
	}
	var txs, outputs int
	for _, b := range blocks {
		txs += len(b.Txs)
	}
	outputs = len(added)
	inputs := connectBlocks * perBlock * 2
	t.Logf("built %d blocks of %d transactions in %v", len(blocks), perBlock+1, time.Since(started).Round(time.Millisecond))

	e, err := utxo.Open(s, utxo.Config{Params: p, CacheBytes: utxo.DefaultCacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC() // the blocks' garbage, so that it is not collected during the timing
	durs := make([]time.Duration, len(blocks))
	started = time.Now()
	for i, b := range blocks {
		t0 := time.Now()
		if _, err := e.Connect(b); err != nil {
			_ = e.Close()
			t.Fatalf("connect %s: %v", b.Hash, err)
		}
		durs[i] = time.Since(t0)
	}
	connected := time.Since(started)
	if err := e.Flush(); err != nil {
		_ = e.Close()
		t.Fatal(err)
	}
	took := time.Since(started)
	hits, misses := e.CacheStats()
	// The blocks that flushed (the cache budget ran out) take far longer
	// than the others.
	slices.Sort(durs)
	t.Logf("per block: median %v, p90 %v, max %v", durs[len(durs)/2].Round(time.Millisecond),
		durs[len(durs)*9/10].Round(time.Millisecond), durs[len(durs)-1].Round(time.Millisecond))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// The set afterwards: the coins, the amount and the MuHash must be the
	// loaded set's with exactly the sampled coins spent and the blocks'
	// outputs added, the MuHash computed here independently of the engine.
	after, err := query.GetTxOutSetInfo(utxo.NewReader(s), -1)
	if err != nil {
		t.Fatal(err)
	}
	subsidy := p.Subsidy(height + 1) // no halving in 200 blocks above 866342
	switch {
	case after.Height != height+connectBlocks:
		t.Fatalf("tip at %d after connecting, want %d", after.Height, height+connectBlocks)
	case after.TxOuts != before.TxOuts-uint64(inputs)+uint64(outputs):
		t.Fatalf("%d coins after connecting, want %d - %d inputs + %d outputs = %d",
			after.TxOuts, before.TxOuts, inputs, outputs, before.TxOuts-uint64(inputs)+uint64(outputs))
	case after.TotalAmount != before.TotalAmount+query.Amount(connectBlocks*subsidy):
		t.Fatalf("total amount %v after connecting, want %v + %d subsidies", after.TotalAmount, before.TotalAmount, connectBlocks)
	}
	want, err := expectMuHash(&st.MuHash, added, sample[:inputs])
	if err != nil {
		t.Fatal(err)
	}
	if after.MuHash != want.String() {
		t.Fatalf("MuHash %s after connecting, want %s", after.MuHash, want)
	}

	res := map[string]any{
		"bench": "snapshot-connect", "coins": coins, "blocks": len(blocks), "txs": txs, "inputs": inputs,
		"outputs": outputs, "seconds": took.Seconds(), "connect_seconds": connected.Seconds(),
		"flush_seconds": (took - connected).Seconds(), "tx_per_s": float64(txs) / took.Seconds(),
		"inputs_per_s": float64(inputs) / took.Seconds(), "cache_hits": hits, "cache_misses": misses,
		"pow_limit": "regtest", "block_cache_mib": benchBlockCache() >> 20, "time": time.Now().UTC().Format(time.RFC3339),
	}
	fmt.Printf("SNAPSHOT CONNECT: %d blocks, %d txs, %d inputs on a %d-coin store in %v: %.0f tx/s, %.0f inputs/s "+
		"(flush %v; %d coin reads from the store, spends and BIP30 checks; block cache %d MiB; regtest PoW limit, every UTXO step real)\n",
		len(blocks), txs, inputs, coins, took.Round(time.Millisecond), res["tx_per_s"], res["inputs_per_s"],
		(took - connected).Round(time.Millisecond), misses, benchBlockCache()>>20)
	appendMeasure(t, res)
}

// connectParams are mainnet's with regtest's proof-of-work limit, and
// nothing else changed: the engine checks a header's hash against its bits
// and the bits against the limit (checkProofOfWork), not the bits against
// the chain's difficulty, so this is the only relaxation the generated
// blocks need.
func connectParams() *utxo.Params {
	p := utxo.MainNet()
	chain := chaincfg.MainNetParams
	chain.PowLimit = chaincfg.RegressionNetParams.PowLimit
	chain.PowLimitBits = chaincfg.RegressionNetParams.PowLimitBits
	p.Chain = &chain
	return p
}

// sampleSpendable draws up to k coins uniformly from the snapshot file
// (reservoir sampling, Algorithm R), leaving out coinbase coins that would
// still be immature at the first block above the base, and returns them in
// random order with the number of coins it drew from.
func sampleSpendable(file string, base int32, k int, rng *rand.Rand) ([]utxo.SeedCoin, uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, err := coresnap.NewReader(f, coresnap.MainNet, base)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", file, err)
	}
	maturity := int32(chaincfg.MainNetParams.CoinbaseMaturity)
	res := make([]utxo.SeedCoin, 0, k)
	var n uint64
	for {
		op, c, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", file, err)
		}
		if c.Coinbase && base+1-c.Height < maturity {
			continue
		}
		if n < uint64(k) {
			res = append(res, utxo.SeedCoin{Outpoint: op, Coin: c})
		} else if j := rng.Uint64N(n + 1); j < uint64(k) {
			res[j] = utxo.SeedCoin{Outpoint: op, Coin: c}
		}
		n++
	}
	// The file is in txid order, and so are the first k of the reservoir:
	// shuffle, or the blocks would spend neighbouring coins.
	rng.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
	return res, n, nil
}

// buildConnectBlocks builds the blocks above the base tip at base: each
// a coinbase paying subsidy plus fees and perBlock transactions spending
// two coins of spend each (in order) into two P2WPKH-shaped outputs, with
// a correct merkle root and a nonce that meets connectBits. It returns the
// blocks and every coin they add.
func buildConnectBlocks(p *utxo.Params, tip chainhash.Hash, base int32, spend []utxo.SeedCoin, perBlock int,
	rng *rand.Rand) ([]*utxo.Block, []utxo.SeedCoin, error) {
	target := blockchain.CompactToBig(connectBits)
	p2wpkh := func() []byte {
		s := make([]byte, 22)
		s[0], s[1] = txscript.OP_0, 20
		for i := 2; i < len(s); i += 4 {
			v := rng.Uint32()
			copy(s[i:], []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
		}
		return s
	}
	var blocks []*utxo.Block
	var added []utxo.SeedCoin
	prev, k := tip, 0
	for i := range len(spend) / (2 * perBlock) {
		height := base + 1 + int32(i)
		txs := make([]*wire.MsgTx, 1, perBlock+1)
		var fees int64
		for range perBlock {
			tx := wire.NewMsgTx(2)
			var in int64
			for _, c := range spend[k : k+2] {
				op := wire.OutPoint{Hash: c.Outpoint.Hash, Index: c.Outpoint.Index}
				tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
				in += c.Coin.Value
			}
			k += 2
			fee := min(in, connectFee)
			out := in - fee
			tx.AddTxOut(wire.NewTxOut(out/2, p2wpkh()))
			tx.AddTxOut(wire.NewTxOut(out-out/2, p2wpkh()))
			fees += fee
			txs = append(txs, tx)
		}
		sig, err := txscript.NewScriptBuilder().AddInt64(int64(height)).AddData([]byte("satnode connect bench")).Script()
		if err != nil {
			return nil, nil, err
		}
		cb := wire.NewMsgTx(1)
		cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), sig, nil))
		cb.AddTxOut(wire.NewTxOut(p.Subsidy(height)+fees, p2wpkh()))
		txs[0] = cb

		ids := make([]chainhash.Hash, len(txs))
		for j, tx := range txs {
			ids[j] = tx.TxHash()
		}
		msg := &wire.MsgBlock{Header: wire.BlockHeader{Version: 0x20000000, PrevBlock: prev, MerkleRoot: merkleRootOf(ids),
			Timestamp: time.Unix(connectTime+600*int64(i), 0), Bits: connectBits}, Transactions: txs}
		for {
			h := msg.Header.BlockHash()
			if blockchain.HashToBig(&h).Cmp(target) <= 0 {
				break
			}
			msg.Header.Nonce++
		}
		b, err := utxo.NewBlock(msg)
		if err != nil {
			return nil, nil, err
		}
		for j, tx := range b.Txs {
			for n, out := range tx.TxOut {
				added = append(added, utxo.SeedCoin{Outpoint: utxo.Outpoint{Hash: b.TxIDs[j], Index: uint32(n)},
					Coin: utxo.Coin{Value: out.Value, Script: out.PkScript, Height: height, Coinbase: j == 0}})
			}
		}
		blocks = append(blocks, b)
		prev = b.Hash
	}
	return blocks, added, nil
}

// merkleRootOf is the Bitcoin merkle root of txids (the last hash of an
// odd level paired with itself).
func merkleRootOf(ids []chainhash.Hash) chainhash.Hash {
	level := append([]chainhash.Hash(nil), ids...)
	for len(level) > 1 {
		if len(level)%2 == 1 {
			level = append(level, level[len(level)-1])
		}
		for i := range len(level) / 2 {
			var buf [64]byte
			copy(buf[:32], level[2*i][:])
			copy(buf[32:], level[2*i+1][:])
			level[i] = chainhash.DoubleHashH(buf[:])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// expectMuHash is the digest of the set whose accumulator was base, with
// added inserted and removed taken out, computed with the muhash package
// alone, on every core.
func expectMuHash(base *[muhash.ByteSize]byte, added, removed []utxo.SeedCoin) (muhash.Digest, error) {
	acc := muhash.One()
	if err := acc.SetBytes(base); err != nil {
		return muhash.Digest{}, err
	}
	workers := runtime.GOMAXPROCS(0)
	nums, dens := make([]muhash.Num3072, workers), make([]muhash.Num3072, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			num, den := muhash.One(), muhash.One()
			var buf []byte
			for i := w; i < len(added)+len(removed); i += workers {
				sc, into := (*utxo.SeedCoin)(nil), &num
				if i < len(added) {
					sc = &added[i]
				} else {
					sc, into = &removed[i-len(added)], &den
				}
				buf = utxo.AppendMuHashElement(buf[:0], &sc.Outpoint, &sc.Coin)
				el := muhash.Element(buf)
				into.Mul(&el)
			}
			nums[w], dens[w] = num, den
		}()
	}
	wg.Wait()
	den := muhash.One()
	for w := range workers {
		acc.Mul(&nums[w])
		den.Mul(&dens[w])
	}
	acc.Div(&den)
	return muhash.DigestOf(&acc), nil
}

// cloneLevelDB copies the goleveldb database at src to dst (replacing
// dst). Table files (*.ldb, *.sst) are hard links: goleveldb writes a
// table once and afterwards only reads or deletes it, so the clone's
// compactions cannot change src's. Everything else (CURRENT, the
// MANIFEST and journal, which are appended to or rewritten; LOG) is
// copied, and LOCK left for goleveldb to create. The clone costs a few MB
// and a fraction of a second whatever the store's size.
func cloneLevelDB(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, ent := range ents {
		name := ent.Name()
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		switch {
		case ent.IsDir() || name == "LOCK":
			continue
		case strings.HasSuffix(name, ".ldb") || strings.HasSuffix(name, ".sst"):
			if err := os.Link(from, to); err == nil {
				continue
			}
			// Another file system: copy.
		}
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fs.FileMode(0o644))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchBlockCache is goleveldb's block cache for the connect benchmark:
// SATNODE_BENCH_BLOCK_CACHE_MB, or a node's default (app.toml
// utxo.block_cache_mb).
func benchBlockCache() int {
	mb, err := strconv.Atoi(os.Getenv("SATNODE_BENCH_BLOCK_CACHE_MB"))
	if err != nil || mb <= 0 {
		mb = int(node.DefaultAppConfig().UTXO.BlockCacheMB)
	}
	return mb << 20
}
