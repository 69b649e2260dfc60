package utxo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/satnode/satnode/utxo/muhash"
)

// seedLoad is one SeedStream call.
type seedLoad struct {
	e       *Engine
	base    SeedBase
	opts    SeedOptions
	resumed bool

	t    SetTotals
	job  *hashJob
	runs *indexRuns

	// The coins phase: the last coin loaded (or, on resume, flushed), and
	// a coin read ahead that begins the next chunk.
	prev     Outpoint
	havePrev bool
	skipping bool
	pend     SeedCoin
	havePend bool
	eof      bool
	chunkB   int64 // bytes of the chunk being written

	read    uint64
	skipped uint64
	indexed uint64

	start, lastReport time.Time
	indexStart        time.Time
	treeStart         time.Time
	treeLeaves        uint64
	indexSkipped      uint64
	reportedAt        uint64
	chunksDone        uint64 // the chunk count, once the marker is gone
}

// hashJobBytes sizes the MuHash jobs: small enough that the queue of jobs
// waiting for the hasher (64 of them) stays within an eighth of the cache
// budget, large enough to cost little to hand over.
func (l *seedLoad) hashJobBytes() int {
	return int(max(8<<10, min(1<<20, l.e.cfg.CacheBytes/512)))
}

// chunkBytes is the size of a chunk: its coins and index entries.
func (l *seedLoad) chunkBytes() int64 { return max(l.e.cfg.CacheBytes, 4<<10) }

func (l *seedLoad) run(next func() (SeedCoin, error)) (err error) {
	ld := l.e.loading
	if l.runs, err = newIndexRuns(l.opts.TempDir); err != nil {
		return err
	}
	defer func() {
		if rerr := l.runs.remove(); err == nil && rerr != nil {
			err = fmt.Errorf("utxo: removing the load's index runs: %w", rerr)
		}
	}()
	l.t = SetTotals{TxOuts: ld.Coins, BogoSize: ld.BogoSize, TotalAmount: ld.Amount}
	l.job = &hashJob{}
	if l.resumed && ld.Phase != LoadTree {
		if err := l.rebuildRuns(); err != nil {
			return err
		}
	} else if err := l.writeMarker(); err != nil {
		// The marker is on disk before any coin.
		return err
	}
	if ld.Phase == LoadCoins {
		l.prev, l.havePrev = ld.Last, ld.Chunks > 0
		l.skipping = l.resumed && l.havePrev
		if err := l.readCoins(next); err != nil {
			return err
		}
	} else if err := l.verify(); err != nil {
		return err
	}
	if ld.Phase != LoadTree {
		if err := l.buildIndex(); err != nil {
			return err
		}
	}
	if err := l.buildTree(); err != nil {
		return err
	}
	if err := l.finish(); err != nil {
		return err
	}
	l.progress(true)
	return nil
}

// writeMarker writes the loading marker in an update of its own.
func (l *seedLoad) writeMarker() error {
	enc := l.e.loading.encode()
	return l.e.db.Update(len(enc)+64, true, func(b Batch) error {
		b.Put(loadKey(), enc)
		return nil
	})
}

// verify shows the digest of the set to SeedOptions.Verify.
func (l *seedLoad) verify() error {
	if l.opts.Verify == nil {
		return nil
	}
	if err := l.e.hasher.wait(); err != nil {
		return err
	}
	acc := l.e.hasher.current()
	return l.opts.Verify(muhash.DigestOf(&acc))
}

// readCoins is the coins phase: chunk after chunk until the stream ends,
// then the count check, the MuHash check and the marker of the index
// phase.
func (l *seedLoad) readCoins(next func() (SeedCoin, error)) error {
	e, ld := l.e, l.e.loading
	for !l.eof {
		if !l.havePend {
			sc, err := l.nextCoin(next)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			l.pend, l.havePend = sc, true
		}
		l.chunkB = 0
		hint := int(l.chunkBytes()) + 64<<10
		if err := e.db.Update(hint, true, func(b Batch) error { return l.fillChunk(b, next) }); err != nil {
			return err
		}
		if err := l.runs.spill(); err != nil {
			return err
		}
		if len(l.job.add.ends) > 0 {
			e.hasher.submit(l.job)
			l.job = &hashJob{}
		}
		if err := e.hasher.wait(); err != nil {
			return err
		}
		acc := e.hasher.current()
		ld.Chunks++
		ld.Last = l.prev
		ld.Coins, ld.BogoSize, ld.Amount = l.t.TxOuts, l.t.BogoSize, l.t.TotalAmount
		ld.MuHash = acc.Bytes()
		if err := l.writeMarker(); err != nil {
			return err
		}
		l.progress(false)
	}
	if l.skipping {
		return fmt.Errorf("%w: the stream ended at or before %s, the last coin an earlier run loaded",
			ErrBadSnapshot, ld.Last)
	}
	if n := ld.ExpectedCoins; n > 0 && l.t.TxOuts != n {
		return fmt.Errorf("%w: %d coins, the snapshot announced %d", ErrBadSnapshot, l.t.TxOuts, n)
	}
	if err := l.verify(); err != nil {
		return err
	}
	ld.Phase = LoadIndex
	return l.writeMarker()
}

// fillChunk writes coins into b until the chunk is full at a transaction
// boundary (the next transaction's first coin is kept for the next chunk)
// or the stream ends. Chunks end only between transactions, so a resumed
// load can tell another stream from the one it began with.
func (l *seedLoad) fillChunk(b Batch, next func() (SeedCoin, error)) error {
	e := l.e
	jobBytes := l.hashJobBytes()
	limit := l.chunkBytes()
	var kb, vb []byte
	for {
		var sc SeedCoin
		if l.havePend {
			sc, l.havePend = l.pend, false
		} else {
			var err error
			sc, err = l.nextCoin(next)
			if errors.Is(err, io.EOF) {
				l.eof = true
				return nil
			}
			if err != nil {
				return err
			}
			if sc.Outpoint.Hash != l.prev.Hash && l.chunkB+l.runs.bytes() >= limit {
				// The coin's script may live in the stream's buffer.
				sc.Coin.Script = bytes.Clone(sc.Coin.Script)
				l.pend, l.havePend = sc, true
				return nil
			}
		}
		op, c := &sc.Outpoint, &sc.Coin
		t := &l.t
		t.TxOuts++
		t.TotalAmount += c.Value
		t.BogoSize += bogoSize(len(c.Script))
		if t.TotalAmount > MaxMoney {
			return fmt.Errorf("%w: coins total more than 21M BTC", ErrBadSnapshot)
		}
		kb = appendCoinKey(kb[:0], op)
		vb = appendCoin(vb[:0], c)
		b.Put(kb, vb)
		l.chunkB += int64(len(kb) + len(vb))
		l.job.add.appendCoin(op, c)
		if len(l.job.add.data) >= jobBytes {
			e.hasher.submit(l.job)
			l.job = &hashJob{}
		}
		sh := scriptHash(c.Script)
		l.runs.add(&sh, op, c)
		if l.runs.bytes() >= limit {
			// Only inside one transaction with more coins than the budget
			// holds (a hostile file can announce billions): chunks end
			// between transactions, runs need not.
			if err := l.runs.spill(); err != nil {
				return err
			}
		}
		l.prev, l.havePrev = *op, true
		l.progress(false)
	}
}

// nextCoin reads the stream's next coin to load: it skips the coins an
// interrupted earlier run flushed, and checks order (against the last coin
// written, l.prev) and range.
func (l *seedLoad) nextCoin(next func() (SeedCoin, error)) (SeedCoin, error) {
	ld := l.e.loading
	for {
		sc, err := next()
		if errors.Is(err, io.EOF) {
			return sc, io.EOF
		}
		if err != nil {
			return sc, fmt.Errorf("utxo: reading the snapshot: %w", err)
		}
		l.read++
		op, c := &sc.Outpoint, &sc.Coin
		if l.skipping {
			if CompareCoreOrder(op, &ld.Last) <= 0 {
				l.skipped++
				l.progress(false)
				continue
			}
			// Chunks end at transaction boundaries: a later output of the
			// last flushed transaction means another stream.
			if op.Hash == ld.Last.Hash {
				return sc, fmt.Errorf("%w: coin %s follows %s, which ended a flushed chunk: not the stream the load started with",
					ErrBadSnapshot, op, ld.Last)
			}
			l.skipping = false
		}
		if l.havePrev {
			switch c := CompareCoreOrder(op, &l.prev); {
			case c == 0:
				return sc, fmt.Errorf("%w: coin %s appears twice", ErrBadSnapshot, op)
			case c < 0:
				return sc, fmt.Errorf("%w: coin %s comes after %s, out of the coins table's (txid, VARINT(vout)) order", ErrBadSnapshot, op, l.prev)
			}
		}
		if IsUnspendable(c.Script) || c.Value < 0 || c.Value > MaxMoney || c.Height < 0 || c.Height > l.base.Height {
			return sc, fmt.Errorf("%w: coin %s is unspendable or out of range", ErrBadSnapshot, op)
		}
		return sc, nil
	}
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
	// The record receives the digest of the whole set: the hasher applies
	// jobs in order, and every coin's job is in.
	e.hasher.submit(&hashJob{rec: rec})
	e.totals = l.t
	e.state.HasTip, e.state.TipHeight, e.state.TipHash, e.state.BaseHeight = true, base.Height, hash, base.Height
	// The coinbases below the base are unknown: keep the BIP30 lookups.
	e.state.NonBIP34Height = max(base.Height, 1)
	l.chunksDone = e.loading.Chunks
	e.del(loadKey())
	e.loading = nil
	return e.flush(0, nil)
}

// progress calls the progress callback when it is due: every
// ProgressEvery coins read (or index entries written), at most once a
// second in between, and at the end.
func (l *seedLoad) progress(done bool) {
	o := &l.opts
	if o.Progress == nil {
		return
	}
	pos := l.read
	phase := LoadCoins
	if ld := l.e.loading; ld != nil {
		phase = ld.Phase
	}
	switch phase {
	case LoadIndex:
		pos = l.indexed
	case LoadTree:
		pos = l.treeLeaves
	}
	var now time.Time
	due := done || pos-l.reportedAt >= o.ProgressEvery
	if !due && o.Now != nil && pos%4096 == 0 {
		now = o.Now()
		due = now.Sub(l.lastReport) >= time.Second
	}
	if due {
		l.report(now, phase, pos, done)
	}
}

// report calls the progress callback, with the clock read at now (zero:
// read it here).
func (l *seedLoad) report(now time.Time, phase LoadPhase, pos uint64, done bool) {
	o := &l.opts
	if o.Now != nil && now.IsZero() {
		now = o.Now()
	}
	p := SeedProgress{Read: l.read, Skipped: l.skipped, Coins: l.t.TxOuts, Expected: o.ExpectedCoins,
		Bytes: -1, Chunks: l.chunks(), Phase: phase, Indexed: l.indexed, IndexSkipped: l.indexSkipped,
		TreeLeaves: l.treeLeaves, Done: done}
	if done {
		p.Phase = LoadIndex
		if l.e.state.Tree {
			p.Phase = LoadTree
		}
	}
	if o.BytesRead != nil {
		p.Bytes = o.BytesRead()
	}
	if o.Now != nil {
		p.Elapsed = now.Sub(l.start)
		if !l.indexStart.IsZero() {
			p.IndexElapsed = now.Sub(l.indexStart)
		}
		p.TreeElapsed = l.treeElapsed(now)
		l.lastReport = now
	}
	l.reportedAt = pos
	o.Progress(p)
}

func (l *seedLoad) chunks() uint64 {
	if ld := l.e.loading; ld != nil {
		return ld.Chunks
	}
	return l.chunksDone
}
