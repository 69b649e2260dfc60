package app

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/snapshots"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// blkBodies is a BodyProvider over indexed blk files.
type blkBodies struct{ ix *blkfile.Index }

func (b blkBodies) Body(_ context.Context, hash chainhash.Hash, _ int32) ([]byte, error) {
	raw, err := b.ix.Read(hash)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBody, err)
	}
	return raw, nil
}

// BenchmarkStateSync measures joining by replay against joining by state
// sync, on the same states: a chain (the importer benchmark's, chaingen's
// bench profile, in SATNODE_BENCH_DIR/chain-bench-seed1, which `make
// bench-statesync` generates) is replayed through the application from
// genesis as a node joining by block sync would (SubmitHeaders, Endorse,
// bodies from the blk files, each block connected), on goleveldb; when the
// set first holds 1M coins, and again at the end (4.2M), a snapshot is
// made and restored into a fresh store through the ABCI snapshot calls
// (chunks read back from disk and hash-checked, the set, its index and
// tree built, the 100 blocks above the base connected, the app hash
// checked). Network transfer is not included. Run with -benchtime 1x.
func BenchmarkStateSync(b *testing.B) {
	dir := os.Getenv("SATNODE_BENCH_DIR")
	chainDir := filepath.Join(dir, "chain-bench-seed1")
	if _, err := os.Stat(filepath.Join(chainDir, "complete")); dir == "" || err != nil {
		b.Skip("needs SATNODE_BENCH_DIR/chain-bench-seed1 (make bench-statesync)")
	}
	ctx := context.Background()
	ix, err := blkfile.Scan(ctx, &chaincfg.RegressionNetParams, []string{chainDir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	chain, err := ix.BestChain()
	if err != nil {
		b.Fatal(err)
	}
	bodies := blkBodies{ix}
	for i := 0; i < b.N; i++ {
		src, err := leveldbstore.Open(b.TempDir(), leveldbstore.Options{BlockCacheBytes: 256 << 20})
		if err != nil {
			b.Fatal(err)
		}
		snapDir := b.TempDir()
		ss, err := snapshots.Open(snapDir)
		if err != nil {
			b.Fatal(err)
		}
		h := newHarness(b, harnessOpts{network: "regtest", stakes: []uint64{10e6}, store: src,
			params: func(p *Params) {
				p.MaxBTCBytesPerBlock, p.MaxHeadersPerBlock, p.MaxHeadersAhead = 64<<20, 100_000, 100_000
			},
			cfg: func(c *Config) {
				c.Bodies, c.CacheBytes = bodies, 256<<20
				c.Snapshots = SnapshotConfig{Store: ss, ChunkBytes: DefaultSnapshotChunkBytes}
			}})
		stream, err := chain.Blocks(ctx, 1, nil)
		if err != nil {
			b.Fatal(err)
		}
		tip, _ := chain.Tip()
		replayStart := time.Now()
		var replayed time.Duration
		targets := []uint64{1_000_000, 0} // 0: the end of the chain
		if os.Getenv("SATNODE_BENCH_QUICK") != "" {
			targets = targets[:1]
		}
		var group [][]byte
		for stream.Next() {
			blk := stream.Block()
			group = append(group, blk.Raw[:80])
			if len(group) < 100 && blk.Height < tip {
				continue
			}
			from := blk.Height - int32(len(group)) + 1
			benchReplay(h, from, group)
			group = group[:0]
			coins := committedCoins(b, h)
			if len(targets) == 0 || (targets[0] != 0 && coins < targets[0]) || (targets[0] == 0 && blk.Height < tip) {
				continue
			}
			targets = targets[1:]
			replayed += time.Since(replayStart)
			benchSync(b, h, ss, bodies, coins, replayed)
			replayStart = time.Now()
		}
		if err := stream.Err(); err != nil {
			b.Fatal(err)
		}
		stream.Close()
		h.app.Close()
		src.Close()
	}
}

// benchReplay submits headers of the blocks from..., endorses them and
// commits until the set has connected them all.
func benchReplay(h *harness, from int32, headers [][]byte) {
	h.t.Helper()
	var txs [][]byte
	for rest := headers; len(rest) > 0; {
		n := min(len(rest), tx.MaxHeadersPerTx)
		var m tx.SubmitHeaders
		for _, r := range rest[:n] {
			m.Headers = append(m.Headers, [80]byte(r))
		}
		txs = append(txs, h.sign(h.sync, m))
		rest = rest[n:]
	}
	h.mustOK(txs...)
	h.mustOK(h.endorse(0, from, headers)...)
	want := from + int32(len(headers)) - 1
	for h.btcTip() < want {
		h.mustOK()
	}
}

// benchSync makes a snapshot of the source's committed state and restores
// it into a fresh store, reporting both and the replay beside them.
func benchSync(b *testing.B, h *harness, ss *snapshots.Store, bodies BodyProvider, coins uint64, replayed time.Duration) {
	b.Helper()
	h.mustOK() // a commit whose view the snapshot is made from
	v, err := h.app.views.Acquire()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := h.app.makeSnapshot(v); err != nil {
		b.Fatal(err)
	}
	made := time.Since(t0)
	v.Release()
	info, err := ss.Get(uint64(h.height), SnapshotFormat)
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for i := uint32(0); i < info.Chunks; i++ {
		c, _ := ss.Chunk(info.Height, info.Format, i)
		bytes += int64(len(c))
	}
	dst, err := leveldbstore.Open(b.TempDir(), leveldbstore.Options{BlockCacheBytes: 256 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	j, err := New(Config{Store: dst, Bodies: bodies, CacheBytes: 256 << 20, BodyRetry: time.Millisecond, Logger: benchLogger(),
		Genesis: GenesisDoc{ChainID: testChainID, AppState: h.state}, RestoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	appHash := h.app.appHash
	t1 := time.Now()
	off, err := j.OfferSnapshot(ctx, &abci.RequestOfferSnapshot{Snapshot: &abci.Snapshot{Height: info.Height,
		Format: info.Format, Chunks: info.Chunks, Hash: info.Hash[:], Metadata: info.Metadata}, AppHash: appHash[:]})
	if err != nil || off.Result != abci.ResponseOfferSnapshot_ACCEPT {
		b.Fatalf("offer: %v %v", off.GetResult(), err)
	}
	for i := uint32(0); i < info.Chunks; i++ {
		c, err := ss.Chunk(info.Height, info.Format, i)
		if err != nil {
			b.Fatal(err)
		}
		res, err := j.ApplySnapshotChunk(ctx, &abci.RequestApplySnapshotChunk{Index: i, Chunk: c, Sender: "bench"})
		if err != nil || res.Result != abci.ResponseApplySnapshotChunk_ACCEPT {
			b.Fatalf("chunk %d: %v %v", i, res.GetResult(), err)
		}
	}
	restored := time.Since(t1)
	if j.appHash != appHash {
		b.Fatal("restored app hash differs")
	}
	mb := float64(bytes) / (1 << 20)
	b.Logf("STATE SYNC %d coins: snapshot %.1f MB in %d chunks made in %v; restored in %v (%.1f MB/s, %.0f coins/s); "+
		"replay from genesis to the same state %v (state sync %.1fx faster)", coins, mb, info.Chunks,
		made.Round(time.Millisecond), restored.Round(time.Millisecond), mb/restored.Seconds(), float64(coins)/restored.Seconds(),
		replayed.Round(time.Millisecond), replayed.Seconds()/restored.Seconds())
	b.ReportMetric(restored.Seconds(), fmt.Sprintf("restore_s/%dcoins", coins))
}

// benchLogger writes the joiner's log to stderr under SATNODE_BENCH_LOG.
func benchLogger() *slog.Logger {
	if os.Getenv("SATNODE_BENCH_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// committedCoins is the coin count of the source's last commit.
func committedCoins(b *testing.B, h *harness) uint64 {
	v, err := h.app.views.Acquire()
	if err != nil {
		b.Fatal(err)
	}
	defer v.Release()
	rec, err := v.Reader.BlockRecord(v.Tip.Height)
	if err != nil {
		b.Fatal(err)
	}
	return rec.Totals.TxOuts
}

// BenchmarkStateSyncSet measures the part of a state sync that grows with
// the set, on the 20M-coin store `make bench-snapshot` leaves in
// SATNODE_BENCH_HOME: the serving node writing the set as snapshot chunks
// (Core's encoding, 4 MiB chunks, each hashed and synced), and the joiner
// reading them back, checking each hash, and loading the set with its
// index and UTXO tree (restoreSet, the code path of ApplySnapshotChunk)
// into a fresh store. The consensus records and the blocks above the base
// do not grow with the set (BenchmarkStateSync has them). Run with
// -benchtime 1x.
func BenchmarkStateSyncSet(b *testing.B) {
	home := os.Getenv("SATNODE_BENCH_HOME")
	if home == "" {
		b.Skip("needs SATNODE_BENCH_HOME: the home `make bench-snapshot` loads")
	}
	src, err := leveldbstore.Open(filepath.Join(home, "data", "satnode"), leveldbstore.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	r := utxo.NewReader(src)
	st, err := r.State()
	if err != nil {
		b.Fatal(err)
	}
	rec, err := r.BlockRecord(st.TipHeight)
	if err != nil {
		b.Fatal(err)
	}
	params, err := utxo.ParamsFor(st.Network)
	if err != nil {
		b.Fatal(err)
	}
	net, err := coresnap.NetworkByName(params.Name)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		ss, err := snapshots.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		w, err := ss.Create(1, SnapshotFormat, DefaultSnapshotChunkBytes)
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		var cw *coresnap.Writer
		var coins uint64
		err = r.SetAt(st.TipHeight, func(n uint64) error {
			coins = n
			cw = coresnap.NewWriter(bw, coresnap.Meta{Network: net, BaseHash: rec.Hash, Count: n})
			return nil
		}, func(op utxo.Outpoint, c utxo.Coin) error { return cw.Write(op, c) })
		if err == nil {
			err = cw.Close()
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			b.Fatal(err)
		}
		var hashes [][32]byte
		info, err := w.Commit(func(h [][32]byte, _ int64) ([]byte, error) { hashes = h; return []byte("bench"), nil })
		if err != nil {
			b.Fatal(err)
		}
		made := time.Since(t0)
		mb := float64(w.Bytes()) / (1 << 20)

		dst, err := leveldbstore.Open(b.TempDir(), leveldbstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		e, err := utxo.Open(dst, utxo.Config{Params: params, CacheBytes: 256 << 20, ManualFlush: true, ResumeLoad: true})
		if err != nil {
			b.Fatal(err)
		}
		a := &App{cfg: Config{RestoreDir: b.TempDir()}, log: slog.New(slog.DiscardHandler)}
		rs := &restore{meta: snapshotMeta{Coins: coins}, status: &restoreStatus{}}
		pr, pw := io.Pipe()
		go func() {
			for i := uint32(0); i < info.Chunks; i++ {
				c, err := ss.Chunk(info.Height, info.Format, i)
				if err == nil && sha256.Sum256(c) != hashes[i] {
					err = fmt.Errorf("chunk %d does not match its hash", i)
				}
				if err == nil {
					_, err = pw.Write(c)
				}
				if err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			pw.Close()
		}()
		t1 := time.Now()
		err = a.restoreSet(rs, bufio.NewReaderSize(pr, 1<<20), e, utxo.SeedBase{Height: st.TipHeight, Hash: rec.Hash})
		if err != nil {
			b.Fatal(err)
		}
		restored := time.Since(t1)
		if d, _ := e.Digest(); d != rec.MuHash {
			b.Fatal("the restored set's MuHash differs")
		}
		e.Close()
		dst.Close()
		b.Logf("STATE SYNC SET %d coins: %.1f MB in %d chunks written in %v (%.1f MB/s); read back, checked and loaded "+
			"with index and tree in %v (%.1f MB/s, %.0f coins/s)", coins, mb, info.Chunks, made.Round(time.Millisecond),
			mb/made.Seconds(), restored.Round(time.Millisecond), mb/restored.Seconds(), float64(coins)/restored.Seconds())
		b.ReportMetric(restored.Seconds(), "restore_s")
		b.ReportMetric(made.Seconds(), "make_s")
	}
}
