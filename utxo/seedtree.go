package utxo

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/satnode/satnode/utxo/smt"
)

// The tree phase of a snapshot load builds the UTXO tree from the coins
// table once every coin is in (and the index is built). Its leaves are
// keyed by a hash of the outpoint, random in the coins' order, so like the
// index they are sorted into runs first and then written once, in key
// order, by smt.Build, which hashes the tree bottom-up as the sorted
// leaves stream past. The phase is not resumable part way: an interrupted
// one starts again from the coins (the marker says LoadTree), after
// deleting what it had written.

// buildTree is the tree phase.
func (l *seedLoad) buildTree() error {
	e, ld := l.e, l.e.loading
	if !e.state.Tree {
		return nil
	}
	if ld.Phase == LoadTree {
		if err := e.deleteTables(l.chunkBytes(), tagTreeLeaf, tagTreeNode); err != nil {
			return err
		}
	} else {
		ld.Phase = LoadTree
		if err := l.writeMarker(); err != nil {
			return err
		}
	}
	if l.opts.Now != nil {
		l.treeStart = l.opts.Now()
	}
	if l.opts.Progress != nil {
		// One report as the phase begins.
		l.report(time.Time{}, LoadTree, 0, false)
	}
	dir := ""
	if l.opts.TempDir != "" {
		dir = filepath.Join(l.opts.TempDir, "tree")
	}
	root, n, err := e.buildTree(dir, l.chunkBytes(), func(leaves uint64) {
		l.treeLeaves = leaves
		l.progress(false)
	})
	if err != nil {
		return err
	}
	if n != l.t.TxOuts {
		return corruptf("the tree has %d leaves, the set %d coins", n, l.t.TxOuts)
	}
	e.state.TreeRoot, e.state.TreeCount = root, n
	return nil
}

// buildTree writes the UTXO tree of the coins table into a store that has
// none, in updates of about budget bytes in all, sorting the leaves in
// runs under dir ("" keeps them in memory). progress is called with the
// leaves written so far.
//
// Both steps keep two cores busy: the two halves of the coins table (by
// the txid's first byte) are read, hashed and sorted into runs on two
// goroutines; then, while smt.Build hashes the merged leaves, the updates
// it fills are written on another.
func (e *Engine) buildTree(dir string, budget int64, progress func(uint64)) (smt.Hash, uint64, error) {
	var runs [2]*indexRuns
	for i := range runs {
		sub := ""
		if dir != "" {
			sub = filepath.Join(dir, strconv.Itoa(i))
		}
		r, err := newIndexRuns(sub)
		if err != nil {
			return smt.Hash{}, 0, err
		}
		defer r.remove()
		runs[i] = r
	}
	var errs [2]error
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.treeRuns(runs[i], i, budget/2)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return smt.Hash{}, 0, err
	}
	// One merge over both halves' runs.
	if err := runs[1].spill(); err != nil {
		return smt.Hash{}, 0, err
	}
	runs[0].mem = append(runs[0].mem, runs[1].mem...)
	runs[0].files = append(runs[0].files, runs[1].files...)
	m, err := runs[0].merger()
	if err != nil {
		return smt.Hash{}, 0, err
	}
	defer m.close()

	tw := newTreeWriter(e.db)
	batch := max(budget/3, 1<<20)
	var written uint64
	root, n, err := treeTables.Build(func() (smt.Leaf, bool, error) {
		k, v, ok, err := m.next()
		if err != nil || !ok {
			return smt.Leaf{}, false, err
		}
		if len(k) != len(treeTables.Leaves)+32 || len(v) <= 32 {
			return smt.Leaf{}, false, corruptf("tree run record of %d/%d bytes", len(k), len(v))
		}
		l := smt.Leaf{Full: true, Ref: bytes.Clone(v[32:])}
		copy(l.Path[:], k[len(treeTables.Leaves):])
		copy(l.Hash[:], v)
		return l, true, nil
	}, tw, func() error {
		written++
		if progress != nil {
			progress(written)
		}
		if int64(tw.cur.size) < batch {
			return nil
		}
		return tw.send()
	})
	if err == nil {
		err = tw.send()
	}
	if cerr := tw.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return smt.Hash{}, 0, fmt.Errorf("utxo: building the tree: %w", err)
	}
	return root, n, nil
}

// treeRuns reads half of the coins table (half 0: txids whose first byte
// is below 0x80) and adds each coin's leaf to runs, spilling at budget.
// The runs hold the whole path (the order Build needs, after the two-byte
// prefix the runs' sort expects) and the leaf hash and reference.
func (e *Engine) treeRuns(runs *indexRuns, half int, budget int64) error {
	var start []byte
	if half == 1 {
		start = append(prefix(tagCoin), 0x80)
	}
	it := e.db.Iterate(prefix(tagCoin), start)
	defer it.Release()
	key := append([]byte(nil), treeTables.Leaves...)
	for it.Next() {
		k := it.Key()
		if half == 0 && len(k) > 2 && k[2] >= 0x80 {
			break
		}
		op, err := parseOutpoint(k[2:])
		if err != nil {
			return corruptf("coin key %x: %v", k, err)
		}
		c, err := DecodeCoin(it.Value())
		if err != nil {
			return corruptf("coin %s: %v", op, err)
		}
		ch := treeChange(&op, &c)
		runs.addKV(append(key[:len(treeTables.Leaves)], ch.Path[:]...), append(ch.Hash[:], ch.Ref...))
		if runs.bytes() >= budget {
			if err := runs.spill(); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

// treeWriter is smt.Build's Writer during a load: the records go into
// cur, and send hands cur to a goroutine that writes it to the store
// while Build fills the next.
type treeWriter struct {
	cur   *encodedWrites
	queue chan *encodedWrites
	done  chan error
	mu    sync.Mutex
	err   error
}

func newTreeWriter(db Store) *treeWriter {
	w := &treeWriter{cur: &encodedWrites{}, queue: make(chan *encodedWrites, 1), done: make(chan error, 1)}
	go func() {
		for ws := range w.queue {
			if w.failed() != nil {
				continue
			}
			err := db.Update(ws.hint(), true, func(b Batch) error {
				ws.put(b)
				return nil
			})
			if err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		w.done <- w.failed()
	}()
	return w
}

func (w *treeWriter) Put(k, v []byte) { w.cur.Put(k, v) }
func (w *treeWriter) Delete(k []byte) { w.cur.Delete(k) }

func (w *treeWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// send queues cur for writing, reporting an earlier write's failure.
func (w *treeWriter) send() error {
	if err := w.failed(); err != nil {
		return err
	}
	if w.cur.n == 0 {
		return nil
	}
	w.queue <- w.cur
	w.cur = &encodedWrites{}
	return nil
}

// close waits for the queued writes and returns the first failure.
func (w *treeWriter) close() error {
	close(w.queue)
	return <-w.done
}

// deleteTables deletes every record of the tables, in updates of about
// budget bytes.
func (e *Engine) deleteTables(budget int64, tags ...byte) error {
	defer e.treeTop.reset()
	for _, tag := range tags {
		for {
			var keys [][]byte
			var n int64
			it := e.db.Iterate(prefix(tag), nil)
			for n < budget && it.Next() {
				keys = append(keys, bytes.Clone(it.Key()))
				n += int64(len(it.Key())) + 16
			}
			err := it.Err()
			it.Release()
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				break
			}
			err = e.db.Update(int(n)+1024, true, func(b Batch) error {
				for _, k := range keys {
					b.Delete(k)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// treeElapsed is how long the tree phase has run (zero without a
// clock or before it).
func (l *seedLoad) treeElapsed(now time.Time) time.Duration {
	if l.treeStart.IsZero() {
		return 0
	}
	return now.Sub(l.treeStart)
}
