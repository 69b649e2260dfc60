package smt

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
)

// Apply folds changes into the tree stored in r and returns the new root
// and leaf count. Changes must be sorted by path, one per path; deleting a
// missing leaf is a no-op and setting a present one replaces it. Every
// write goes to w; r must not see them (Apply reads the tree as it was).
//
// The cost is one read per stored node on the changed paths plus one per
// unchanged sibling, and one short leaf scan for each changed subtree
// under StoreThreshold leaves: proportional to what changed, never to the
// size of the tree.
func (t *Tables) Apply(r Reader, changes []Change, w Writer) (Hash, uint64, error) {
	return t.ApplySplit([2]Reader{r}, [2]Writer{w}, changes)
}

// ApplySplit is Apply with the two halves of the tree (first path bit 0
// and 1) updated on two goroutines when both change, each reading through
// rs[i] and writing to ws[i]; with rs[1] or ws[1] nil it is Apply. The
// readers must see the same store; the writes of both writers together
// are Apply's.
func (t *Tables) ApplySplit(rs [2]Reader, ws [2]Writer, changes []Change) (Hash, uint64, error) {
	for i := 1; i < len(changes); i++ {
		if bytes.Compare(changes[i-1].Path[:], changes[i].Path[:]) >= 0 {
			return Hash{}, 0, fmt.Errorf("smt: changes not sorted by path, or repeated")
		}
	}
	if len(changes) == 0 {
		return t.Root(rs[0])
	}
	split := sort.Search(len(changes), func(i int) bool { return bit(&changes[i].Path, 0) == 1 })
	if rs[1] != nil && ws[1] != nil && split > 0 && split < len(changes) {
		if _, _, stored, err := t.node(rs[0], 0, &Hash{}); err != nil {
			return Hash{}, 0, err
		} else if stored {
			return t.applyHalves(rs, ws, changes, split)
		}
	}
	a := applier{t: t, r: rs[0], w: ws[0]}
	h, n, err := a.update(0, Hash{}, changes)
	if err != nil {
		return Hash{}, 0, err
	}
	a.writeLeaves(changes)
	return h, n, nil
}

// applyHalves updates the root's two subtrees concurrently.
func (t *Tables) applyHalves(rs [2]Reader, ws [2]Writer, changes []Change, split int) (Hash, uint64, error) {
	type half struct {
		h   Hash
		n   uint64
		err error
	}
	var res [2]half
	parts := [2][]Change{changes[:split], changes[split:]}
	done := make(chan struct{})
	work := func(i int) {
		a := applier{t: t, r: rs[i], w: ws[i]}
		res[i].h, res[i].n, res[i].err = a.update(1, withBit(Hash{}, 0, byte(i)), parts[i])
		if res[i].err == nil {
			a.writeLeaves(parts[i])
		}
	}
	go func() {
		defer close(done)
		work(1)
	}()
	work(0)
	<-done
	for _, r := range res {
		if r.err != nil {
			return Hash{}, 0, r.err
		}
	}
	h, n := combine(res[0].h, res[0].n, res[1].h, res[1].n), res[0].n+res[1].n
	key := t.nodeKey(0, &Hash{})
	if n >= StoreThreshold {
		ws[0].Put(key, encodeNode(&h, n))
	} else {
		ws[0].Delete(key)
	}
	return h, n, nil
}

// writeLeaves writes the leaf table's changes, once update has found
// which deletes remove a leaf.
func (a *applier) writeLeaves(changes []Change) {
	for i := range changes {
		c := &changes[i]
		if c.Delete {
			if a.deleted[c.Path] {
				a.w.Delete(a.t.LeafKey(&c.Path, c.Ref))
			}
			continue
		}
		a.w.Put(a.t.LeafKey(&c.Path, c.Ref), c.Hash[:])
	}
}

type applier struct {
	t *Tables
	r Reader
	w Writer
	// deleted marks the deletes whose leaf was found: only those write.
	deleted map[Hash]bool
	// leaves is reused by the scans of changed subtrees.
	leaves []Leaf
}

// update returns the subtree (d, prefix) with changes (all under prefix,
// at least one, in path order) applied, writing its new and stale nodes.
func (a *applier) update(d int, prefix Hash, changes []Change) (Hash, uint64, error) {
	_, _, stored, err := a.t.node(a.r, d, &prefix)
	if err != nil {
		return Hash{}, 0, err
	}
	if !stored {
		// Fewer than StoreThreshold leaves, so no node below is stored
		// either: merge the changes into its leaves and rebuild it.
		leaves, err := a.t.scan(a.r, d, &prefix, a.leaves[:0])
		if err != nil {
			return Hash{}, 0, err
		}
		merged := a.merge(leaves, changes)
		a.leaves = leaves
		h, err := a.build(d, prefix, merged)
		return h, uint64(len(merged)), err
	}
	if d >= 256 {
		return Hash{}, 0, corruptf("stored node at depth 256")
	}
	i := sort.Search(len(changes), func(i int) bool { return bit(&changes[i].Path, d) == 1 })
	lp, rp := prefix, withBit(prefix, d, 1)
	var lh, rh Hash
	var lc, rc uint64
	if i > 0 {
		lh, lc, err = a.update(d+1, lp, changes[:i])
	} else {
		lh, lc, err = a.t.subtree(a.r, d+1, &lp)
	}
	if err != nil {
		return Hash{}, 0, err
	}
	if i < len(changes) {
		rh, rc, err = a.update(d+1, rp, changes[i:])
	} else {
		rh, rc, err = a.t.subtree(a.r, d+1, &rp)
	}
	if err != nil {
		return Hash{}, 0, err
	}
	h, n := combine(lh, lc, rh, rc), lc+rc
	key := a.t.nodeKey(d, &prefix)
	if n >= StoreThreshold {
		a.w.Put(key, encodeNode(&h, n))
	} else {
		a.w.Delete(key)
	}
	return h, n, nil
}

// merge applies changes (in path order) to leaves (in the leaf table's
// order, which is path order but among leaves sharing a short path, or
// in path order),
// matching a change to a stored leaf by short path and reference, and
// returns the result in the leaf table's order.
func (a *applier) merge(leaves []Leaf, changes []Change) []Leaf {
	cmp := func(x, y *Change) int { return keyCmp(&x.Path, x.Ref, &y.Path, y.Ref) }
	for i := 1; i < len(changes); i++ {
		if cmp(&changes[i-1], &changes[i]) > 0 {
			changes = slices.Clone(changes)
			slices.SortFunc(changes, func(x, y Change) int { return cmp(&x, &y) })
			break
		}
	}
	// Below depth 64 the scan resolved the leaves into path order.
	for i := 1; i < len(leaves); i++ {
		if keyCmp(&leaves[i-1].Path, leaves[i-1].Ref, &leaves[i].Path, leaves[i].Ref) > 0 {
			slices.SortFunc(leaves, func(x, y Leaf) int { return keyCmp(&x.Path, x.Ref, &y.Path, y.Ref) })
			break
		}
	}
	out := make([]Leaf, 0, len(leaves)+len(changes))
	i := 0
	for j := range changes {
		c := &changes[j]
		for i < len(leaves) && keyCmp(&leaves[i].Path, leaves[i].Ref, &c.Path, c.Ref) < 0 {
			out = append(out, leaves[i])
			i++
		}
		found := i < len(leaves) && keyCmp(&leaves[i].Path, leaves[i].Ref, &c.Path, c.Ref) == 0
		if found {
			i++
		}
		if c.Delete {
			if found {
				if a.deleted == nil {
					a.deleted = make(map[Hash]bool)
				}
				a.deleted[c.Path] = true
			}
			continue
		}
		out = append(out, Leaf{Path: c.Path, Full: true, Hash: c.Hash, Ref: c.Ref})
	}
	return append(out, leaves[i:]...)
}

// build hashes the subtree (d, prefix) holding leaves, none of whose nodes
// was stored, and stores those that now hold StoreThreshold leaves.
func (a *applier) build(d int, prefix Hash, leaves []Leaf) (Hash, error) {
	if len(leaves) < StoreThreshold {
		return hashLeaves(a.r, d, leaves)
	}
	if d >= shortBits {
		if err := resolve(a.r, leaves); err != nil {
			return Hash{}, err
		}
	}
	i := splitAt(leaves, d)
	l, err := a.build(d+1, prefix, leaves[:i])
	if err != nil {
		return Hash{}, err
	}
	r, err := a.build(d+1, withBit(prefix, d, 1), leaves[i:])
	if err != nil {
		return Hash{}, err
	}
	h := InnerHash(&l, &r)
	a.w.Put(a.t.nodeKey(d, &prefix), encodeNode(&h, uint64(len(leaves))))
	return h, nil
}

// Build writes the tree of a sorted stream of leaves into an empty store:
// every leaf record, in path order, and every node of StoreThreshold
// leaves or more. next returns the leaves in strictly increasing path
// order and false at the end; after each leaf, Build calls written, which
// may move w's records to disk. The stream is read once and never held:
// memory is one leaf per level of the tree.
func (t *Tables) Build(next func() (Leaf, bool, error), w Writer, written func() error) (Hash, uint64, error) {
	b := streamBuilder{t: t, next: next, w: w, written: written}
	h, n, err := b.sub(0, Hash{})
	if err != nil {
		return Hash{}, 0, err
	}
	if _, ok, err := b.peek(0); err != nil {
		return Hash{}, 0, err
	} else if ok {
		return Hash{}, 0, fmt.Errorf("smt: leaves out of order")
	}
	return h, n, nil
}

type streamBuilder struct {
	t       *Tables
	next    func() (Leaf, bool, error)
	w       Writer
	written func() error
	buf     [2]Leaf
	n       int
	eof     bool
	last    Hash
	started bool
}

// peek returns the i-th leaf not yet consumed (i < 2).
func (b *streamBuilder) peek(i int) (*Leaf, bool, error) {
	for b.n <= i && !b.eof {
		l, ok, err := b.next()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			b.eof = true
			break
		}
		prev := b.last
		if b.n > 0 {
			prev = b.buf[b.n-1].Path
		}
		if !l.Full {
			return nil, false, fmt.Errorf("smt: a leaf to build with a short path")
		}
		if (b.started || b.n > 0) && bytes.Compare(prev[:], l.Path[:]) >= 0 {
			return nil, false, fmt.Errorf("smt: leaves out of order or repeated at %x", l.Path)
		}
		b.buf[b.n] = l
		b.n++
	}
	if i >= b.n {
		return nil, false, nil
	}
	return &b.buf[i], true, nil
}

// consume writes the first buffered leaf and drops it.
func (b *streamBuilder) consume() (Hash, error) {
	l := b.buf[0]
	b.w.Put(b.t.LeafKey(&l.Path, l.Ref), l.Hash[:])
	b.last, b.started = l.Path, true
	b.buf[0], b.buf[1] = b.buf[1], Leaf{}
	b.n--
	if b.written != nil {
		if err := b.written(); err != nil {
			return Hash{}, err
		}
	}
	return l.Hash, nil
}

func (b *streamBuilder) sub(d int, prefix Hash) (Hash, uint64, error) {
	l0, ok, err := b.peek(0)
	if err != nil || !ok || !hasPrefix(&l0.Path, &prefix, d) {
		return Empty, 0, err
	}
	l1, ok, err := b.peek(1)
	if err != nil {
		return Hash{}, 0, err
	}
	if !ok || !hasPrefix(&l1.Path, &prefix, d) {
		h, err := b.consume()
		return h, 1, err
	}
	if d >= 256 {
		return Hash{}, 0, fmt.Errorf("smt: repeated leaf %x", l0.Path)
	}
	lh, lc, err := b.sub(d+1, prefix)
	if err != nil {
		return Hash{}, 0, err
	}
	rh, rc, err := b.sub(d+1, withBit(prefix, d, 1))
	if err != nil {
		return Hash{}, 0, err
	}
	h, n := combine(lh, lc, rh, rc), lc+rc
	if n >= StoreThreshold {
		b.w.Put(b.t.nodeKey(d, &prefix), encodeNode(&h, n))
	}
	return h, n, nil
}
