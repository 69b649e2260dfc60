package utxo

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo/muhash"
)

// Config configures an Engine.
type Config struct {
	// Params are the network's consensus parameters. Required.
	Params *Params
	// CacheBytes is the memory budget of the coin and script-hash caches
	// and of the writes waiting for a flush. When it is exceeded the engine
	// flushes and drops its clean entries. A snapshot load (SeedStream)
	// flushes a chunk each time it is exceeded. Default 256 MiB.
	CacheBytes int64
	// FlushInterval, if positive, flushes at least every that many
	// connected blocks, bounding the work a crash can lose. Zero flushes
	// only when the cache is full or on Flush/Close.
	FlushInterval int
	// UndoDepth, if positive, keeps undo records only for that many most
	// recent blocks; Disconnect cannot go deeper. Zero keeps them all.
	UndoDepth int32
	// ValidateScripts runs every input script through btcd's txscript.
	// Off by default: the engine trusts the consensus layer's endorsement.
	ValidateScripts bool
	// ManualFlush makes the engine write only when told: by Flush or
	// FlushWith, never because the cache is full or the interval passed,
	// and Close discards what was not flushed. The consensus layer sets it
	// so that the set on disk is always the one of its last commit. The
	// cache budget then only bounds what is kept after a flush.
	ManualFlush bool
	// OnBlock, if set, is called after each block is connected or
	// disconnected, with what it did coin by coin. It runs under the
	// engine's lock and must not call back into the engine; the change is
	// the caller's to keep.
	OnBlock func(*BlockChange)
	// Workers bounds the goroutines used for MuHash and script checks.
	// Default GOMAXPROCS.
	Workers int
	// NoTree makes a new store keep no UTXO tree (tree.go): cheaper to
	// build, but TreeRoot and coin proofs answer ErrNoTree. An existing
	// store keeps what it was created with. For measuring the tree's cost.
	NoTree bool
	// ResumeLoad lets Open accept a store whose snapshot load was
	// interrupted (it holds a loading marker; see SeedStream), so that
	// SeedStream can finish it. Until it does, everything else refuses
	// with ErrLoadIncomplete. Without it, Open refuses such a store.
	ResumeLoad bool
}

// DefaultCacheBytes is the default coin cache budget.
const DefaultCacheBytes = 256 << 20

func (c *Config) validate() error {
	if err := c.Params.validate(); err != nil {
		return err
	}
	if c.CacheBytes < 0 || c.FlushInterval < 0 || c.UndoDepth < 0 || c.Workers < 0 {
		return fmt.Errorf("utxo: negative cache budget, flush interval, undo depth or worker count")
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	return nil
}

// Engine is the UTXO set of one chain, connected block by block. It is safe
// for use by several goroutines; connecting is serialized.
type Engine struct {
	mu     sync.Mutex
	cfg    Config
	params *Params
	db     Store
	closed bool
	// failed is set when an I/O error leaves the in-memory state unusable;
	// nothing half-applied is ever flushed after it.
	failed error

	state  State     // tip and base; State.MuHash is refreshed at flush
	totals SetTotals // totals at the tip
	hasher *hasher
	// loading is the marker of a snapshot load under way or interrupted:
	// flushes write it instead of the state record.
	loading *LoadState

	cache coinCache
	accts acctCache
	// overlay holds writes to the small tables (headers, block hashes, undo
	// and block records, times) until the flush, so reads see them first.
	overlay      map[string]overlayVal
	overlayBytes int64
	// pendingRecs are the block records not yet flushed; their MuHash is
	// filled in by the hasher.
	pendingRecs map[int32]*BlockRecord
	sinceFlush  int

	times     map[int32]uint32 // creation-time cache for coin-days destroyed
	bip34Hash *chainhash.Hash  // hash at Params.BIP34Height, once known

	cx connectScratch
	// tree is the UTXO tree after the unflushed changes, as TreeRoot last
	// computed it (nil: not computed since the flush).
	tree *treeUpdate
	// treeTop is the tree's upper levels in memory; treeWritten the tree
	// writes of the flush under way, applied to it once they are stored.
	treeTop     *treeTop
	treeWritten *encodedWrites

	// Coin lookups answered by the cache and by the store, for metrics;
	// atomic so CacheStats needs no lock while a block connects.
	cacheHits, cacheMisses atomic.Uint64
}

// CacheStats returns how many coin lookups the cache answered and how many
// went to the store, since the engine was opened.
func (e *Engine) CacheStats() (hits, misses uint64) {
	return e.cacheHits.Load(), e.cacheMisses.Load()
}

type overlayVal struct {
	v   []byte
	del bool
}

// Open opens the engine on a store, creating an empty set if the store is
// empty. It verifies the consistency marker: the stored tip, its block
// record and the MuHash accumulator must agree. A store with an
// interrupted snapshot load is refused with ErrLoadIncomplete, unless
// cfg.ResumeLoad.
func Open(db Store, cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, params: cfg.Params, db: db,
		cache: newCoinCache(), accts: newAcctCache(),
		overlay: make(map[string]overlayVal), pendingRecs: make(map[int32]*BlockRecord),
		times: make(map[int32]uint32), treeTop: newTreeTop(),
	}
	raw, err := db.Get(stateKey())
	state := muhash.One()
	ld, lerr := readLoadState(db)
	switch {
	case lerr != nil:
		return nil, lerr
	case ld != nil && err == nil:
		// The batch that writes the first state record deletes the marker.
		return nil, corruptf("store has both a state record and a loading marker")
	case ld != nil:
		if ld.Network != cfg.Params.Name {
			return nil, fmt.Errorf("%w: store is %s, engine configured for %s", ErrWrongNetwork, ld.Network, cfg.Params.Name)
		}
		if !cfg.ResumeLoad {
			return nil, ld.incomplete()
		}
		if err := state.SetBytes(&ld.MuHash); err != nil {
			return nil, corruptf("loading marker's muhash accumulator: %v", err)
		}
		e.state = State{Network: cfg.Params.Name, Tree: !cfg.NoTree}
		e.loading = ld
	case errors.Is(err, ErrNotFound):
		e.state = State{Network: cfg.Params.Name, Tree: !cfg.NoTree}
	case err != nil:
		return nil, err
	default:
		st, err := decodeState(raw)
		if err != nil {
			return nil, err
		}
		if st.Network != cfg.Params.Name {
			return nil, fmt.Errorf("%w: store is %s, engine configured for %s", ErrWrongNetwork, st.Network, cfg.Params.Name)
		}
		if err := state.SetBytes(&st.MuHash); err != nil {
			return nil, corruptf("muhash accumulator: %v", err)
		}
		e.state = *st
		if st.HasTip {
			if err := e.checkConsistency(&state); err != nil {
				return nil, err
			}
		}
	}
	e.hasher = newHasher(state, cfg.Workers)
	return e, nil
}

// checkConsistency verifies that the tip's block record exists, names the
// tip, and holds the digest of the accumulator.
func (e *Engine) checkConsistency(acc *muhash.Num3072) error {
	h := e.state.TipHeight
	rec, err := e.record(h)
	if err != nil {
		return corruptf("tip %d has no block record: %v", h, err)
	}
	if rec.Hash != e.state.TipHash || muhash.DigestOf(acc) != muhash.Digest(rec.MuHash) {
		return corruptf("tip %d: block record does not match the state", h)
	}
	e.totals = rec.Totals
	return nil
}

// Params returns the engine's network parameters.
func (e *Engine) Params() *Params { return e.params }

// Tip returns the height and hash of the last connected block; ok is false
// for an empty store.
func (e *Engine) Tip() (height int32, hash chainhash.Hash, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.TipHeight, e.state.TipHash, e.state.HasTip
}

// Digest returns the MuHash3072 digest of the set at the tip (Bitcoin
// Core's gettxoutsetinfo muhash, internal byte order), once the hasher has
// caught up with every connected block.
func (e *Engine) Digest() ([32]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return [32]byte{}, err
	}
	if err := e.hasher.wait(); err != nil {
		e.failed = err
		return [32]byte{}, err
	}
	acc := e.hasher.current()
	return muhash.DigestOf(&acc), nil
}

// BaseHeight is the lowest height that can be disconnected to: 0, or the
// height of a seeded snapshot.
func (e *Engine) BaseHeight() int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.BaseHeight
}

// overlay and store reads ------------------------------------------------

func (e *Engine) put(key, val []byte) {
	k := string(key)
	if old, ok := e.overlay[k]; ok {
		e.overlayBytes -= int64(len(old.v))
	} else {
		e.overlayBytes += int64(len(k)) + 48
	}
	e.overlay[k] = overlayVal{v: val}
	e.overlayBytes += int64(len(val))
}

func (e *Engine) del(key []byte) {
	k := string(key)
	if old, ok := e.overlay[k]; ok {
		e.overlayBytes -= int64(len(old.v))
	} else {
		e.overlayBytes += int64(len(k)) + 48
	}
	e.overlay[k] = overlayVal{del: true}
}

func (e *Engine) get(key []byte) ([]byte, error) {
	if v, ok := e.overlay[string(key)]; ok {
		if v.del {
			return nil, ErrNotFound
		}
		return v.v, nil
	}
	return e.db.Get(key)
}

func (e *Engine) header(height int32) (*wire.BlockHeader, error) {
	raw, err := e.get(heightKey(tagHeader, height))
	if err != nil {
		return nil, err
	}
	return decodeHeader(raw)
}

func decodeHeader(raw []byte) (*wire.BlockHeader, error) {
	if len(raw) != wire.MaxBlockHeaderPayload {
		return nil, malformedf("header of %d bytes", len(raw))
	}
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, malformedf("header: %v", err)
	}
	return &h, nil
}

// setRecord makes rec the pending record of height, replacing a pending
// delete of the flushed one (a height disconnected and connected again
// between flushes), so each key is written once per flush.
func (e *Engine) setRecord(height int32, rec *BlockRecord) {
	k := string(heightKey(tagBlock, height))
	if old, ok := e.overlay[k]; ok {
		e.overlayBytes -= int64(len(k)) + 48 + int64(len(old.v))
		delete(e.overlay, k)
	}
	e.pendingRecs[height] = rec
}

// record returns the block record at height, unflushed ones included. The
// MuHash of an unflushed record is only valid after hasher.wait.
func (e *Engine) record(height int32) (*BlockRecord, error) {
	if r, ok := e.pendingRecs[height]; ok {
		return r, nil
	}
	raw, err := e.get(heightKey(tagBlock, height))
	if err != nil {
		return nil, err
	}
	return decodeBlockRecord(height, raw)
}

// blockTime returns the timestamp of the block at height, for coin ages:
// from the header, or from the times seeded with a snapshot. Unknown times
// are reported as not ok.
func (e *Engine) blockTime(height int32) (uint32, bool) {
	if t, ok := e.times[height]; ok {
		return t, true
	}
	var t uint32
	if hdr, err := e.header(height); err == nil {
		t = uint32(hdr.Timestamp.Unix())
	} else if raw, err := e.get(heightKey(tagTime, height)); err == nil && len(raw) == 4 {
		t = uint32(raw[0])<<24 | uint32(raw[1])<<16 | uint32(raw[2])<<8 | uint32(raw[3])
	} else {
		return 0, false
	}
	if len(e.times) > 1<<16 {
		clear(e.times)
	}
	e.times[height] = t
	return t, true
}

// fetchCoin returns the unspent coin at op from the cache or the store,
// caching what it reads. The script aliases the cache arena.
func (e *Engine) fetchCoin(op *Outpoint) (Coin, bool, error) {
	if ent, ok := e.cache.get(op); ok {
		e.cacheHits.Add(1)
		if ent.flags&flagSpent != 0 {
			return Coin{}, false, nil
		}
		return e.cache.coin(&ent), true, nil
	}
	e.cacheMisses.Add(1)
	raw, err := e.db.Get(appendCoinKey(e.cx.keyBuf[:0], op))
	if errors.Is(err, ErrNotFound) {
		return Coin{}, false, nil
	}
	if err != nil {
		return Coin{}, false, err
	}
	c, err := DecodeCoin(raw)
	if err != nil {
		return Coin{}, false, corruptf("coin %s: %v", op, err)
	}
	ent := e.cache.insertClean(op, &c)
	return e.cache.coin(&ent), true, nil
}

// haveCoin reports whether op is unspent, without caching a miss.
func (e *Engine) haveCoin(op *Outpoint) (bool, error) {
	_, ok, err := e.fetchCoin(op)
	return ok, err
}

func scriptHash(script []byte) [32]byte { return sha256.Sum256(script) }

// memBytes estimates the memory held for the next flush and in caches.
func (e *Engine) memBytes() int64 {
	return e.cache.bytes() + e.accts.bytes() + e.overlayBytes + int64(len(e.pendingRecs))*256
}
