package utxo

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// Flush writes every change since the last flush to the store in one
// atomic, synced batch: coins, script-hash index and counters, headers,
// undo and block records, and the state record (the consistency marker).
// A process killed at any instant therefore restarts at the last flushed
// tip, with a store that is consistent by construction.
func (e *Engine) Flush() error { return e.FlushWith(0, nil) }

// FlushWith flushes like Flush and, in the same atomic update, writes the
// records extra puts in its batch: the consensus layer commits its own
// state (headers, staking) and the UTXO set as one, so after a crash they
// never disagree. extraHint bounds extra's bytes from above (see
// Store.Update). extra's keys must not be ReservedKey ones. If extra
// returns an error, nothing is written and the engine stops (the error is
// returned from then on), as after any failed flush. With nothing
// connected since the last flush, only extra's records are written.
func (e *Engine) FlushWith(extraHint int, extra func(Batch) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return err
	}
	return e.flush(extraHint, extra)
}

// ReservedKey reports whether key belongs to the engine's tables: every key
// whose first byte is a lower-case ASCII letter (and the empty key).
func ReservedKey(key []byte) bool {
	return len(key) == 0 || (key[0] >= 'a' && key[0] <= 'z')
}

// maybeFlush flushes when the memory budget or the flush interval says so.
func (e *Engine) maybeFlush() error {
	if e.cfg.ManualFlush {
		return nil
	}
	if e.memBytes() > e.cfg.CacheBytes || (e.cfg.FlushInterval > 0 && e.sinceFlush >= e.cfg.FlushInterval) {
		return e.flush(0, nil)
	}
	return nil
}

func (e *Engine) flush(extraHint int, extra func(Batch) error) error {
	// Nothing was ever connected (so nothing was hashed either): leave an
	// empty store empty, apart from the caller's records.
	engine := e.state.HasTip || len(e.cache.m) > 0 || len(e.overlay) > 0
	if !engine && extra == nil {
		return nil
	}
	hint := extraHint
	if engine {
		hint += e.batchSizeHint()
	}
	err := e.db.Update(hint, true, func(b Batch) error {
		if engine {
			if err := e.fillBatch(b); err != nil {
				return err
			}
		}
		if extra == nil {
			return nil
		}
		g := &guardBatch{Batch: b}
		if err := extra(g); err != nil {
			return err
		}
		return g.err
	})
	written := e.treeWritten
	e.treeWritten = nil
	if err != nil {
		e.failed = fmt.Errorf("flush: %w", err)
		return e.failed
	}
	if written != nil {
		e.treeTop.written(written)
	}
	e.afterFlush()
	return nil
}

// guardBatch refuses the engine's keys to FlushWith's caller: a stray
// write into a UTXO table would corrupt the set without any check
// noticing until a MuHash mismatch much later.
type guardBatch struct {
	Batch
	err error
}

func (g *guardBatch) Put(k, v []byte) {
	if g.check(k) {
		g.Batch.Put(k, v)
	}
}

func (g *guardBatch) Delete(k []byte) {
	if g.check(k) {
		g.Batch.Delete(k)
	}
}

func (g *guardBatch) check(k []byte) bool {
	if ReservedKey(k) {
		if g.err == nil {
			g.err = fmt.Errorf("%w: %q", ErrReservedKey, k)
		}
		return false
	}
	return true
}

// fillBatch puts every pending change into batch.
//
// The large tables go first, in ascending key order: goleveldb inserts
// records into a skiplist one at a time, and sorted input keeps each
// insertion's search path in cache, about four times faster than random
// order for a multi-million-record flush. They do not depend on MuHash,
// so they are written while the hasher finishes the last blocks; only the
// small tables, whose block records and state carry digests, wait for it.
func (e *Engine) fillBatch(batch Batch) error {
	// 'a' (script-hash counters), 'c' (coins), 's' (script-hash index).
	// Collecting and sorting the dirty coins, then encoding their index
	// records, runs on another goroutine while the counters and then the
	// coins are written: all of it only reads the caches.
	dirtyc := make(chan []dirtyCoin, 1)
	index := make(chan []byte, 1)
	tree := make(chan treeResult, 1)
	go func() {
		dirty := e.dirtyCoins()
		dirtyc <- dirty
		// The tree's changes are the dirty coins too; it reads the store
		// (never the batch) while the counters and coins are written.
		go func() { tree <- e.flushTree(dirty) }()
		index <- e.encodeIndex(dirty)
	}()
	e.putAccts(batch)
	e.putCoins(batch, <-dirtyc)
	putEncoded(batch, <-index)
	if tr := <-tree; tr.err != nil {
		return tr.err
	} else if tr.t != nil {
		tr.t.writes.put(batch)
		e.treeWritten = tr.t.writes
		e.state.TreeRoot, e.state.TreeCount = tr.t.root, tr.t.count
	}

	if err := e.hasher.wait(); err != nil {
		return err
	}
	// The small tables (headers, hashes, records, undo, times, state) are
	// few enough to sort as byte strings.
	small := make([]kv, 0, len(e.overlay)+len(e.pendingRecs)+1)
	for k, v := range e.overlay {
		small = append(small, kv{[]byte(k), v.v, v.del})
	}
	for h, r := range e.pendingRecs {
		small = append(small, kv{heightKey(tagBlock, h), r.encode(), false})
	}
	acc := e.hasher.current()
	if ld := e.loading; ld != nil {
		// A chunk of a snapshot load: no state record (there is no tip
		// yet), the loading marker instead.
		ld.MuHash = acc.Bytes()
		small = append(small, kv{loadKey(), ld.encode(), false})
	} else {
		e.state.MuHash = acc.Bytes()
		small = append(small, kv{stateKey(), e.state.encode(), false})
	}
	slices.SortFunc(small, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, r := range small {
		if r.del {
			batch.Delete(r.k)
		} else {
			batch.Put(r.k, r.v)
		}
	}
	return nil
}

type kv struct {
	k, v []byte
	del  bool
}

// dirtyCoin is a cache entry to write at a flush.
type dirtyCoin struct {
	op  Outpoint
	ent cacheEntry
}

// dirtyCoins returns the dirty cache entries in coin-key order: txid bytes,
// then index (VARINT preserves numeric order).
func (e *Engine) dirtyCoins() []dirtyCoin {
	out := make([]dirtyCoin, 0, len(e.cache.m))
	for op, ent := range e.cache.m {
		if ent.flags&flagDirty != 0 {
			out = append(out, dirtyCoin{op, ent})
		}
	}
	refs := make([]prefixRef, len(out))
	for i := range out {
		refs[i] = prefixRef{binary.BigEndian.Uint64(out[i].op.Hash[:8]), uint32(i)}
	}
	sortByPrefix(refs)
	sortRuns(refs, func(a, b uint32) bool { return cmpOutpoint(out[a].op, out[b].op) < 0 })
	sorted := make([]dirtyCoin, len(out))
	for i, r := range refs {
		sorted[i] = out[r.i]
	}
	return sorted
}

// cmpOutpoint orders outpoints as their coin keys sort.
func cmpOutpoint(a, b Outpoint) int {
	if c := bytes.Compare(a.Hash[:], b.Hash[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

func (e *Engine) putCoins(batch Batch, dirty []dirtyCoin) {
	var kb, vb []byte
	for i := range dirty {
		d := &dirty[i]
		kb = appendCoinKey(kb[:0], &d.op)
		if d.ent.flags&flagSpent != 0 {
			batch.Delete(kb)
			continue
		}
		c := e.cache.coin(&d.ent)
		vb = appendCoin(vb[:0], &c)
		batch.Put(kb, vb)
	}
}

// encodeIndex prepares the script-hash index changes of the dirty coins,
// in key order: an entry for each unspent one, a delete for each spent
// one. Records are flag ‖ key length ‖ key ‖ value length ‖ value.
func (e *Engine) encodeIndex(dirty []dirtyCoin) []byte {
	shs := make([][32]byte, len(dirty))
	refs := make([]prefixRef, len(dirty))
	for i := range dirty {
		shs[i] = sha256.Sum256(e.cache.script(&dirty[i].ent))
		refs[i] = prefixRef{binary.BigEndian.Uint64(shs[i][:8]), uint32(i)}
	}
	sortByPrefix(refs)
	sortRuns(refs, func(a, b uint32) bool {
		if c := bytes.Compare(shs[a][:], shs[b][:]); c != 0 {
			return c < 0
		}
		return cmpOutpoint(dirty[a].op, dirty[b].op) < 0
	})
	out := make([]byte, 0, len(dirty)*(3+2+32+32+5+14))
	var kb []byte
	for _, r := range refs {
		d := &dirty[r.i]
		kb = appendAddrUTXOKey(kb[:0], &shs[r.i], &d.op)
		if d.ent.flags&flagSpent != 0 {
			out = append(out, 1, byte(len(kb)))
			out = append(out, kb...)
			out = append(out, 0)
			continue
		}
		c := e.cache.coin(&d.ent)
		v := addrUTXOValue(&c)
		out = append(out, 0, byte(len(kb)))
		out = append(out, kb...)
		out = append(out, byte(len(v)))
		out = append(out, v...)
	}
	return out
}

// putEncoded adds records prepared by encodeIndex to batch.
func putEncoded(batch Batch, recs []byte) {
	eachEncoded(recs, func(del bool, k, v []byte) {
		if del {
			batch.Delete(k)
		} else {
			batch.Put(k, v)
		}
	})
}

// eachEncoded calls fn for each record of recs (encodeIndex's format).
func eachEncoded(recs []byte, fn func(del bool, k, v []byte)) {
	for len(recs) > 0 {
		del, kl := recs[0] == 1, int(recs[1])
		k := recs[2 : 2+kl]
		vl := int(recs[2+kl])
		v := recs[3+kl : 3+kl+vl]
		recs = recs[3+kl+vl:]
		fn(del, k, v)
	}
}

func (e *Engine) putAccts(batch Batch) {
	list := e.accts.list
	var refs []prefixRef
	for i := range list {
		if list[i].dirty {
			refs = append(refs, prefixRef{binary.BigEndian.Uint64(list[i].sh[:8]), uint32(i)})
		}
	}
	sortByPrefix(refs)
	sortRuns(refs, func(a, b uint32) bool { return bytes.Compare(list[a].sh[:], list[b].sh[:]) < 0 })
	for _, r := range refs {
		ent := &list[r.i]
		if ent.s.FundedCount == 0 {
			// Nothing left that a reorg could have created: the key goes,
			// so a connect then disconnect leaves no trace.
			batch.Delete(addrStatsKey(&ent.sh))
		} else {
			batch.Put(addrStatsKey(&ent.sh), ent.s.encode())
		}
	}
}

// batchSizeHint bounds the bytes of the next flush's batch from above, so
// the store can allocate it once. Each record costs its key and value plus
// a type byte and two length varints.
func (e *Engine) batchSizeHint() int {
	const rec = 1 + 2*5
	const coinKey = 2 + 32 + 5
	const addrKey = 2 + 32 + 32 + 5
	n, dirty := 0, 0
	for _, ent := range e.cache.m {
		if ent.flags&flagDirty == 0 {
			continue
		}
		// Coin value: height ≤ 5 bytes, amount ≤ 9, script kind ≤ 2, plus
		// the script; index value: height and amount, ≤ 14.
		n += 2*rec + coinKey + addrKey + 20 + int(ent.slen) + 15
		dirty++
	}
	n += e.treeHint(dirty)
	for i := range e.accts.list {
		if e.accts.list[i].dirty {
			n += rec + 2 + 32 + 5*10
		}
	}
	for k, v := range e.overlay {
		n += rec + len(k) + len(v.v)
	}
	n += len(e.pendingRecs)*(rec+6+256) + rec + 1024
	return n
}

// afterFlush marks everything clean and, when the caches hold more than
// the budget allows between flushes, evicts the oldest entries.
func (e *Engine) afterFlush() {
	e.tree = nil
	clear(e.overlay)
	e.overlayBytes = 0
	clear(e.pendingRecs)
	e.sinceFlush = 0
	if e.loading != nil {
		// A chunk of a snapshot load: nothing will spend the coins before
		// the load ends, and the counters are read back from the store when
		// a later chunk pays the same script, so keeping either would only
		// shrink the next chunks. The map and arena are reused.
		e.cache.reset()
		e.accts.reset()
		return
	}
	for op, ent := range e.cache.m {
		switch {
		case ent.flags&flagSpent != 0:
			delete(e.cache.m, op)
		case ent.flags != 0:
			ent.flags = 0
			e.cache.m[op] = ent
		}
	}
	e.accts.clean()
	if e.memBytes() > e.cfg.CacheBytes*7/10 {
		e.evict(e.cfg.CacheBytes / 2)
	}
}

// evict keeps the most recent cache entries that fit in target bytes and
// drops the rest: coins by creation height, script-hash counters by the
// height that last touched them. Most spends are of recent outputs, so
// recent coins are the ones worth keeping. The coin arena is rebuilt from
// the kept entries, which reclaims the space of everything dropped.
func (e *Engine) evict(target int64) {
	byHeight := map[int32]int64{}
	for _, ent := range e.cache.m {
		byHeight[ent.height] += entryOverhead + int64(ent.slen)
	}
	for i := range e.accts.list {
		byHeight[e.accts.list[i].touched] += acctEntryBytes
	}
	heights := make([]int32, 0, len(byHeight))
	for h := range byHeight {
		heights = append(heights, h)
	}
	slices.Sort(heights)
	keepFrom := int32(1<<31 - 1)
	var sum int64
	for i := len(heights) - 1; i >= 0; i-- {
		if sum+byHeight[heights[i]] > target {
			break
		}
		sum += byHeight[heights[i]]
		keepFrom = heights[i]
	}
	old := e.cache
	e.cache = newCoinCache()
	for op, ent := range old.m {
		if ent.height >= keepFrom {
			c := old.coin(&ent)
			e.cache.insertClean(&op, &c)
		}
	}
	e.accts.keep(keepFrom)
}

// addrUTXOValue is the value of a script-hash index entry:
// VARINT(height*2+coinbase) ‖ VARINT(CompressAmount(value)).
func addrUTXOValue(c *Coin) []byte {
	v := putVLQ(make([]byte, 0, 12), heightCode(c.Height, c.Coinbase))
	return putVLQ(v, compressAmount(uint64(c.Value)))
}

// Close flushes (unless Config.ManualFlush) and stops the engine. The
// store stays open: whoever opened it closes it.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	var err error
	// An unfinished snapshot load keeps its last chunk's marker: flushing
	// would write coins of a transaction not yet complete.
	if e.failed == nil && !e.cfg.ManualFlush && e.loading == nil {
		err = e.flush(0, nil)
	}
	e.closed = true
	e.hasher.stop()
	return err
}
