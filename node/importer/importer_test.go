package importer_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/node/importer"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/utxotest"
)

func mainnetRaw(t *testing.T) [][]byte {
	t.Helper()
	blocks, err := utxotest.MainnetChain()
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// writeBlk writes blocks in the given order into dir as blk files of at most
// maxFile bytes.
func writeBlk(t *testing.T, dir string, blocks [][]byte, maxFile int64) {
	t.Helper()
	w, err := blkfile.NewWriter(dir, utxo.MainNet().Chain.Net, &blkfile.WriterOptions{MaxFileSize: maxFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if _, err := w.WriteBlock(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func digest(t *testing.T, dir string) [32]byte {
	t.Helper()
	s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, _, err := utxo.ContentDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func run(t *testing.T, ctx context.Context, store string, sources []string, stop int32) (*importer.Result, error) {
	t.Helper()
	return runLog(ctx, store, sources, stop, slog.New(slog.DiscardHandler))
}

func runLog(ctx context.Context, store string, sources []string, stop int32, log *slog.Logger) (*importer.Result, error) {
	return importer.Run(ctx, importer.Config{StoreDir: store, Sources: sources, Params: utxo.MainNet(),
		StopHeight: stop, FlushInterval: 100, Logger: log, ProgressEvery: time.Millisecond})
}

// cancelAt is a log handler that cancels the import once a progress line
// reports a height at or above the mark: a user pressing Ctrl-C mid-run.
type cancelAt struct {
	mark   int64
	cancel context.CancelFunc
	seen   atomic.Int64
}

func (c *cancelAt) Enabled(context.Context, slog.Level) bool { return true }
func (c *cancelAt) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *cancelAt) WithGroup(string) slog.Handler            { return c }
func (c *cancelAt) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "height" && a.Value.Int64() >= c.mark {
			c.seen.Store(a.Value.Int64())
			c.cancel()
		}
		return true
	})
	return nil
}

// TestImportCoreDirectory shuffles blocks over several blk files, the way
// Bitcoin Core's headers-first download stores them, and requires the same
// store as importing them in order.
func TestImportCoreDirectory(t *testing.T) {
	blocks := mainnetRaw(t)[:3000]
	ordered := filepath.Join(t.TempDir(), "ordered")
	writeBlk(t, ordered, blocks, 1<<30)
	shuffled := append([][]byte(nil), blocks...)
	rng := rand.New(rand.NewPCG(5, 6))
	// Local shuffles within windows, like Core's out-of-order download.
	for i := range shuffled {
		j := i + rng.IntN(min(64, len(shuffled)-i))
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	coreDir := filepath.Join(t.TempDir(), "blocks")
	writeBlk(t, coreDir, shuffled, 64<<10)

	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	ra, err := run(t, context.Background(), a, []string{ordered}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := run(t, context.Background(), b, []string{coreDir}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ra.TipHeight != 2999 || rb.TipHeight != 2999 || ra.MuHash != rb.MuHash {
		t.Fatalf("tips %d/%d muhash %s/%s", ra.TipHeight, rb.TipHeight, ra.MuHash, rb.MuHash)
	}
	if digest(t, a) != digest(t, b) {
		t.Fatal("importing a shuffled directory gave a different store")
	}
}

// TestImportResume interrupts imports (at a stop height, and by cancelling
// the context mid-run) and requires the resumed store to equal a single
// uninterrupted import.
func TestImportResume(t *testing.T) {
	src := filepath.Join(t.TempDir(), "blk")
	writeBlk(t, src, mainnetRaw(t), 1<<30)
	full := filepath.Join(t.TempDir(), "full")
	if _, err := run(t, context.Background(), full, []string{src}, 0); err != nil {
		t.Fatal(err)
	}

	store := filepath.Join(t.TempDir(), "resumed")
	r1, err := run(t, context.Background(), store, []string{src}, 5000)
	if err != nil || r1.TipHeight != 5000 {
		t.Fatalf("stop at 5000: tip %v, %v", r1, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &cancelAt{mark: 9000, cancel: cancel}
	r2, err := runLog(ctx, store, []string{src}, 0, slog.New(h))
	cancel()
	if !errors.Is(err, context.Canceled) || r2.TipHeight < 9000 || r2.TipHeight >= 14131 {
		t.Fatalf("cancelled run: tip %d, %v", r2.TipHeight, err)
	}
	r3, err := run(t, context.Background(), store, []string{src}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r3.StartHeight <= 5000 || r3.TipHeight != 14131 {
		t.Fatalf("third run started at %d and ended at %d", r3.StartHeight, r3.TipHeight)
	}
	if digest(t, store) != digest(t, full) {
		t.Fatal("resumed import differs from an uninterrupted one")
	}
	again, err := run(t, context.Background(), store, []string{src}, 0)
	if err != nil || again.Blocks != 0 {
		t.Fatalf("a run at the tip connected %d blocks, %v", again.Blocks, err)
	}
	t.Logf("runs: 0..%d, then to %d (cancelled), then %d..%d", r1.TipHeight, r2.TipHeight, r3.StartHeight, r3.TipHeight)
}

// TestImportBadInput: a block that fails the engine's checks stops the
// import with the engine's rule error and the height, and the store keeps
// everything before it.
func TestImportBadInput(t *testing.T) {
	blocks := append([][]byte(nil), mainnetRaw(t)[:300]...)
	bad := append([]byte(nil), blocks[200]...)
	bad[len(bad)-10] ^= 0xff // inside the last transaction: merkle root breaks
	// The file's framing stays valid; the block hash (header) is unchanged.
	blocks[200] = bad
	src := filepath.Join(t.TempDir(), "blk")
	writeBlk(t, src, blocks, 1<<30)
	store := filepath.Join(t.TempDir(), "s")
	res, err := run(t, context.Background(), store, []string{src}, 0)
	if !utxo.IsRuleError(err, utxo.ErrBadMerkleRoot) {
		t.Fatalf("got %v, want ErrBadMerkleRoot", err)
	}
	if res.TipHeight != 199 {
		t.Fatalf("tip %d after the bad block, want 199", res.TipHeight)
	}
}

// writeGenerated writes a generated regtest chain of n blocks (seed s) as
// blk files in dir.
func writeGenerated(t *testing.T, dir string, seed uint64, n int) {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Seed, cfg.Blocks, cfg.PreActivationTxsPerBlock = seed, n, 10
	writeChain(t, dir, cfg)
}

// writeChain generates the chain cfg describes into blk files in dir and
// returns the generator's summary.
func writeChain(tb testing.TB, dir string, cfg chaingen.Config) chaingen.Summary {
	tb.Helper()
	g, err := chaingen.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := blkfile.NewWriter(dir, cfg.Params.Net, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Each(func(b *wire.MsgBlock) error { _, err := w.WriteMsgBlock(b); return err }); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return g.Summary()
}

// TestImportFollowsFilesChain imports one chain, then files holding a
// different chain with more work: the importer disconnects the store back
// to the common ancestor (genesis) and connects the new chain, ending
// byte-identical to a store that only ever saw the new chain.
func TestImportFollowsFilesChain(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeGenerated(t, a, 1, 120)
	writeGenerated(t, b, 2, 130)
	cfg := func(store, src string) importer.Config {
		return importer.Config{StoreDir: store, Sources: []string{src}, Params: utxo.RegTest(), FlushInterval: 50,
			Logger: slog.New(slog.DiscardHandler)}
	}
	store := filepath.Join(t.TempDir(), "s")
	if _, err := importer.Run(context.Background(), cfg(store, a)); err != nil {
		t.Fatal(err)
	}
	res, err := importer.Run(context.Background(), cfg(store, b))
	if err != nil {
		t.Fatal(err)
	}
	if res.Disconnected != 120 || res.TipHeight != 130 {
		t.Fatalf("disconnected %d, tip %d", res.Disconnected, res.TipHeight)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := importer.Run(context.Background(), cfg(fresh, b)); err != nil {
		t.Fatal(err)
	}
	if digest(t, store) != digest(t, fresh) {
		t.Fatal("store after following the new chain differs from a fresh import of it")
	}
}

// TestImportDeterminism imports a generated chain (all script types,
// consolidations, batches, in-block spends) with very different cache
// budgets and flush intervals: the stores must be byte-identical.
func TestImportDeterminism(t *testing.T) {
	src := filepath.Join(t.TempDir(), "chain")
	writeGenerated(t, src, 3, 460)
	var first [32]byte
	for i, v := range []struct {
		cache int64
		flush int
	}{{1 << 30, 0}, {1 << 20, 1}, {4 << 20, 17}} {
		store := filepath.Join(t.TempDir(), "s")
		if _, err := importer.Run(context.Background(), importer.Config{StoreDir: store, Sources: []string{src},
			Params: utxo.RegTest(), CacheBytes: v.cache, FlushInterval: v.flush, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
		d := digest(t, store)
		if i == 0 {
			first = d
		} else if d != first {
			t.Fatalf("cache %d, flush interval %d: store differs", v.cache, v.flush)
		}
	}
}
