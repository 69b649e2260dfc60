package utxo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/utxotest"
)

// Real modern coins through Bitcoin Core's snapshot format (issue 12): the
// mainnet snapshot fixtures loaded with coresnap.Reader and
// Engine.SeedStream, and real blocks connected on top, with the values of
// testdata/mainnet/README.md.

// coreStream adapts a coresnap.Reader to SeedStream's next, keeping the
// coins it hands out in *seen (the Reader allocates every script anew).
func coreStream(r *coresnap.Reader, seen *[]utxo.SeedCoin) func() (utxo.SeedCoin, error) {
	return func() (utxo.SeedCoin, error) {
		op, c, err := r.Next()
		sc := utxo.SeedCoin{Outpoint: op, Coin: c}
		if err == nil {
			*seen = append(*seen, sc)
		}
		return sc, err
	}
}

// seedResult is what loadCoreSnapshot saw.
type seedResult struct {
	meta     coresnap.Meta
	last     utxo.SeedProgress
	verified string          // the digest shown to SeedOptions.Verify, as Core shows it
	coins    []utxo.SeedCoin // as the Reader returned them
}

// loadCoreSnapshot loads the snapshot src, taken at height base, into e
// through coresnap.Reader and SeedStream, with the base hash and the coin
// count from its header.
func loadCoreSnapshot(t *testing.T, e *utxo.Engine, src io.Reader, base int32) seedResult {
	t.Helper()
	r, err := coresnap.NewReader(src, coresnap.MainNet, base)
	if err != nil {
		t.Fatal(err)
	}
	res := seedResult{meta: r.Meta()}
	err = e.SeedStream(utxo.SeedBase{Height: base, Hash: res.meta.BaseHash}, coreStream(r, &res.coins), utxo.SeedOptions{
		ExpectedCoins: res.meta.Count,
		BytesRead:     r.Offset,
		Progress:      func(p utxo.SeedProgress) { res.last = p },
		Verify: func(d [32]byte) error {
			res.verified = muhash.Digest(d).String()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.last.Done || res.last.Coins != res.meta.Count || res.last.Read != res.meta.Count || res.last.Bytes != r.Offset() {
		t.Fatalf("last progress %+v for %d coins, %d bytes", res.last, res.meta.Count, r.Offset())
	}
	return res
}

// setWant is a set's values as gettxoutsetinfo muhash shows them.
type setWant struct {
	height int32
	txouts uint64
	amount int64
	muhash string
}

// checkSet flushes e and checks the set at its tip, by the engine's
// digest and by the block record in the store.
func checkSet(t *testing.T, e *utxo.Engine, s utxo.KVReader, want setWant) *utxo.BlockRecord {
	t.Helper()
	if h, _, ok := e.Tip(); !ok || h != want.height {
		t.Fatalf("tip %d (%v), want %d", h, ok, want.height)
	}
	d, err := e.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	rec, err := utxo.NewReader(s).BlockRecord(want.height)
	if err != nil {
		t.Fatal(err)
	}
	if got := muhash.Digest(d).String(); got != want.muhash || rec.MuHash != d {
		t.Fatalf("height %d: muhash %s (record %s), want %s", want.height, got, muhash.Digest(rec.MuHash), want.muhash)
	}
	if rec.Totals.TxOuts != want.txouts || rec.Totals.TotalAmount != want.amount {
		t.Fatalf("height %d: %d txouts, %d sat; want %d, %d", want.height, rec.Totals.TxOuts, rec.Totals.TotalAmount,
			want.txouts, want.amount)
	}
	return rec
}

// checkStats flushes e, compares the stats Connect returned with those it
// stored, and checks the fee identities: in − out, and what the miner
// claimed.
func checkStats(t *testing.T, e *utxo.Engine, s utxo.KVReader, st *utxo.BlockStats, msg *wire.MsgBlock, height int32) {
	t.Helper()
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	rec, err := utxo.NewReader(s).BlockRecord(height)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Stats != *st {
		t.Fatalf("stored stats %+v, Connect returned %+v", rec.Stats, *st)
	}
	if st.Height != height || st.Hash != msg.BlockHash() || st.Txs != uint32(len(msg.Transactions)) {
		t.Fatalf("stats of %d %s with %d txs", st.Height, st.Hash, st.Txs)
	}
	if st.Fees != st.InAmount-st.OutAmount || st.Subsidy != utxo.MainNet().Subsidy(height) ||
		st.CoinbaseAmount != st.Subsidy+st.Fees {
		t.Fatalf("fees %d, in %d, out %d, subsidy %d, coinbase %d", st.Fees, st.InAmount, st.OutAmount,
			st.Subsidy, st.CoinbaseAmount)
	}
}

// TestCoreSnapshot367891 loads Core's snapshot of the 20,798 coins block
// 367891 spends, on both backends, in one chunk and in many, and connects
// the block: the set before and after it and the block's fees are the
// fixture's (gettxoutsetinfo muhash values), and every load gives the same
// store.
func TestCoreSnapshot367891(t *testing.T) {
	const base = 367890
	before := setWant{base, 20_798, 1_096_6631_0051, "5675cc6793a805228f9ce3dfc3f2df095ba6af438b5672cd5cc51f901e422be8"}
	after := setWant{base + 1, 833, 1_121_6631_0051, "794840ba9d0d0b93b40e387ef3a796469b0a074a8164c1e64e953ecdf48e4c34"}
	const fees = 1400_1930 // 0.14001930 BTC
	path, err := utxotest.Path("utxo-mainnet-367890-spent-by-367891.dat")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := utxotest.ReadFile("block-367891.raw.gz")
	if err != nil {
		t.Fatal(err)
	}
	msg := msgOf(t, raw)
	var stores [][32]byte
	for _, be := range backends {
		for _, budget := range []int64{0, 32 << 10} {
			t.Run(fmt.Sprintf("%s/budget=%d", be.name, budget), func(t *testing.T) {
				s := be.open(t)
				e := openEngine(t, s, utxo.Config{CacheBytes: budget})
				defer e.Close()
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				res := loadCoreSnapshot(t, e, f, base)
				if res.meta.BaseHash != msg.Header.PrevBlock || res.meta.BaseHash.String()[:24] != "00000000000000000a228622" {
					t.Fatalf("base %s, block 367891's parent %s", res.meta.BaseHash, msg.Header.PrevBlock)
				}
				if res.verified != before.muhash {
					t.Fatalf("Verify was shown %s, want %s", res.verified, before.muhash)
				}
				if budget > 0 && res.last.Chunks < 10 {
					t.Fatalf("budget %d: only %d chunks", budget, res.last.Chunks)
				}
				checkSet(t, e, s, before)

				st, err := e.Connect(decode(t, raw))
				if err != nil {
					t.Fatal(err)
				}
				checkSet(t, e, s, after)
				checkStats(t, e, s, st, msg, base+1)
				if st.Fees != fees {
					t.Fatalf("fees %d sat, want %d", st.Fees, fees)
				}
				// 20,817 inputs: the snapshot's 20,798 coins and 19 outputs
				// of the block itself.
				if st.SetSpent != 20_817 || uint64(st.SetAdded) != after.txouts+uint64(st.SetSpent)-before.txouts {
					t.Fatalf("spent %d added %d", st.SetSpent, st.SetAdded)
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				stores = append(stores, digestOf(t, s))
				t.Logf("%d chunks; fees %d sat, %d inputs, %d outputs", res.last.Chunks, st.Fees, st.Inputs, st.Outputs)
			})
		}
	}
	for i := range stores {
		if stores[i] != stores[0] {
			t.Fatalf("load %d wrote another store than load 0", i)
		}
	}
}

// prevoutSums returns the number and Σ value of the prevouts in a Floresta
// prevouts file, read on their own (not through loadPrevoutsJSON), for an
// independent fee total.
func prevoutSums(t *testing.T, name string) (n int, sum int64) {
	t.Helper()
	data, err := utxotest.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		TxOut struct {
			Value int64 `json:"value"`
		} `json:"txout"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		sum += p.TxOut.Value
	}
	return len(list), sum
}

// blockSums is what a block does to the set, counted from its transactions.
type blockSums struct {
	inputs      int   // spends, coinbase excluded
	outValue    int64 // Σ outputs of the non-coinbase transactions
	added       int   // spendable outputs, the coinbase's included
	addedValue  int64 // their Σ value
	claimed     int64 // Σ coinbase outputs
	outputCount int
}

func sumBlock(msg *wire.MsgBlock) blockSums {
	var s blockSums
	for i, tx := range msg.Transactions {
		if i > 0 {
			s.inputs += len(tx.TxIn)
		}
		for _, o := range tx.TxOut {
			s.outputCount++
			if i == 0 {
				s.claimed += o.Value
			} else {
				s.outValue += o.Value
			}
			if !utxo.IsUnspendable(o.PkScript) {
				s.added++
				s.addedValue += o.Value
			}
		}
	}
	return s
}

func writeSnapshot(t *testing.T, meta coresnap.Meta, coins []utxo.SeedCoin) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := coresnap.NewWriter(&buf, meta)
	for _, sc := range coins {
		if err := w.Write(sc.Outpoint, sc.Coin); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readSnapshot(t *testing.T, b []byte, base int32) (coresnap.Meta, []utxo.SeedCoin) {
	t.Helper()
	r, err := coresnap.NewReader(bytes.NewReader(b), coresnap.MainNet, base)
	if err != nil {
		t.Fatal(err)
	}
	var coins []utxo.SeedCoin
	for {
		op, c, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Meta(), coins
		}
		if err != nil {
			t.Fatal(err)
		}
		coins = append(coins, utxo.SeedCoin{Outpoint: op, Coin: c})
	}
}

func sameCoin(a, b utxo.Coin) bool {
	return a.Value == b.Value && a.Height == b.Height && a.Coinbase == b.Coinbase && bytes.Equal(a.Script, b.Script)
}

// setMuHash is the MuHash of coins, hashed coin by coin as Core does.
func setMuHash(coins []utxo.SeedCoin) string {
	m := muhash.New()
	var buf []byte
	for i := range coins {
		buf = utxo.AppendMuHashElement(buf[:0], &coins[i].Outpoint, &coins[i].Coin)
		m.Insert(buf)
	}
	return m.Finalize().String()
}

// TestCoreSnapshot866342 writes the coins block 866342 (taproot era) spends
// as Core's snapshot at 866341, reads it back (the same coins; written
// again, the same bytes), loads it on both backends in one chunk and in
// many, and connects the block. The fees are Σ prevouts − Σ outputs
// counted from the prevouts file and the block, the set's counts follow
// from the block's, and the store (MuHash included) is the one the
// in-memory Seed of the same coins gives before the same block.
func TestCoreSnapshot866342(t *testing.T) {
	const height = 866342
	m := loadMid(t, height)
	msg := msgOf(t, m.raw)
	coins := slices.Clone(m.coins)
	slices.SortFunc(coins, func(a, b utxo.SeedCoin) int { return utxo.CompareCoreOrder(&a.Outpoint, &b.Outpoint) })
	meta := coresnap.Meta{Network: coresnap.MainNet, BaseHash: msg.Header.PrevBlock, Count: uint64(len(coins))}
	file := writeSnapshot(t, meta, coins)

	// The round trip.
	gotMeta, back := readSnapshot(t, file, height-1)
	if gotMeta != meta || len(back) != len(coins) {
		t.Fatalf("read %+v with %d coins, wrote %+v with %d", gotMeta, len(back), meta, len(coins))
	}
	for i := range coins {
		if back[i].Outpoint != coins[i].Outpoint || !sameCoin(back[i].Coin, coins[i].Coin) {
			t.Fatalf("coin %d: read %s %+v, wrote %s %+v", i, back[i].Outpoint, back[i].Coin, coins[i].Outpoint, coins[i].Coin)
		}
	}
	if again := writeSnapshot(t, gotMeta, back); !bytes.Equal(again, file) {
		t.Fatalf("written again: %d bytes, not the %d-byte file", len(again), len(file))
	}

	// What the set must be, from the fixtures alone.
	var beforeAmount int64
	for _, c := range coins {
		beforeAmount += c.Coin.Value
	}
	nPrevouts, in := prevoutSums(t, fmt.Sprintf("block-%d.prevouts.json.gz", height))
	bs := sumBlock(msg)
	if nPrevouts != bs.inputs {
		t.Fatalf("%d prevouts for %d inputs", nPrevouts, bs.inputs)
	}
	fees := in - bs.outValue
	if fees <= 0 || bs.claimed != utxo.MainNet().Subsidy(height)+fees {
		t.Fatalf("fees %d: the miner claimed %d", fees, bs.claimed)
	}
	wantAfterTxOuts := uint64(len(coins) - bs.inputs + bs.added)
	wantAfterAmount := beforeAmount - in + bs.addedValue
	beforeMu := setMuHash(coins)

	// The other load path: the in-memory Seed, given the coins in input
	// order.
	base := utxo.SeedBase{Height: height - 1, Hash: msg.Header.PrevBlock}
	refStore := memstore.New()
	ref := openEngine(t, refStore, utxo.Config{})
	if err := ref.SeedInMemory(base, m.coins); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Connect(decode(t, m.raw)); err != nil {
		t.Fatal(err)
	}
	refMu, err := ref.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Close(); err != nil {
		t.Fatal(err)
	}
	refContent := digestOf(t, refStore)

	for _, be := range backends {
		for _, budget := range []int64{0, 64 << 10} {
			t.Run(fmt.Sprintf("%s/budget=%d", be.name, budget), func(t *testing.T) {
				s := be.open(t)
				e := openEngine(t, s, utxo.Config{CacheBytes: budget})
				defer e.Close()
				res := loadCoreSnapshot(t, e, bytes.NewReader(file), height-1)
				if res.meta.BaseHash != msg.Header.PrevBlock || res.verified != beforeMu {
					t.Fatalf("base %s, Verify shown %s; want %s, %s", res.meta.BaseHash, res.verified, msg.Header.PrevBlock, beforeMu)
				}
				if budget > 0 && res.last.Chunks < 10 {
					t.Fatalf("budget %d: only %d chunks", budget, res.last.Chunks)
				}
				checkSet(t, e, s, setWant{height - 1, uint64(len(coins)), beforeAmount, beforeMu})

				st, err := e.Connect(decode(t, m.raw))
				if err != nil {
					t.Fatal(err)
				}
				checkStats(t, e, s, st, msg, height)
				if st.Fees != fees || st.InAmount != in || st.OutAmount != bs.outValue || st.CoinbaseAmount != bs.claimed {
					t.Fatalf("fees %d in %d out %d coinbase %d; want %d %d %d %d", st.Fees, st.InAmount, st.OutAmount,
						st.CoinbaseAmount, fees, in, bs.outValue, bs.claimed)
				}
				if int(st.Inputs) != bs.inputs || int(st.SetSpent) != bs.inputs || int(st.SetAdded) != bs.added ||
					int(st.Outputs) != bs.outputCount {
					t.Fatalf("inputs %d spent %d added %d outputs %d; want %d %d %d %d", st.Inputs, st.SetSpent,
						st.SetAdded, st.Outputs, bs.inputs, bs.inputs, bs.added, bs.outputCount)
				}
				checkSet(t, e, s, setWant{height, wantAfterTxOuts, wantAfterAmount, muhash.Digest(refMu).String()})
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if digestOf(t, s) != refContent {
					t.Fatal("the store differs from the in-memory Seed's after the same block")
				}
				t.Logf("%d chunks; fees %d sat; %d txouts, %d sat after", res.last.Chunks, st.Fees,
					wantAfterTxOuts, wantAfterAmount)
			})
		}
	}
}

// tableView shows ContentDigest one table of a store (a key prefix), so
// that stores with the same set and different histories can be compared
// table by table.
type tableView struct {
	kv     utxo.KVReader
	prefix []byte
}

func (v tableView) Get(key []byte) ([]byte, error) {
	if !bytes.HasPrefix(key, v.prefix) {
		return nil, utxo.ErrNotFound
	}
	return v.kv.Get(key)
}

func (v tableView) Iterate(prefix, start []byte) utxo.Iterator {
	if !bytes.HasPrefix(prefix, v.prefix) {
		prefix = v.prefix // ContentDigest asks for everything
	}
	return v.kv.Iterate(prefix, start)
}

// TestCoreSnapshot14131MatchesReplay loads Core's snapshot of the set at
// mainnet block 14131 (mostly uncompressed P2PK coins) on both backends and
// compares it with the replay of blocks 0–14131: the same MuHash (the
// fixture's), counts, amounts and bogosize, the same coins and script-hash
// utxo tables byte for byte, the same balance and utxo count per script
// hash, and the file's coins one by one in the replay's store. Block
// records and times are not compared: a seeded store has no history below
// its base.
func TestCoreSnapshot14131MatchesReplay(t *testing.T) {
	const base = 14131
	want := setWant{base, 13_416, 706_550_0000_0000, "859e27f17a6cce9768b75dd0dbd969890157d29a152b0f4a0afa6c67cbcd5975"}
	rs := memstore.New()
	re := openEngine(t, rs, utxo.Config{})
	for _, raw := range mainnetBlocks(t) {
		if _, err := re.Connect(decode(t, raw)); err != nil {
			t.Fatal(err)
		}
	}
	replayRec := checkSet(t, re, rs, want)
	_, tipHash, _ := re.Tip()
	if err := re.Close(); err != nil {
		t.Fatal(err)
	}
	replayStats := scriptHashStats(t, rs)

	file, err := utxotest.ReadFile("utxo-mainnet-14131.dat")
	if err != nil {
		t.Fatal(err)
	}
	var coins []utxo.SeedCoin
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := be.open(t)
			e := openEngine(t, s, utxo.Config{CacheBytes: 64 << 10})
			defer e.Close()
			res := loadCoreSnapshot(t, e, bytes.NewReader(file), base)
			if res.meta.BaseHash != tipHash || res.verified != want.muhash || res.last.Chunks < 10 {
				t.Fatalf("base %s (replay's tip %s), Verify shown %s, %d chunks", res.meta.BaseHash, tipHash,
					res.verified, res.last.Chunks)
			}
			coins = res.coins
			rec := checkSet(t, e, s, want)
			if rec.Totals.BogoSize != replayRec.Totals.BogoSize {
				t.Fatalf("bogosize %d, replay's %d", rec.Totals.BogoSize, replayRec.Totals.BogoSize)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			for _, table := range []byte{'c', 's'} { // coins, script-hash utxos (keys.go)
				p := []byte{table, 1}
				got, n, err := utxo.ContentDigest(tableView{s, p})
				if err != nil {
					t.Fatal(err)
				}
				wantD, wantN, err := utxo.ContentDigest(tableView{rs, p})
				if err != nil {
					t.Fatal(err)
				}
				if got != wantD || n != wantN || uint64(n) != want.txouts {
					t.Fatalf("table %c: %d keys, the replay's %d: contents differ", table, n, wantN)
				}
			}
			// The seeded counters count only the unspent outputs; the
			// replay's balance and utxo count must be the same.
			seeded := scriptHashStats(t, s)
			withCoins := 0
			for sh, rst := range replayStats {
				if rst.UTXOCount() == 0 {
					continue
				}
				withCoins++
				sst, ok := seeded[sh]
				if !ok || sst.UTXOCount() != rst.UTXOCount() || sst.Balance() != rst.Balance() || sst.SpentCount != 0 {
					t.Fatalf("script hash %x: seeded %+v, replay %+v", sh, sst, rst)
				}
			}
			if withCoins != len(seeded) {
				t.Fatalf("%d script hashes seeded, %d with coins in the replay", len(seeded), withCoins)
			}
			t.Logf("%d chunks, %d coins, %d script hashes", res.last.Chunks, len(res.coins), withCoins)
		})
	}
	// The file's coins, one by one, in the replay's store (the seeded
	// stores' coins tables are the replay's, byte for byte).
	replay := utxo.NewReader(rs)
	for _, sc := range coins {
		c, err := replay.Coin(sc.Outpoint)
		if err != nil {
			t.Fatalf("coin %s: %v", sc.Outpoint, err)
		}
		if !sameCoin(c, sc.Coin) {
			t.Fatalf("coin %s: replay %+v, snapshot %+v", sc.Outpoint, c, sc.Coin)
		}
	}
	if uint64(len(coins)) != replayRec.Totals.TxOuts {
		t.Fatalf("%d coins in the file, %d in the replay", len(coins), replayRec.Totals.TxOuts)
	}
}

// scriptHashStats reads the script-hash stats table of a store.
func scriptHashStats(t *testing.T, kv utxo.KVReader) map[[32]byte]utxo.AddrStats {
	t.Helper()
	r := utxo.NewReader(kv)
	m := map[[32]byte]utxo.AddrStats{}
	it := kv.Iterate([]byte{'a', 1}, nil) // keys.go
	defer it.Release()
	for it.Next() {
		k, err := utxo.ParseKey(it.Key())
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.ScriptHashStats(k.ScriptHash)
		if err != nil {
			t.Fatal(err)
		}
		m[k.ScriptHash] = st
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
