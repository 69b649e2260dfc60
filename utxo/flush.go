package utxo

import (
	"crypto/sha256"
	"fmt"
)

// Flush writes every change since the last flush to the store in one
// atomic, synced batch: coins, script-hash index and counters, headers,
// undo and block records, and the state record (the consistency marker).
// A process killed at any instant therefore restarts at the last flushed
// tip, with a store that is consistent by construction.
func (e *Engine) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return err
	}
	return e.flush()
}

// maybeFlush flushes when the memory budget or the flush interval says so.
func (e *Engine) maybeFlush() error {
	if e.memBytes() > e.cfg.CacheBytes || (e.cfg.FlushInterval > 0 && e.sinceFlush >= e.cfg.FlushInterval) {
		return e.flush()
	}
	return nil
}

func (e *Engine) flush() error {
	if err := e.hasher.wait(); err != nil {
		e.failed = err
		return err
	}
	if !e.state.HasTip && len(e.cache.m) == 0 && len(e.overlay) == 0 {
		return nil // nothing was ever connected: leave an empty store empty
	}
	batch := e.db.NewBatch()
	var kb, vb []byte
	for op, ent := range e.cache.m {
		if ent.flags&flagDirty == 0 {
			continue
		}
		script := e.cache.script(&ent)
		sh := sha256.Sum256(script)
		kb = appendCoinKey(kb[:0], &op)
		ik := appendAddrUTXOKey(nil, &sh, &op)
		if ent.flags&flagSpent != 0 {
			batch.Delete(kb)
			batch.Delete(ik)
			continue
		}
		c := e.cache.coin(&ent)
		vb = appendCoin(vb[:0], &c)
		batch.Put(kb, vb)
		batch.Put(ik, addrUTXOValue(&c))
	}
	for sh, ent := range e.accts {
		if !ent.dirty {
			continue
		}
		if ent.s.FundedCount == 0 {
			// Nothing left that a reorg could have created: the key goes,
			// so a connect then disconnect leaves no trace.
			batch.Delete(addrStatsKey(&sh))
		} else {
			batch.Put(addrStatsKey(&sh), ent.s.encode())
		}
	}
	for k, v := range e.overlay {
		if v.del {
			batch.Delete([]byte(k))
		} else {
			batch.Put([]byte(k), v.v)
		}
	}
	for h, r := range e.pendingRecs {
		batch.Put(heightKey(tagBlock, h), r.encode())
	}
	acc := e.hasher.current()
	e.state.MuHash = acc.Bytes()
	batch.Put(stateKey(), e.state.encode())
	if err := e.db.Write(batch, true); err != nil {
		e.failed = fmt.Errorf("flush: %w", err)
		return e.failed
	}
	e.afterFlush()
	return nil
}

// afterFlush marks everything clean and, when over budget, drops the
// caches.
func (e *Engine) afterFlush() {
	clear(e.overlay)
	e.overlayBytes = 0
	clear(e.pendingRecs)
	e.sinceFlush = 0
	if e.memBytes() > e.cfg.CacheBytes/2 {
		e.cache.clear()
		e.accts = make(map[[32]byte]acctEntry)
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
	for sh, ent := range e.accts {
		if ent.dirty {
			ent.dirty = false
			e.accts[sh] = ent
		}
	}
}

// addrUTXOValue is the value of a script-hash index entry:
// VARINT(height*2+coinbase) ‖ VARINT(CompressAmount(value)).
func addrUTXOValue(c *Coin) []byte {
	v := putVLQ(make([]byte, 0, 12), heightCode(c.Height, c.Coinbase))
	return putVLQ(v, compressAmount(uint64(c.Value)))
}

// Close flushes and stops the engine. The store stays open: whoever opened
// it closes it.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	var err error
	if e.failed == nil {
		err = e.flush()
	}
	e.closed = true
	e.hasher.stop()
	return err
}
