package utxo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// A snapshot load writes the coins table in key order, as the snapshot
// file holds it, so every chunk's tables land beside the last ones and
// goleveldb moves them down without rewriting them. The script-hash index
// ('s') and counters ('a') are keyed by script hash, which is random in
// that order: written with the coins, every chunk's tables overlapped all
// earlier ones and compaction rewrote the index again and again (a 20M-coin
// load ran at a tenth of a 2M-coin load's rate, waiting on the disk). So
// the load collects the index entries in sorted runs of at most the cache
// budget (in files under SeedOptions.TempDir, or in memory without one),
// and once every coin is in, merges the runs and writes the index and then
// the counters in key order too: each table is written once, in sequence.

// indexRuns collects index entries and spills them as sorted runs. An
// entry is u8(key length) ‖ 's' key ‖ u8(value length) ‖ value, the bytes
// the index table stores.
type indexRuns struct {
	dir   string   // "" keeps the runs in memory
	mem   [][]byte // runs in memory
	files []string // runs on disk
	buf   []byte   // the entries of the run being collected, unsorted
	offs  []uint32
}

func newIndexRuns(dir string) (*indexRuns, error) {
	r := &indexRuns{dir: dir}
	if dir != "" {
		// Runs of an earlier, interrupted load are rebuilt from the store
		// (see seedLoad.rebuildRuns): whatever is here is stale.
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("utxo: load's temporary directory: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("utxo: load's temporary directory: %w", err)
		}
	}
	return r, nil
}

// add collects the index entry of a coin whose script hashes to sh.
func (r *indexRuns) add(sh *[32]byte, op *Outpoint, c *Coin) {
	off := len(r.buf)
	r.buf = append(r.buf, 0)
	r.buf = appendAddrUTXOKey(r.buf, sh, op)
	r.buf[off] = byte(len(r.buf) - off - 1)
	voff := len(r.buf)
	r.buf = append(r.buf, 0)
	r.buf = putVLQ(r.buf, heightCode(c.Height, c.Coinbase))
	r.buf = putVLQ(r.buf, compressAmount(uint64(c.Value)))
	r.buf[voff] = byte(len(r.buf) - voff - 1)
	r.offs = append(r.offs, uint32(off))
}

// addKV collects an entry whose key's bytes 2..10 spread uniformly (the
// runs are sorted by them first).
func (r *indexRuns) addKV(k, v []byte) {
	r.offs = append(r.offs, uint32(len(r.buf)))
	r.buf = append(r.buf, byte(len(k)))
	r.buf = append(r.buf, k...)
	r.buf = append(r.buf, byte(len(v)))
	r.buf = append(r.buf, v...)
}

// bytes is the memory the collected entries hold, with what sorting them
// takes.
func (r *indexRuns) bytes() int64 { return int64(len(r.buf)) + 16*int64(len(r.offs)) }

// entryKey returns the key of the entry at off in buf.
func entryKey(buf []byte, off uint32) []byte {
	return buf[off+1 : off+1+uint32(buf[off])]
}

// spill sorts the collected entries into a run.
func (r *indexRuns) spill() error {
	if len(r.offs) == 0 {
		return nil
	}
	buf := r.buf
	refs := make([]prefixRef, len(r.offs))
	for i, off := range r.offs {
		// The key is 's' 01 ‖ script hash ‖ outpoint: its first eight
		// bytes of hash spread uniformly.
		refs[i] = prefixRef{binary.BigEndian.Uint64(buf[off+3:]), uint32(i)}
	}
	sortByPrefix(refs)
	sortRuns(refs, func(a, b uint32) bool {
		return bytes.Compare(entryKey(buf, r.offs[a]), entryKey(buf, r.offs[b])) < 0
	})
	if r.dir == "" {
		out := make([]byte, 0, len(buf))
		for _, ref := range refs {
			out = append(out, entryAt(buf, r.offs[ref.i])...)
		}
		r.mem = append(r.mem, out)
		r.buf, r.offs = r.buf[:0], r.offs[:0]
		return nil
	}
	// Straight from the collected entries to the file: a sorted copy
	// would double the memory the run takes.
	name := filepath.Join(r.dir, fmt.Sprintf("run-%06d", len(r.files)))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("utxo: writing an index run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, ref := range refs {
		w.Write(entryAt(buf, r.offs[ref.i])) // the error sticks: Flush returns it
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("utxo: writing an index run: %w", err)
	}
	r.files = append(r.files, name)
	r.buf, r.offs = r.buf[:0], r.offs[:0]
	return nil
}

// entryAt returns the entry at off in buf.
func entryAt(buf []byte, off uint32) []byte {
	end := off + 1 + uint32(buf[off])
	end += 1 + uint32(buf[end])
	return buf[off:end]
}

// runs returns the number of runs spilled.
func (r *indexRuns) runs() int { return len(r.mem) + len(r.files) }

// remove deletes the runs.
func (r *indexRuns) remove() error {
	r.mem, r.buf, r.offs = nil, nil, nil
	if r.dir == "" {
		return nil
	}
	r.files = nil
	return os.RemoveAll(r.dir)
}

// runReader reads one run's entries in order.
type runReader struct {
	r        *bufio.Reader
	f        *os.File
	key, val []byte
	kb, vb   [256]byte
}

func (rr *runReader) next() (bool, error) {
	kl, err := rr.r.ReadByte()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rr.key = rr.kb[:kl]
	if _, err := io.ReadFull(rr.r, rr.key); err != nil {
		return false, fmt.Errorf("utxo: index run truncated: %w", err)
	}
	vl, err := rr.r.ReadByte()
	if err != nil {
		return false, fmt.Errorf("utxo: index run truncated: %w", err)
	}
	rr.val = rr.vb[:vl]
	if _, err := io.ReadFull(rr.r, rr.val); err != nil {
		return false, fmt.Errorf("utxo: index run truncated: %w", err)
	}
	return true, nil
}

// merger yields the entries of every run in key order.
type merger struct {
	heap []*runReader
	top  *runReader // returned last, advanced on the next call
}

// runReadBuffer is each run's read buffer while merging: a 164M-coin load
// at the default budget merges about 55 runs, 14 MiB of buffers.
const runReadBuffer = 256 << 10

func (r *indexRuns) merger() (*merger, error) {
	if err := r.spill(); err != nil {
		return nil, err
	}
	m := &merger{}
	add := func(rd io.Reader, f *os.File) error {
		rr := &runReader{r: bufio.NewReaderSize(rd, runReadBuffer), f: f}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			m.push(rr)
		} else if f != nil {
			f.Close()
		}
		return nil
	}
	for _, run := range r.mem {
		if err := add(bytes.NewReader(run), nil); err != nil {
			return nil, err
		}
	}
	for _, name := range r.files {
		f, err := os.Open(name)
		if err != nil {
			m.close()
			return nil, fmt.Errorf("utxo: opening an index run: %w", err)
		}
		if err := add(f, f); err != nil {
			f.Close()
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// next returns the next entry, valid until the following call, or ok
// false at the end.
func (m *merger) next() (key, val []byte, ok bool, err error) {
	if m.top != nil {
		more, err := m.top.next()
		if err != nil {
			return nil, nil, false, err
		}
		if more {
			m.fix(0)
		} else {
			m.pop()
		}
		m.top = nil
	}
	if len(m.heap) == 0 {
		return nil, nil, false, nil
	}
	m.top = m.heap[0]
	return m.top.key, m.top.val, true, nil
}

func (m *merger) close() {
	for _, rr := range m.heap {
		if rr.f != nil {
			rr.f.Close()
		}
	}
	m.heap = nil
}

func (m *merger) less(i, j int) bool { return bytes.Compare(m.heap[i].key, m.heap[j].key) < 0 }

func (m *merger) push(rr *runReader) {
	m.heap = append(m.heap, rr)
	for i := len(m.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !m.less(i, p) {
			break
		}
		m.heap[i], m.heap[p] = m.heap[p], m.heap[i]
		i = p
	}
}

func (m *merger) pop() {
	rr := m.heap[0]
	if rr.f != nil {
		rr.f.Close()
	}
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
	if last > 0 {
		m.fix(0)
	}
}

// fix moves the entry at i down to its place.
func (m *merger) fix(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.less(r, l) {
			c = r
		}
		if !m.less(c, i) {
			return
		}
		m.heap[i], m.heap[c] = m.heap[c], m.heap[i]
		i = c
	}
}

// rebuildRuns makes the runs of a resumed load from the coins on disk, as
// the interrupted run had them before it stopped (they were temporary).
// In the coins phase it also deletes the coins past the marker's last
// coin: a chunk whose marker never followed it. In the index phase it
// leaves out the script hashes the marker says are indexed.
func (l *seedLoad) rebuildRuns() error {
	e, ld := l.e, l.e.loading
	limit := l.chunkBytes()
	it := e.db.Iterate(prefix(tagCoin), nil)
	defer it.Release()
	var stale [][]byte
	for it.Next() {
		k := it.Key()
		op, err := parseOutpoint(k[2:])
		if err != nil {
			return corruptf("coin key %x: %v", k, err)
		}
		if ld.Phase == LoadCoins && (ld.Chunks == 0 || CompareCoreOrder(&op, &ld.Last) > 0) {
			stale = append(stale, bytes.Clone(k))
			continue
		}
		c, err := DecodeCoin(it.Value())
		if err != nil {
			return corruptf("coin %s: %v", op, err)
		}
		sh := scriptHash(c.Script)
		if ld.Phase == LoadIndex && ld.IndexGroups > 0 && bytes.Compare(sh[:], ld.IndexLast[:]) <= 0 {
			continue
		}
		l.runs.add(&sh, &op, &c)
		if l.runs.bytes() >= limit {
			if err := l.runs.spill(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	return e.db.Update(len(stale)*(40+11), true, func(b Batch) error {
		for _, k := range stale {
			b.Delete(k)
		}
		return nil
	})
}

// buildIndex is the index phase: it merges the runs and writes the
// index entries in updates of about the cache budget, each followed by an
// update of the counters of the script hashes it completed and by the
// marker. The two tables go in separate updates so that each update's
// tables cover one table's key range, next to the last ones.
func (l *seedLoad) buildIndex() error {
	e, ld := l.e, l.e.loading
	m, err := l.runs.merger()
	if err != nil {
		return err
	}
	defer m.close()
	l.indexed, l.indexSkipped = ld.IndexEntries, ld.IndexEntries
	if l.opts.Now != nil {
		l.indexStart = l.opts.Now()
	}
	if l.opts.Progress != nil {
		// One report as the phase begins.
		l.report(time.Time{}, LoadIndex, l.indexed, false)
	}
	limit := l.chunkBytes()
	var (
		cur      [32]byte
		lastTx   [32]byte
		have     bool
		st       AddrStats
		entries  uint64 // of the open group
		counters []byte // u8(key length) ‖ key ‖ u8(value length) ‖ value
		closed   bool   // a group was completed since the last marker
		done     bool
	)
	closeGroup := func() {
		k := addrStatsKey(&cur)
		v := st.encode()
		counters = append(counters, byte(len(k)))
		counters = append(counters, k...)
		counters = append(counters, byte(len(v)))
		counters = append(counters, v...)
		ld.IndexGroups++
		ld.IndexEntries += entries
		ld.IndexLast = cur
		closed = true
	}
	for !done {
		var n int64
		err := e.db.Update(int(limit)+1024, true, func(b Batch) error {
			for n < limit {
				k, v, ok, err := m.next()
				if err != nil {
					return err
				}
				if !ok {
					done = true
					return nil
				}
				sh, txid := k[2:34], k[34:66]
				if !have || !bytes.Equal(sh, cur[:]) {
					if have {
						closeGroup()
					}
					copy(cur[:], sh)
					copy(lastTx[:], txid)
					have, st, entries = true, AddrStats{TxCount: 1}, 0
				} else if !bytes.Equal(txid, lastTx[:]) {
					copy(lastTx[:], txid)
					st.TxCount++
				}
				value, err := entryValue(v)
				if err != nil {
					return corruptf("index run entry %x: %v", k, err)
				}
				st.FundedCount++
				st.FundedSum += uint64(value)
				entries++
				b.Put(k, v)
				n += int64(len(k) + len(v) + 11)
				l.indexed++
				l.progress(false)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done && have {
			closeGroup()
		}
		if !closed {
			continue
		}
		err = e.db.Update(len(counters)+len(counters)/4+64, true, func(b Batch) error {
			for c := counters; len(c) > 0; {
				kl := int(c[0])
				vl := int(c[1+kl])
				b.Put(c[1:1+kl], c[2+kl:2+kl+vl])
				c = c[2+kl+vl:]
			}
			return nil
		})
		if err != nil {
			return err
		}
		counters, closed = counters[:0], false
		if err := l.writeMarker(); err != nil {
			return err
		}
	}
	return nil
}

// entryValue decodes the amount of an index entry's value.
func entryValue(v []byte) (int64, error) {
	_, n, err := readVLQ(v)
	if err != nil {
		return 0, err
	}
	x, _, err := readVLQ(v[n:])
	if err != nil {
		return 0, err
	}
	return decompressAmount(x)
}
