package utxo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo/muhash"
)

// SeedBase describes the block a seeded store starts at.
type SeedBase struct {
	// Height of the base block; the next connected block is Height+1.
	Height int32
	// Hash of the base block: it becomes the tip, and the next block must
	// name it as its parent.
	Hash chainhash.Hash
	// Header of the base block, if known; it is stored like any other.
	Header *wire.BlockHeader
	// Times gives the timestamps of the blocks that seeded coins were
	// created in (and of the base, if no header is given), so that spending
	// them counts coin-days destroyed. Coins of heights without a time count
	// as zero age.
	Times map[int32]uint32
}

// SeedCoin is one coin of a snapshot.
type SeedCoin struct {
	Outpoint Outpoint
	Coin     Coin
}

// SeedOptions tune SeedStream. All are optional.
type SeedOptions struct {
	// ExpectedCoins, if positive, is the number of coins the stream holds
	// (the count in the header of Core's snapshot file): a stream that ends
	// with another count is refused before anything is committed. It is
	// kept in the loading marker, so a resumed load must announce the same.
	ExpectedCoins uint64
	// Progress, if set, is called every ProgressEvery coins read, at most
	// once a second more often when Now is given, and once at the end. It
	// runs under the engine's lock and must not call into the engine.
	Progress func(SeedProgress)
	// ProgressEvery is the coin interval of Progress. Default 1<<20.
	ProgressEvery uint64
	// Now reads the clock, for Elapsed and the once-a-second reports. The
	// engine reads no clock of its own; without Now, Elapsed is zero.
	Now func() time.Time
	// BytesRead, if set, reports how many bytes of the snapshot the stream
	// has consumed, for SeedProgress.Bytes.
	BytesRead func() int64
	// Verify, if set, is shown the MuHash digest of the whole set (in
	// Core's display order: muhash.Digest.String) before the last batch is
	// written; an error from it refuses the load, which then never becomes
	// a usable store (the loading marker of earlier chunks stays, or
	// nothing was written). satnode snapshot load --expect-muhash uses it.
	Verify func(digest [32]byte) error
}

// SeedProgress is a progress report of SeedStream.
type SeedProgress struct {
	// Read counts the coins read from the stream by this call, including
	// those skipped because an interrupted earlier load had flushed them:
	// Read/Expected is the position in the stream.
	Read uint64
	// Skipped counts those skipped coins.
	Skipped uint64
	// Coins counts the coins in the set so far, earlier runs included.
	Coins uint64
	// Expected is SeedOptions.ExpectedCoins (0 if unknown).
	Expected uint64
	// Bytes is SeedOptions.BytesRead(), or -1 without it.
	Bytes int64
	// Elapsed is the time since SeedStream was called (zero without Now).
	Elapsed time.Duration
	// Chunks counts the chunks flushed, earlier runs included.
	Chunks uint64
	// Done is set on the last report, once the load is committed.
	Done bool
}

// Seed initializes an empty store with a UTXO snapshot at base, instead of
// connecting from genesis. The MuHash, totals and script-hash index are
// computed from the coins. Cumulative amounts that depend on history Core
// would know (subsidy, unspendables) start from zero at the base.
//
// Coins may come in any order; they must be spendable (not
// IsUnspendable), created at or below the base height, and distinct. Seed
// is SeedStream over the coins sorted, and writes the same store.
func (e *Engine) Seed(base SeedBase, coins []SeedCoin) error {
	order := make([]int, len(coins))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return CompareCoreOrder(&coins[a].Outpoint, &coins[b].Outpoint) })
	i := 0
	next := func() (SeedCoin, error) {
		if i == len(order) {
			return SeedCoin{}, io.EOF
		}
		i++
		return coins[order[i-1]], nil
	}
	return e.SeedStream(base, next, SeedOptions{})
}

// SeedStream initializes an empty store with the UTXO snapshot next
// returns coin by coin until io.EOF, in the order of Bitcoin Core's
// snapshot files and of the coins table: by txid, then by the bytes of
// VARINT(vout) (CompareCoreOrder; numeric below vout 16,512). It is Seed for sets that do not fit in
// memory: the engine holds at most its cache budget (Config.CacheBytes) of
// coins and script-hash counters, flushing them in chunks, each one atomic
// batch, while the MuHash is computed on the hasher goroutine. The store
// it writes is byte for byte the one Seed writes for the same coins,
// whatever the budget, and it flushes even with Config.ManualFlush.
//
// Every chunk's batch carries a loading marker (LoadState) with the last
// coin flushed, the running totals and the MuHash accumulator. A load that
// stops half way, by an error from next, a failed flush or a crash, leaves
// a store that Open refuses with ErrLoadIncomplete. Reopened with
// Config.ResumeLoad, SeedStream with the same base and the same stream
// skips the coins already flushed and finishes the load, with the same
// result as a load never interrupted. The final batch writes the base's
// records and the tip and deletes the marker.
//
// Coins are refused (ErrBadSnapshot) if they are unspendable, above the
// base height, out of order or repeated, or total more than 21M BTC. After
// any error the engine stops: reopen the store to resume or start over.
// next may reuse the memory of the coin it returned (the engine copies
// what it keeps); it is called under the engine's lock and must not call
// into the engine.
func (e *Engine) SeedStream(base SeedBase, next func() (SeedCoin, error), opts SeedOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.failed != nil {
		return fmt.Errorf("utxo: engine stopped after an earlier failure: %w", e.failed)
	}
	if e.state.HasTip || len(e.cache.m) != 0 {
		return ErrNotEmpty
	}
	if base.Height < 0 {
		return fmt.Errorf("utxo: negative seed height")
	}
	if base.Header != nil && base.Header.BlockHash() != base.Hash {
		return fmt.Errorf("utxo: seed header does not hash to %s", base.Hash)
	}
	l := &seedLoad{e: e, base: base, opts: opts}
	if opts.Now != nil {
		l.start = opts.Now()
		l.lastReport = l.start
	}
	if l.opts.ProgressEvery == 0 {
		l.opts.ProgressEvery = 1 << 20
	}
	if ld := e.loading; ld != nil {
		if ld.BaseHeight != base.Height || ld.BaseHash != base.Hash || ld.ExpectedCoins != opts.ExpectedCoins {
			return fmt.Errorf("%w: the interrupted load is of %d coins at height %d (%s), this one of %d at %d (%s)",
				ErrBadSnapshot, ld.ExpectedCoins, ld.BaseHeight, ld.BaseHash, opts.ExpectedCoins, base.Height, base.Hash)
		}
		l.resumed = true
	} else {
		e.loading = &LoadState{Network: e.params.Name, BaseHeight: base.Height, BaseHash: base.Hash,
			ExpectedCoins: opts.ExpectedCoins}
	}
	err := l.run(next)
	if err != nil && e.failed == nil {
		// The cache holds coins of an unfinished chunk: nothing may flush
		// them, and the store keeps the marker of the last chunk.
		e.failed = fmt.Errorf("seed: %w", err)
	}
	return err
}

// seedLoad is one SeedStream call.
type seedLoad struct {
	e       *Engine
	base    SeedBase
	opts    SeedOptions
	resumed bool

	t       SetTotals
	job     *hashJob
	txSlots []int32 // counter slots of the coins of the current txid
	read    uint64
	skipped uint64

	start, lastReport time.Time
	reportedAt        uint64
	chunksDone        uint64 // the chunk count, once the marker is gone
}

// hashJobBytes sizes the MuHash jobs: small enough that the queue of jobs
// waiting for the hasher (64 of them) stays within an eighth of the cache
// budget, large enough to cost little to hand over.
func (l *seedLoad) hashJobBytes() int {
	return int(max(8<<10, min(1<<20, l.e.cfg.CacheBytes/512)))
}

func (l *seedLoad) run(next func() (SeedCoin, error)) error {
	e, ld := l.e, l.e.loading
	l.t = SetTotals{TxOuts: ld.Coins, BogoSize: ld.BogoSize, TotalAmount: ld.Amount}
	l.job = &hashJob{}
	jobBytes := l.hashJobBytes()
	prev, havePrev := ld.Last, ld.Coins > 0
	skipping := l.resumed && havePrev
	for {
		sc, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("utxo: reading the snapshot: %w", err)
		}
		l.read++
		op, c := &sc.Outpoint, &sc.Coin
		if skipping {
			if CompareCoreOrder(op, &ld.Last) <= 0 {
				l.skipped++
				l.progress(false)
				continue
			}
			// Chunks end at transaction boundaries: a later output of the
			// last flushed transaction means another stream.
			if op.Hash == ld.Last.Hash {
				return fmt.Errorf("%w: coin %s follows %s, which ended a flushed chunk: not the stream the load started with",
					ErrBadSnapshot, op, ld.Last)
			}
			skipping = false
		}
		if havePrev {
			switch c := CompareCoreOrder(op, &prev); {
			case c == 0:
				return fmt.Errorf("%w: coin %s appears twice", ErrBadSnapshot, op)
			case c < 0:
				return fmt.Errorf("%w: coin %s comes after %s, out of the coins table's (txid, VARINT(vout)) order", ErrBadSnapshot, op, prev)
			}
		}
		if IsUnspendable(c.Script) || c.Value < 0 || c.Value > MaxMoney || c.Height < 0 || c.Height > l.base.Height {
			return fmt.Errorf("%w: coin %s is unspendable or out of range", ErrBadSnapshot, op)
		}
		if havePrev && op.Hash != prev.Hash {
			// prev's transaction is complete: count it, and flush if the
			// budget is spent. Chunks end only here, so no transaction is
			// split between two chunks (and between two runs of a resumed
			// load), and its tx count needs no memory of earlier chunks.
			l.countTx()
			if e.memBytes() > e.cfg.CacheBytes {
				if err := l.flushChunk(prev); err != nil {
					return err
				}
			}
		}
		e.cache.add(op, c)
		l.job.add.appendCoin(op, c)
		if len(l.job.add.data) >= jobBytes {
			e.hasher.submit(l.job)
			l.job = &hashJob{}
		}
		sh := scriptHash(c.Script)
		slot, err := e.loadAcct(&sh)
		if err != nil {
			return err
		}
		e.accts.fund(slot, c.Value, 1)
		l.txSlots = append(l.txSlots, slot)
		t := &l.t
		t.TxOuts++
		t.TotalAmount += c.Value
		t.BogoSize += bogoSize(len(c.Script))
		if t.TotalAmount > MaxMoney {
			return fmt.Errorf("%w: coins total more than 21M BTC", ErrBadSnapshot)
		}
		prev, havePrev = *op, true
		l.progress(false)
	}
	if skipping {
		return fmt.Errorf("%w: the stream ended at or before %s, the last coin an earlier run loaded",
			ErrBadSnapshot, ld.Last)
	}
	l.countTx()
	if n := ld.ExpectedCoins; n > 0 && l.t.TxOuts != n {
		return fmt.Errorf("%w: %d coins, the snapshot announced %d", ErrBadSnapshot, l.t.TxOuts, n)
	}
	if err := l.finish(); err != nil {
		return err
	}
	l.progress(true)
	return nil
}

// countTx adds one to the transaction count of each distinct script hash
// the coins of the current txid pay, as Connect counts a transaction.
func (l *seedLoad) countTx() {
	s := l.txSlots
	if len(s) > 1 {
		// Sorting beats countTx's pairwise scan for the transactions with
		// thousands of unspent outputs.
		slices.Sort(s)
		s = slices.Compact(s)
	}
	for _, i := range s {
		ent := &l.e.accts.list[i]
		ent.s.TxCount++
		ent.dirty = true
	}
	l.txSlots = l.txSlots[:0]
}

// flushChunk writes the coins and counters so far, with the loading
// marker naming last as the last coin on disk.
func (l *seedLoad) flushChunk(last Outpoint) error {
	e, ld := l.e, l.e.loading
	if len(l.job.add.ends) > 0 {
		e.hasher.submit(l.job)
		l.job = &hashJob{}
	}
	ld.Chunks++
	ld.Last = last
	ld.Coins, ld.BogoSize, ld.Amount = l.t.TxOuts, l.t.BogoSize, l.t.TotalAmount
	// fillBatch writes the marker with the accumulator once the hasher has
	// caught up, and afterFlush empties the caches (see there).
	return e.flush(0, nil)
}

// finish writes what Seed writes for the base block, the state naming it
// the tip, and deletes the marker, in the last batch.
func (l *seedLoad) finish() error {
	e, base := l.e, l.base
	hash := base.Hash
	rec := &BlockRecord{Hash: hash, Totals: l.t}
	rec.Stats = BlockStats{Height: base.Height, Hash: hash}
	for h, ts := range base.Times {
		if h <= base.Height && (h < base.Height || base.Header == nil) {
			e.put(heightKey(tagTime, h), binary.BigEndian.AppendUint32(nil, ts))
		}
	}
	if base.Header != nil {
		var hb bytes.Buffer
		_ = base.Header.Serialize(&hb)
		e.put(heightKey(tagHeader, base.Height), hb.Bytes())
		rec.Stats.Time = uint32(base.Header.Timestamp.Unix())
	}
	e.put(hashHeightKey(&hash), binary.BigEndian.AppendUint32(nil, uint32(base.Height)))
	e.setRecord(base.Height, rec)
	// The last job carries the record, which receives the digest of the
	// whole set: the hasher applies jobs in order.
	l.job.rec = rec
	e.hasher.submit(l.job)
	e.totals = l.t
	e.state.HasTip, e.state.TipHeight, e.state.TipHash, e.state.BaseHeight = true, base.Height, hash, base.Height
	// The coinbases below the base are unknown: keep the BIP30 lookups.
	e.state.NonBIP34Height = max(base.Height, 1)
	if l.opts.Verify != nil {
		if err := e.hasher.wait(); err != nil {
			return err
		}
		acc := e.hasher.current()
		if err := l.opts.Verify(muhash.DigestOf(&acc)); err != nil {
			return err
		}
	}
	// A marker is on disk once a chunk was flushed, by this run or one
	// before it.
	if l.chunksDone = e.loading.Chunks; l.chunksDone > 0 {
		e.del(loadKey())
	}
	e.loading = nil
	return e.flush(0, nil)
}

// progress calls the progress callback when it is due.
func (l *seedLoad) progress(done bool) {
	o := &l.opts
	if o.Progress == nil {
		return
	}
	var now time.Time
	due := done || l.read-l.reportedAt >= o.ProgressEvery
	if !due && o.Now != nil && l.read%4096 == 0 {
		now = o.Now()
		due = now.Sub(l.lastReport) >= time.Second
	}
	if !due {
		return
	}
	if o.Now != nil && now.IsZero() {
		now = o.Now()
	}
	p := SeedProgress{Read: l.read, Skipped: l.skipped, Coins: l.t.TxOuts, Expected: o.ExpectedCoins,
		Bytes: -1, Chunks: l.chunks(), Done: done}
	if o.BytesRead != nil {
		p.Bytes = o.BytesRead()
	}
	if o.Now != nil {
		p.Elapsed = now.Sub(l.start)
		l.lastReport = now
	}
	l.reportedAt = l.read
	o.Progress(p)
}

func (l *seedLoad) chunks() uint64 {
	if ld := l.e.loading; ld != nil {
		return ld.Chunks
	}
	return l.chunksDone
}
