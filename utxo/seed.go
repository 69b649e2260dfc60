package utxo

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
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
	// Progress, if set, is called every ProgressEvery coins read (in the
	// index phase, index entries written, after one report as it begins),
	// at most once a second more often when Now is given, and once at the
	// end. It runs under the engine's lock and must not call into the
	// engine.
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
	// Core's display order: muhash.Digest.String) once every coin is on
	// disk, before the index is built; an error from it refuses the load,
	// which then never becomes a usable store (the loading marker stays).
	// A load resumed in its index phase shows it the digest again.
	// satnode snapshot load --expect-muhash uses it.
	Verify func(digest [32]byte) error
	// TempDir, if set, is a directory the load may own (it is emptied
	// first and removed at the end) for the sorted runs of script-hash
	// index entries, about 85 bytes per coin at their largest. Without
	// it the runs stay in memory, outside the cache budget: for tests
	// and small sets only.
	TempDir string
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
	// Phase is LoadCoins while coins are read, then LoadIndex while the
	// script-hash index is built; Indexed counts the index entries written
	// so far, earlier runs included, of Coins in all.
	Phase   LoadPhase
	Indexed uint64
	// IndexSkipped counts the index entries an interrupted earlier run
	// wrote; IndexElapsed is the time since this call's index phase began
	// (zero before it, and without Now).
	IndexSkipped uint64
	IndexElapsed time.Duration
	// TreeLeaves counts the UTXO tree's leaves written in the tree phase
	// (LoadTree), of Coins in all; TreeElapsed is the time since it began.
	TreeLeaves  uint64
	TreeElapsed time.Duration
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
// VARINT(vout) (CompareCoreOrder; numeric below vout 16,512). It is Seed
// for sets that do not fit in memory. The store it writes is byte for byte
// the one Seed writes for the same coins, whatever the budget, and it
// flushes even with Config.ManualFlush.
//
// A load has two phases (seedindex.go says why). In the coins phase the
// coins go to the coins table in chunks of about the cache budget
// (Config.CacheBytes), each one atomic update, while the MuHash is
// computed on the hasher goroutine and each chunk's script-hash index
// entries are sorted into a run. In the index phase the runs are merged
// and the index and counters written in key order, again in atomic
// updates of about the budget.
//
// A loading marker (LoadState) is on disk before the first coin and until
// the last update. It is updated after each chunk (with the last coin,
// the totals and the MuHash accumulator of the coins flushed) and after
// each index update (with the last script hash indexed). Between a chunk
// and its marker the store holds more than the marker says: what is past
// the marker is removed or rewritten, identically, on resume. A load that
// stops half way, by an error from next, a failed update or a crash,
// leaves a store that Open refuses with ErrLoadIncomplete. Reopened with
// Config.ResumeLoad, SeedStream with the same base and the same stream
// rebuilds the runs from the coins on disk, skips the coins already
// flushed and finishes the load, with the same result as a load never
// interrupted. The final batch writes the base's records and the tip and
// deletes the marker.
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
		// The marker is written before the first chunk: its accumulator
		// is the empty set's, which a resume starts from.
		acc := e.hasher.current()
		e.loading = &LoadState{Network: e.params.Name, BaseHeight: base.Height, BaseHash: base.Hash,
			ExpectedCoins: opts.ExpectedCoins, Phase: LoadCoins, MuHash: acc.Bytes()}
	}
	err := l.run(next)
	if err != nil && e.failed == nil {
		// The store keeps the marker of the last update: only a resume
		// (which reopens the store) may go on from it.
		e.failed = fmt.Errorf("seed: %w", err)
	}
	return err
}
