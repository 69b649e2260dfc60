package utxo

import (
	"bytes"
	"fmt"
	"path/filepath"
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
// none, in updates of about budget bytes, sorting the leaves in runs under
// dir ("" keeps them in memory). progress is called with the leaves
// written so far.
func (e *Engine) buildTree(dir string, budget int64, progress func(uint64)) (smt.Hash, uint64, error) {
	// The tables are written here, not by flushes.
	e.treeTop.reset()
	defer e.treeTop.reset()
	runs, err := newIndexRuns(dir)
	if err != nil {
		return smt.Hash{}, 0, err
	}
	defer runs.remove()
	it := e.db.Iterate(prefix(tagCoin), nil)
	for it.Next() {
		k := it.Key()
		op, err := parseOutpoint(k[2:])
		if err != nil {
			it.Release()
			return smt.Hash{}, 0, corruptf("coin key %x: %v", k, err)
		}
		c, err := DecodeCoin(it.Value())
		if err != nil {
			it.Release()
			return smt.Hash{}, 0, corruptf("coin %s: %v", op, err)
		}
		// Runs hold the whole path (the order Build needs, after the
		// two-byte prefix the runs' sort expects) and the leaf hash and
		// reference.
		ch := treeChange(&op, &c)
		runs.addKV(append(bytes.Clone(treeTables.Leaves), ch.Path[:]...), append(ch.Hash[:], ch.Ref...))
		if runs.bytes() >= budget {
			if err := runs.spill(); err != nil {
				it.Release()
				return smt.Hash{}, 0, err
			}
		}
	}
	err = it.Err()
	it.Release()
	if err != nil {
		return smt.Hash{}, 0, err
	}
	m, err := runs.merger()
	if err != nil {
		return smt.Hash{}, 0, err
	}
	defer m.close()
	w := &encodedWrites{}
	var written uint64
	flush := func() error {
		if w.n == 0 {
			return nil
		}
		err := e.db.Update(w.hint(), true, func(b Batch) error {
			w.put(b)
			return nil
		})
		w.reset()
		return err
	}
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
	}, w, func() error {
		written++
		if progress != nil {
			progress(written)
		}
		if int64(w.size) < budget {
			return nil
		}
		return flush()
	})
	if err != nil {
		return smt.Hash{}, 0, fmt.Errorf("utxo: building the tree: %w", err)
	}
	if err := flush(); err != nil {
		return smt.Hash{}, 0, err
	}
	return root, n, nil
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
