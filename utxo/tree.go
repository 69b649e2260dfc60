package utxo

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/satnode/satnode/utxo/smt"
)

// The UTXO tree (utxo/smt) commits to the set so that one coin's presence
// or absence can be proven. Its leaf for a coin is
//
//	key   = txid[32] ‖ u32le(vout)                              (36 bytes)
//	value = u32le(height<<1 | coinbase) ‖ i64le(value) ‖ CompactSize(len) ‖ script
//
// so key ‖ value is the very serialization Bitcoin Core's MuHash hashes
// for the coin. The tree is a function of the coins table: a flush
// derives the leaf changes from the coins it writes, and writes the tree's
// records in the same atomic update.
//
// Its tables (key layout in keys.go):
//
//	tree leaves  'l' 01 sha256(key)[32]            sha256(value)[32] ‖ txid[0:8] ‖ VARINT(vout)
//	tree nodes   'k' 01 depth[1] prefix[⌈depth/8⌉]  hash[32] ‖ uvarint(leaf count)
//
// A leaf keeps eight bytes of the txid, not the outpoint: enough to find
// the coin in the coins table by prefix (the path, a hash of the whole
// outpoint, picks the right one if several txids share the prefix).
var treeTables = smt.Tables{Leaves: []byte{tagTreeLeaf, keyVersion}, Nodes: []byte{tagTreeNode, keyVersion}}

// ErrNoTree: the store was built without the UTXO tree (Config.NoTree),
// so there is no root to report and nothing to prove from.
var ErrNoTree = errors.New("utxo: this store keeps no UTXO tree")

// TreeKey is the tree's key for an outpoint: txid ‖ u32le(vout).
func TreeKey(op Outpoint) []byte { return appendTreeKey(make([]byte, 0, 36), &op) }

// TreeValue is the tree's value for a coin.
func TreeValue(c *Coin) []byte { return appendTreeValue(nil, c) }

func treeRef(op *Outpoint) []byte {
	r := make([]byte, 8, 8+5)
	copy(r, op.Hash[:8])
	return putVLQ(r, uint64(op.Index))
}

// treeChange is the tree's change for one coin (nil: spent).
func treeChange(op *Outpoint, c *Coin) smt.Change {
	var buf [128]byte // most values fit: no allocation per coin
	ch := smt.Change{Path: smt.PathOf(appendTreeKey(buf[:0], op))}
	if c == nil {
		ch.Delete = true
		return ch
	}
	ch.ValueHash = smt.ValueHash(appendTreeValue(buf[:0], c))
	ch.Ref = treeRef(op)
	return ch
}

// treeReader lets smt read the store (or a snapshot of it).
type treeReader struct{ kv KVReader }

func (r treeReader) Get(key []byte) ([]byte, bool, error) {
	v, err := r.kv.Get(key)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (r treeReader) Scan(prefix, start []byte, fn func(k, v []byte) (bool, error)) error {
	it := r.kv.Iterate(prefix, start)
	defer it.Release()
	for it.Next() {
		more, err := fn(it.Key(), it.Value())
		if err != nil || !more {
			return err
		}
	}
	return it.Err()
}

// encodedWrites collects writes in putEncoded's format.
type encodedWrites struct {
	b []byte
	n int // records
}

func (w *encodedWrites) Put(k, v []byte) { w.b = appendEncoded(w.b, false, k, v); w.n++ }
func (w *encodedWrites) Delete(k []byte) { w.b = appendEncoded(w.b, true, k, nil); w.n++ }

// hint bounds the bytes of an update that writes the records (the store
// counts 11 bytes of framing a record, the encoding 3).
func (w *encodedWrites) hint() int { return len(w.b) + 8*w.n + 1024 }

func appendEncoded(b []byte, del bool, k, v []byte) []byte {
	flag := byte(0)
	if del {
		flag = 1
	}
	b = append(b, flag, byte(len(k)))
	b = append(b, k...)
	b = append(b, byte(len(v)))
	return append(b, v...)
}

// treeUpdate is the tree after the unflushed changes: its root, leaf count
// and the records a flush writes.
type treeUpdate struct {
	gen    uint64 // the engine's change generation it was computed at
	root   smt.Hash
	count  uint64
	writes []byte
	hint   int
}

// treeHint bounds the bytes a flush's tree writes take: exact once
// TreeRoot computed them, else a bound for dirty changed leaves (a leaf
// record each, and at worst a node record on every stored level).
func (e *Engine) treeHint(dirty int) int {
	if !e.state.Tree || e.loading != nil {
		return 0
	}
	if e.tree != nil && e.tree.gen == e.cache.mods {
		return e.tree.hint
	}
	levels := bits.Len64(e.state.TreeCount/smt.StoreThreshold+uint64(dirty)) + 2
	const leaf = 11 + 34 + 32 + 13
	const node = 11 + 3 + 32 + 1 + 32 + 10
	return dirty * (leaf + levels*node)
}

// computeTree folds the dirty coins into the stored tree.
func (e *Engine) computeTree(dirty []dirtyCoin) (*treeUpdate, error) {
	changes := make([]smt.Change, len(dirty))
	for i := range dirty {
		d := &dirty[i]
		if d.ent.flags&flagSpent != 0 {
			changes[i] = treeChange(&d.op, nil)
			continue
		}
		c := e.cache.coin(&d.ent)
		changes[i] = treeChange(&d.op, &c)
	}
	slices.SortFunc(changes, func(a, b smt.Change) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	w := &encodedWrites{}
	root, n, err := treeTables.Apply(treeReader{e.db}, changes, w)
	if err != nil {
		return nil, fmt.Errorf("utxo: tree: %w", err)
	}
	return &treeUpdate{gen: e.cache.mods, root: root, count: n, writes: w.b, hint: w.hint()}, nil
}

// pendingTree returns the tree after every change so far, computing it
// unless the last computation is still current.
func (e *Engine) pendingTree() (*treeUpdate, error) {
	if e.tree != nil && e.tree.gen == e.cache.mods {
		return e.tree, nil
	}
	t, err := e.computeTree(e.dirtyCoins())
	if err != nil {
		return nil, err
	}
	e.tree = t
	return t, nil
}

type treeResult struct {
	t   *treeUpdate
	err error
}

// flushTree is the tree's part of a flush: nil while a snapshot load is
// under way (its tree is built from the coins table once they are all in,
// seedtree.go) or in a store without a tree.
func (e *Engine) flushTree(dirty []dirtyCoin) treeResult {
	if !e.state.Tree || e.loading != nil {
		return treeResult{}
	}
	if e.tree != nil && e.tree.gen == e.cache.mods {
		return treeResult{t: e.tree}
	}
	t, err := e.computeTree(dirty)
	return treeResult{t, err}
}

// TreeRoot returns the root of the UTXO tree at the tip. Between flushes
// it folds the unflushed changes in (kept for the flush, which then writes
// them without recomputing).
func (e *Engine) TreeRoot() ([32]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return [32]byte{}, err
	}
	if !e.state.Tree {
		return [32]byte{}, ErrNoTree
	}
	t, err := e.pendingTree()
	if err != nil {
		e.failed = err
		return [32]byte{}, err
	}
	return t.root, nil
}
