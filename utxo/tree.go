package utxo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"

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
//	tree leaves  'l' 01 sha256(key)[0:8] ‖ txid[0:5] ‖ VARINT(vout)   leaf hash[32]
//	tree nodes   'k' 01 depth[1] prefix[⌈depth/8⌉]                      hash[32] ‖ uvarint(leaf count)
//
// A leaf's key holds eight bytes of its path and a reference to its coin:
// five bytes of the txid and the vout, enough to find the coin in the
// coins table by prefix (the path picks the right one if several txids
// share the prefix), and with the path's eight bytes 104 bits that two
// outpoints would have to share to be confused: about 2^77 hashes to
// grind one onto any of 164M coins. Even then consensus holds (every node
// computes the same root); only the proofs of those two coins would fail.
var treeTables = smt.Tables{Leaves: []byte{tagTreeLeaf, keyVersion}, Nodes: []byte{tagTreeNode, keyVersion}}

// treeRefTxid is how many bytes of the txid a leaf's reference keeps.
const treeRefTxid = 5

// ErrNoTree: the store was built without the UTXO tree (Config.NoTree),
// so there is no root to report and nothing to prove from.
var ErrNoTree = errors.New("utxo: this store keeps no UTXO tree")

// TreeKey is the tree's key for an outpoint: txid ‖ u32le(vout).
func TreeKey(op Outpoint) []byte { return appendTreeKey(make([]byte, 0, 36), &op) }

// TreeValue is the tree's value for a coin.
func TreeValue(c *Coin) []byte { return appendTreeValue(nil, c) }

func treeRef(op *Outpoint) []byte { return appendTreeRef(make([]byte, 0, treeRefTxid+5), op) }

// appendTreeRef appends a leaf's reference to its coin: txid[:5] ‖
// VARINT(vout).
func appendTreeRef(dst []byte, op *Outpoint) []byte {
	return putVLQ(append(dst, op.Hash[:treeRefTxid]...), uint64(op.Index))
}

// treePath is the tree's path of an outpoint.
func treePath(op *Outpoint) smt.Hash {
	var buf [36]byte
	return smt.PathOf(appendTreeKey(buf[:0], op))
}

// treeLeaf is the leaf hash of coin c at path.
func treeLeaf(path *smt.Hash, c *Coin) smt.Hash {
	var buf [128]byte // most values fit: no allocation per coin
	vh := smt.ValueHash(appendTreeValue(buf[:0], c))
	return smt.LeafHash(path, &vh)
}

// treeChange is the tree's change for one coin (nil: spent).
func treeChange(op *Outpoint, c *Coin) smt.Change {
	ch := smt.Change{Path: treePath(op), Ref: treeRef(op)}
	if c == nil {
		ch.Delete = true
		return ch
	}
	ch.Hash = treeLeaf(&ch.Path, c)
	return ch
}

// treeLeafHash is the leaf hash a coin's leaf must hold.
func treeLeafHash(op *Outpoint, c *Coin) smt.Hash {
	p := treePath(op)
	return treeLeaf(&p, c)
}

// treeReader lets smt read the store (or a snapshot of it). A flush's
// reads go forward through the tables in path order, depth by depth, so
// with iters set it reads the leaf table and each depth's nodes through
// one iterator each, stepping forward to the next key wanted (a seek only
// when it is not a few records ahead) instead of a lookup from the top of
// the LSM tree for each. With top set, the upper levels' nodes are read
// from memory.
type treeReader struct {
	kv    KVReader
	top   *treeTop
	use   cursorUse
	leaf  *cursor
	nodes map[byte]*cursor
}

// cursorUse says what a treeReader reads through cursors: a flush both
// tables; a proof, whose few node reads go to different depths, the leaf
// table only (its scans then seek one iterator rather than open one each).
type cursorUse int

const (
	leafCursor cursorUse = 1 << iota
	nodeCursors
)

func newTreeReader(kv KVReader, top *treeTop, use cursorUse) *treeReader {
	return &treeReader{kv: kv, top: top, use: use}
}

func (r *treeReader) close() {
	if r.leaf != nil {
		r.leaf.it.Release()
		r.leaf = nil
	}
	for _, c := range r.nodes {
		c.it.Release()
	}
	r.nodes = nil
}

// cursor is an iterator and what it knows of where it stands: no key
// lies from floor (exclusive after a step, inclusive after a seek) up to
// the key it is at, so the first key ≥ any target in there is that key.
type cursor struct {
	it        Iterator
	seek      Seeker
	valid     bool
	floor     []byte
	exclusive bool
}

// stepsBeforeSeek is how many records a cursor steps over to reach a key
// before it seeks instead: a step is a comparison, a seek a search of
// every level.
const stepsBeforeSeek = 48

// at moves c to the first key ≥ key, reporting whether there is one:
// without moving when key is between the floor and the key it is at, by
// steps when key is a little ahead, else by a seek.
func (c *cursor) at(key []byte) bool {
	if c.valid && c.above(key) {
		cmp := bytes.Compare(c.it.Key(), key)
		if cmp >= 0 {
			return true
		}
		for range stepsBeforeSeek {
			if !c.next() {
				return false
			}
			if bytes.Compare(c.it.Key(), key) >= 0 {
				return true
			}
		}
	}
	c.floor, c.exclusive = append(c.floor[:0], key...), false
	c.valid = c.seek.Seek(key)
	return c.valid
}

// above reports whether key is at or past the floor.
func (c *cursor) above(key []byte) bool {
	cmp := bytes.Compare(key, c.floor)
	return cmp > 0 || (cmp == 0 && !c.exclusive)
}

// next steps to the next key.
func (c *cursor) next() bool {
	c.floor, c.exclusive = append(c.floor[:0], c.it.Key()...), true
	c.valid = c.it.Next()
	return c.valid
}

func (r *treeReader) cursorFor(prefix []byte) *cursor {
	it := r.kv.Iterate(prefix, nil)
	s, ok := it.(Seeker)
	if !ok {
		it.Release()
		return nil
	}
	return &cursor{it: it, seek: s}
}

func (r *treeReader) Get(key []byte) ([]byte, bool, error) {
	if r.top != nil {
		if v, ok, hit := r.top.get(key); hit {
			return v, ok, nil
		}
	}
	var v []byte
	if c := r.nodeCursor(key); c != nil {
		if c.at(key) && bytes.Equal(c.it.Key(), key) {
			v = bytes.Clone(c.it.Value())
		} else if err := c.it.Err(); err != nil {
			return nil, false, err
		}
	} else {
		var err error
		v, err = r.kv.Get(key)
		if errors.Is(err, ErrNotFound) {
			v = nil
		} else if err != nil {
			return nil, false, err
		}
	}
	if r.top != nil {
		r.top.fill(key, v)
	}
	return v, v != nil, nil
}

// nodeCursor is the cursor of key's depth (nil: read with Get).
func (r *treeReader) nodeCursor(key []byte) *cursor {
	n := len(treeTables.Nodes)
	if r.use&nodeCursors == 0 || len(key) <= n || !bytes.HasPrefix(key, treeTables.Nodes) {
		return nil
	}
	d := key[n]
	if c, ok := r.nodes[d]; ok {
		return c
	}
	if r.nodes == nil {
		r.nodes = make(map[byte]*cursor)
	}
	c := r.cursorFor(key[:n+1])
	r.nodes[d] = c
	return c
}

func (r *treeReader) Scan(pfx, start []byte, fn func(k, v []byte) (bool, error)) error {
	from := pfx
	if bytes.Compare(start, pfx) > 0 {
		from = start
	}
	if r.leaf == nil && r.use&leafCursor != 0 && bytes.HasPrefix(pfx, treeTables.Leaves) {
		r.leaf = r.cursorFor(treeTables.Leaves)
	}
	if r.leaf == nil || !bytes.HasPrefix(pfx, treeTables.Leaves) {
		it := r.kv.Iterate(pfx, start)
		defer it.Release()
		for it.Next() {
			more, err := fn(it.Key(), it.Value())
			if err != nil || !more {
				return err
			}
		}
		return it.Err()
	}
	c := r.leaf
	for ok := c.at(from); ok; ok = c.valid {
		if !bytes.HasPrefix(c.it.Key(), pfx) {
			break
		}
		more, err := fn(c.it.Key(), c.it.Value())
		if err != nil || !more {
			return err
		}
		c.next()
	}
	return c.it.Err()
}

// Resolve finds the whole path of the leaf with short path and reference
// ref: the coins of every txid with the reference's prefix are tried.
func (r *treeReader) Resolve(short, ref []byte) (smt.Hash, error) {
	op, _, err := findTreeCoin(r.kv, short, ref, false)
	if err != nil {
		return smt.Hash{}, err
	}
	return treePath(&op), nil
}

// findTreeCoin finds the coin of a leaf from its short path and
// reference: the outpoint, and the coin itself with withCoin. It looks at
// each txid with the reference's prefix (almost always one) once, reading
// its coin at the reference's vout directly: never the txid's other
// outputs, of which a hostile transaction can have a hundred thousand.
func findTreeCoin(kv KVReader, short, ref []byte, withCoin bool) (Outpoint, Coin, error) {
	if len(ref) < treeRefTxid+1 {
		return Outpoint{}, Coin{}, corruptf("tree leaf %x: reference of %d bytes", short, len(ref))
	}
	vout, n, err := readVLQ(ref[treeRefTxid:])
	if err != nil || treeRefTxid+n != len(ref) || vout > 0xffffffff {
		return Outpoint{}, Coin{}, corruptf("tree leaf %x: bad reference %x", short, ref)
	}
	pfx := append(prefix(tagCoin), ref[:treeRefTxid]...)
	var start []byte
	for {
		it := kv.Iterate(pfx, start)
		found := it.Next()
		var op Outpoint
		if found && len(it.Key()) >= 2+32 {
			copy(op.Hash[:], it.Key()[2:])
		} else if found {
			err = corruptf("coin key %x", it.Key())
		}
		if err == nil {
			err = it.Err()
		}
		it.Release()
		if err != nil {
			return Outpoint{}, Coin{}, err
		}
		if !found {
			break
		}
		op.Index = uint32(vout)
		if p := treePath(&op); bytes.Equal(p[:len(short)], short) {
			v, err := kv.Get(appendCoinKey(nil, &op))
			switch {
			case err == nil:
				var c Coin
				if withCoin {
					if c, err = DecodeCoin(v); err != nil {
						return Outpoint{}, Coin{}, corruptf("coin %s: %v", op, err)
					}
				}
				return op, c, nil
			case !errors.Is(err, ErrNotFound):
				return Outpoint{}, Coin{}, err
			}
		}
		// The next txid: past every VARINT vout of this one (their
		// first byte is below 0xff).
		start = append(append(prefix(tagCoin), op.Hash[:]...), 0xff)
	}
	return Outpoint{}, Coin{}, corruptf("tree leaf %x/%x names no coin in the coins table", short, ref)
}

// encodedWrites collects writes in putEncoded's format, in chunks: a
// flush's tree writes run to hundreds of megabytes at the start of an
// import, and one growing slice would copy them over and over.
type encodedWrites struct {
	chunks [][]byte
	size   int // bytes in all chunks
	n      int // records
}

const writeChunk = 1 << 20

func (w *encodedWrites) Put(k, v []byte) { w.add(false, k, v) }
func (w *encodedWrites) Delete(k []byte) { w.add(true, k, nil) }

func (w *encodedWrites) add(del bool, k, v []byte) {
	need := 3 + len(k) + len(v)
	if len(w.chunks) == 0 || cap(w.chunks[len(w.chunks)-1])-len(w.chunks[len(w.chunks)-1]) < need {
		w.chunks = append(w.chunks, make([]byte, 0, max(writeChunk, need)))
	}
	last := &w.chunks[len(w.chunks)-1]
	*last = appendEncoded(*last, del, k, v)
	w.size += need
	w.n++
}

// put adds the writes to batch.
func (w *encodedWrites) put(b Batch) {
	for _, c := range w.chunks {
		putEncoded(b, c)
	}
}

func (w *encodedWrites) reset() {
	if len(w.chunks) > 0 {
		w.chunks = append(w.chunks[:0], w.chunks[0][:0])
	}
	w.size, w.n = 0, 0
}

// hint bounds the bytes of an update that writes the records (the store
// counts 11 bytes of framing a record, the encoding 3).
func (w *encodedWrites) hint() int { return w.size + 8*w.n + 1024 }

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

// treeTop keeps the UTXO tree's upper levels in memory: the nodes above
// topDepth (a few megabytes at most), as the flushed store holds them.
// Every flush reads all of them on its changed paths, and the rest of the
// tree is read from goleveldb. It is filled as nodes are read, updated
// from each flush's writes once they are in the store, and emptied when
// the tables are written some other way (a snapshot load).
type treeTop struct {
	mu sync.Mutex
	m  map[topKey][]byte // a nil value: no node stored there
}

const topDepth = 16

type topKey struct {
	d uint8
	p [2]byte
}

func newTreeTop() *treeTop { return &treeTop{m: make(map[topKey][]byte)} }

// key parses a node key of the upper levels.
func topKeyOf(key []byte) (topKey, bool) {
	n := len(treeTables.Nodes)
	if len(key) < n+1 || !bytes.HasPrefix(key, treeTables.Nodes) || key[n] >= topDepth {
		return topKey{}, false
	}
	k := topKey{d: key[n]}
	if copy(k.p[:], key[n+1:]) != len(key)-n-1 {
		return topKey{}, false
	}
	return k, true
}

// get returns a cached node: hit false when key is not an upper node or
// not cached.
func (t *treeTop) get(key []byte) (v []byte, ok, hit bool) {
	k, upper := topKeyOf(key)
	if !upper {
		return nil, false, false
	}
	t.mu.Lock()
	v, hit = t.m[k]
	t.mu.Unlock()
	return v, v != nil, hit
}

// fill caches what the store holds at key (nil: nothing).
func (t *treeTop) fill(key, v []byte) {
	if k, upper := topKeyOf(key); upper {
		t.mu.Lock()
		t.m[k] = v
		t.mu.Unlock()
	}
}

// written applies a flush's writes, now in the store.
func (t *treeTop) written(w *encodedWrites) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, recs := range w.chunks {
		eachEncoded(recs, func(del bool, k, v []byte) {
			if tk, upper := topKeyOf(k); upper {
				if del {
					t.m[tk] = nil
				} else {
					t.m[tk] = bytes.Clone(v)
				}
			}
		})
	}
}

func (t *treeTop) reset() {
	t.mu.Lock()
	clear(t.m)
	t.mu.Unlock()
}

// treeUpdate is the tree after the unflushed changes: its root, leaf count
// and the records a flush writes.
type treeUpdate struct {
	gen    uint64 // the engine's change generation it was computed at
	root   smt.Hash
	count  uint64
	writes *encodedWrites
}

// treeHint bounds the bytes a flush's tree writes take: exact once
// TreeRoot computed them, else a bound for dirty changed leaves (a leaf
// record each, and at worst a node record on every stored level).
func (e *Engine) treeHint(dirty int) int {
	if !e.state.Tree || e.loading != nil {
		return 0
	}
	if e.tree != nil && e.tree.gen == e.cache.mods {
		return e.tree.writes.hint()
	}
	levels := bits.Len64(e.state.TreeCount/smt.StoreThreshold+uint64(dirty)) + 2
	const leaf = 11 + 2 + smt.ShortPath + treeRefTxid + 5 + 32
	const node = 11 + 3 + 32 + 1 + 32 + 10
	return dirty * (leaf + levels*node)
}

// computeTree folds the dirty coins into the stored tree: the two halves
// of the tree on two goroutines, each with its own cursors.
func (e *Engine) computeTree(dirty []dirtyCoin) (*treeUpdate, error) {
	changes := e.treeChanges(dirty)
	var ws [2]encodedWrites
	r0, r1 := newTreeReader(e.db, e.treeTop, leafCursor|nodeCursors), newTreeReader(e.db, e.treeTop, leafCursor|nodeCursors)
	defer r0.close()
	defer r1.close()
	root, n, err := treeTables.ApplySplit([2]smt.Reader{r0, r1}, [2]smt.Writer{&ws[0], &ws[1]}, changes)
	if err != nil {
		return nil, fmt.Errorf("utxo: tree: %w", err)
	}
	w := &ws[0]
	w.chunks = append(w.chunks, ws[1].chunks...)
	w.size += ws[1].size
	w.n += ws[1].n
	return &treeUpdate{gen: e.cache.mods, root: root, count: n, writes: w}, nil
}

// treeChanges turns the dirty coins into the tree's changes, in path
// order: the paths radix-sorted on their first eight bytes (uniform), the
// rare equal ones by the whole path, then each change built in place.
// Their references share one allocation.
func (e *Engine) treeChanges(dirty []dirtyCoin) []smt.Change {
	paths := make([]smt.Hash, len(dirty))
	refs := make([]prefixRef, len(dirty))
	for i := range dirty {
		paths[i] = treePath(&dirty[i].op)
		refs[i] = prefixRef{binary.BigEndian.Uint64(paths[i][:8]), uint32(i)}
	}
	sortByPrefix(refs)
	sortRuns(refs, func(a, b uint32) bool { return bytes.Compare(paths[a][:], paths[b][:]) < 0 })
	changes := make([]smt.Change, len(dirty))
	arena := make([]byte, 0, len(dirty)*(treeRefTxid+5))
	for k, r := range refs {
		d := &dirty[r.i]
		ch := &changes[k]
		ch.Path = paths[r.i]
		start := len(arena)
		arena = appendTreeRef(arena, &d.op)
		ch.Ref = arena[start:len(arena):len(arena)]
		if d.ent.flags&flagSpent != 0 {
			ch.Delete = true
			continue
		}
		c := e.cache.coin(&d.ent)
		ch.Hash = treeLeaf(&ch.Path, &c)
	}
	return changes
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
