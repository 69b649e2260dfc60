package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/muhash"
)

// Config configures an import.
type Config struct {
	// StoreDir is the goleveldb directory of the UTXO store (created if
	// missing). Required.
	StoreDir string
	// Sources are blk files (plain or .bz2) and Core blocks/ directories.
	// Required.
	Sources []string
	// Params is the network. Required.
	Params *utxo.Params
	// Engine tuning; see utxo.Config.
	CacheBytes    int64
	FlushInterval int
	// NoTree builds a new store without the UTXO tree (utxo.Config.NoTree):
	// for measuring what the tree costs.
	NoTree          bool
	UndoDepth       int32
	ValidateScripts bool
	// WriteBufferBytes is goleveldb's memtable size (default 64 MiB).
	// Flushes larger than it stream into the database as they are
	// prepared; see leveldbstore.Store.Update.
	WriteBufferBytes int
	// StopHeight, if positive, stops after connecting that height.
	StopHeight int32
	// ProgressEvery is the interval between progress lines (default 2 s).
	ProgressEvery time.Duration
	// Logger receives progress lines and the summary (default: discard).
	Logger *slog.Logger
	// DecodeWorkers bounds the goroutines decoding blocks (default
	// GOMAXPROCS).
	DecodeWorkers int
}

func (c *Config) validate() error {
	switch {
	case c.StoreDir == "":
		return errors.New("importer: no store directory")
	case len(c.Sources) == 0:
		return errors.New("importer: no block sources given")
	case c.Params == nil:
		return errors.New("importer: no network")
	case c.CacheBytes < 0 || c.FlushInterval < 0 || c.UndoDepth < 0 || c.StopHeight < 0 || c.WriteBufferBytes < 0:
		return errors.New("importer: negative cache, flush interval, undo depth, stop height or write buffer")
	}
	for _, s := range c.Sources {
		if _, err := os.Stat(s); err != nil {
			return fmt.Errorf("importer: source %w", err)
		}
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DecodeWorkers <= 0 {
		c.DecodeWorkers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// Result summarizes an import.
type Result struct {
	StartHeight int32 // first height connected in this run
	TipHeight   int32
	TipHash     chainhash.Hash
	Blocks      int64 // connected in this run
	Txs         int64
	Inputs      int64
	Outputs     int64
	Elapsed     time.Duration
	// Disconnected counts blocks rolled back because the store's tip was
	// not on the files' best chain.
	Disconnected int
	Set          utxo.SetTotals
	MuHash       muhash.Digest
}

// Run imports until the best chain's tip (or StopHeight), or until ctx is
// cancelled, and always leaves the store flushed and consistent: a later
// Run continues where this one stopped. A cancelled run returns ctx's error
// with the partial Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if err := os.MkdirAll(filepath.Dir(cfg.StoreDir), 0o755); err != nil {
		return nil, err
	}
	store, err := leveldbstore.Open(cfg.StoreDir, leveldbstore.Options{BlockCacheBytes: dbCacheFor(cfg.CacheBytes),
		WriteBufferBytes: cfg.WriteBufferBytes})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	eng, err := utxo.Open(store, utxo.Config{Params: cfg.Params, CacheBytes: cfg.CacheBytes, NoTree: cfg.NoTree,
		FlushInterval: cfg.FlushInterval, UndoDepth: cfg.UndoDepth, ValidateScripts: cfg.ValidateScripts})
	if err != nil {
		return nil, err
	}
	res, runErr := run(ctx, &cfg, eng, store, log)
	// Close flushes whatever was connected, also after an error or a
	// cancellation.
	if err := eng.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if info, err := summary(store); err == nil {
		res.TipHeight, res.TipHash, res.Set, res.MuHash = info.height, info.hash, info.totals, info.muhash
	}
	return res, runErr
}

func run(ctx context.Context, cfg *Config, eng *utxo.Engine, store utxo.Store, log *slog.Logger) (*Result, error) {
	start := time.Now()
	res := &Result{}
	log.Info("indexing block files", "sources", len(cfg.Sources))
	ix, err := blkfile.Scan(ctx, cfg.Params.Chain, cfg.Sources, nil)
	if err != nil {
		return res, err
	}
	var chain *blkfile.Chain
	if base := eng.BaseHeight(); base > 0 {
		rec, err := utxo.NewReader(store).BlockRecord(base)
		if err != nil {
			return res, err
		}
		chain, err = ix.BestChainFrom(rec.Hash, base)
		if err != nil {
			return res, err
		}
	} else if chain, err = ix.BestChain(); err != nil {
		return res, err
	}
	tipH, tipHash := chain.Tip()
	st := ix.Stats()
	log.Info("index ready", "files", st.Files, "blocks", st.Records, "best_tip", tipH, "tip_hash", tipHash.String(),
		"truncated_records", len(st.Truncated), "elapsed", time.Since(start).Round(time.Millisecond).String())

	from, err := resumePoint(eng, store, chain, res, log)
	if err != nil {
		return res, err
	}
	res.StartHeight = from
	end := tipH
	if cfg.StopHeight > 0 && cfg.StopHeight < end {
		end = cfg.StopHeight
	}
	if from > end {
		log.Info("store is already at the tip", "height", from-1)
		return res, nil
	}
	stream, err := chain.Blocks(ctx, from, nil)
	if err != nil {
		return res, err
	}
	defer stream.Close()
	dctx, cancel := context.WithCancel(ctx)
	blocks := decodePipeline(dctx, stream, cfg.Params, cfg.DecodeWorkers)
	// The pipeline's feeder may still be in stream.Next, reading ahead,
	// when the loop below ends; a Stream is not safe for concurrent use, so
	// stop the feeder and wait for it (it closes blocks on its way out)
	// before stream.Err and the deferred stream.Close.
	stopPipeline := sync.OnceFunc(func() {
		cancel()
		for range blocks {
		}
	})
	defer stopPipeline()
	prog := newProgress(log, cfg.ProgressEvery, chain, from, end)
	t0 := time.Now()
	for p := range blocks {
		if ctx.Err() != nil {
			break
		}
		<-p.done
		if p.err != nil {
			return res, fmt.Errorf("block %d (%s): %w", p.height, p.hash, p.err)
		}
		stats, err := eng.Connect(p.blk)
		if err != nil {
			return res, fmt.Errorf("block %d (%s): %w", p.height, p.hash, err)
		}
		res.Blocks++
		res.Txs += int64(stats.Txs)
		res.Inputs += int64(stats.Inputs)
		res.Outputs += int64(stats.Outputs)
		prog.block(p.height, stats, len(p.raw))
		if p.height >= end {
			break
		}
	}
	res.Elapsed = time.Since(t0)
	stopPipeline()
	if err := stream.Err(); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	prog.final(res)
	return res, nil
}

// resumePoint returns the first height to connect. If the store's tip is
// not on the files' chain (the files hold a different best chain than the
// one imported before), it disconnects back to the fork point first.
func resumePoint(eng *utxo.Engine, store utxo.Store, chain *blkfile.Chain, res *Result, log *slog.Logger) (int32, error) {
	h, hash, ok := eng.Tip()
	if !ok {
		return chain.Start(), nil
	}
	for {
		if ch, found := chain.Hash(h); found && ch == hash {
			if h >= chain.Start() {
				log.Info("resuming", "height", h+1)
			}
			return h + 1, nil
		}
		if _, err := eng.Disconnect(); err != nil {
			return 0, fmt.Errorf("importer: the store's tip %d (%s) is not on the files' best chain, and disconnecting failed: %w",
				h, hash, err)
		}
		res.Disconnected++
		h, hash, _ = eng.Tip()
		log.Warn("disconnected a block not on the files' best chain", "new_tip", h)
	}
}

// pending is a block on its way through the decode pool.
type pending struct {
	height int32
	hash   chainhash.Hash
	raw    []byte
	blk    *utxo.Block
	err    error
	done   chan struct{}
}

// decodePipeline decodes and checks blocks on workers goroutines and hands
// them out in height order. The channel's capacity bounds the read-ahead.
func decodePipeline(ctx context.Context, stream *blkfile.Stream, p *utxo.Params, workers int) <-chan *pending {
	const window = 32
	ordered := make(chan *pending, window)
	jobs := make(chan *pending, window)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.blk, j.err = utxo.DecodeBlock(j.raw)
				if j.err == nil && j.blk.Hash != j.hash {
					j.err = fmt.Errorf("importer: block hashes to %s, indexed as %s", j.blk.Hash, j.hash)
				}
				if j.err == nil {
					j.err = utxo.CheckBlock(j.blk, p, j.height)
				}
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer func() { close(jobs); wg.Wait() }()
		for stream.Next() {
			b := stream.Block()
			j := &pending{height: b.Height, hash: b.Hash, raw: b.Raw, done: make(chan struct{})}
			select {
			case ordered <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ordered
}

// MemoryLimit is the Go runtime memory limit (debug.SetMemoryLimit) that
// suits an import with the given coin-cache budget: the budget, a flush's
// batch and sort buffers (about half the budget at worst), goleveldb's
// block cache and memtables, and the read-ahead pipeline. Without a limit
// the garbage collector lets the heap grow to twice the live data, so a
// 256 MiB cache could take over 2 GiB. Setting the limit is the caller's
// choice (the satnode command does), since it is process-wide.
func MemoryLimit(cacheBytes int64) int64 {
	if cacheBytes == 0 {
		cacheBytes = utxo.DefaultCacheBytes
	}
	return cacheBytes*3/2 + int64(dbCacheFor(cacheBytes)) + 512<<20
}

// dbCacheFor sizes goleveldb's block cache for a coin-cache budget: half
// of it, between 32 and 256 MiB. A small coin cache means more reads from
// the store, and those are only fast when the tables' filters and indexes
// stay cached.
func dbCacheFor(cacheBytes int64) int {
	if cacheBytes == 0 {
		cacheBytes = utxo.DefaultCacheBytes
	}
	return int(min(max(cacheBytes/2, 32<<20), 256<<20))
}

type storeSummary struct {
	height int32
	hash   chainhash.Hash
	totals utxo.SetTotals
	muhash muhash.Digest
}

func summary(s utxo.KVReader) (*storeSummary, error) {
	r := utxo.NewReader(s)
	st, err := r.State()
	if err != nil {
		return nil, err
	}
	rec, err := r.BlockRecord(st.TipHeight)
	if err != nil {
		return nil, err
	}
	return &storeSummary{st.TipHeight, st.TipHash, rec.Totals, muhash.Digest(rec.MuHash)}, nil
}
