package smt

import (
	"bytes"
	"fmt"
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
	for i := 1; i < len(changes); i++ {
		if bytes.Compare(changes[i-1].Path[:], changes[i].Path[:]) >= 0 {
			return Hash{}, 0, fmt.Errorf("smt: changes not sorted by path, or repeated")
		}
	}
	if len(changes) == 0 {
		return t.Root(r)
	}
	a := applier{t: t, r: r, w: w}
	h, n, err := a.update(0, Hash{}, changes)
	if err != nil {
		return Hash{}, 0, err
	}
	// The leaf table, in key order.
	for i := range changes {
		c := &changes[i]
		if c.Delete {
			if a.present(c) {
				w.Delete(t.LeafKey(&c.Path))
			}
			continue
		}
		w.Put(t.LeafKey(&c.Path), encodeLeafValue(&c.ValueHash, c.Ref))
	}
	return h, n, nil
}

type applier struct {
	t *Tables
	r Reader
	w Writer
	// deleted marks the deletes whose leaf was found: only those write.
	deleted map[Hash]bool
}

func (a *applier) present(c *Change) bool { return a.deleted[c.Path] }

// update returns the subtree (d, prefix) with changes (all under prefix,
// at least one) applied, writing its new and stale nodes.
func (a *applier) update(d int, prefix Hash, changes []Change) (Hash, uint64, error) {
	_, _, stored, err := a.t.node(a.r, d, &prefix)
	if err != nil {
		return Hash{}, 0, err
	}
	if !stored {
		// Fewer than StoreThreshold leaves, so no node below is stored
		// either: merge the changes into its leaves and rebuild it.
		leaves, err := a.t.scan(a.r, d, &prefix, nil)
		if err != nil {
			return Hash{}, 0, err
		}
		merged := a.merge(leaves, changes)
		h := a.build(d, prefix, merged)
		return h, uint64(len(merged)), nil
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

// merge applies changes to leaves (both in path order).
func (a *applier) merge(leaves []Leaf, changes []Change) []Leaf {
	out := make([]Leaf, 0, len(leaves)+len(changes))
	i := 0
	for j := range changes {
		c := &changes[j]
		for i < len(leaves) && bytes.Compare(leaves[i].Path[:], c.Path[:]) < 0 {
			out = append(out, leaves[i])
			i++
		}
		found := i < len(leaves) && leaves[i].Path == c.Path
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
		out = append(out, Leaf{Path: c.Path, ValueHash: c.ValueHash, Ref: c.Ref})
	}
	return append(out, leaves[i:]...)
}

// build hashes the subtree (d, prefix) holding leaves, none of whose nodes
// was stored, and stores those that now hold StoreThreshold leaves.
func (a *applier) build(d int, prefix Hash, leaves []Leaf) Hash {
	if len(leaves) < StoreThreshold {
		return hashLeaves(d, leaves)
	}
	i := splitAt(leaves, d)
	l := a.build(d+1, prefix, leaves[:i])
	r := a.build(d+1, withBit(prefix, d, 1), leaves[i:])
	h := InnerHash(&l, &r)
	a.w.Put(a.t.nodeKey(d, &prefix), encodeNode(&h, uint64(len(leaves))))
	return h
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
	b.w.Put(b.t.LeafKey(&l.Path), encodeLeafValue(&l.ValueHash, l.Ref))
	b.last, b.started = l.Path, true
	b.buf[0], b.buf[1] = b.buf[1], Leaf{}
	b.n--
	if b.written != nil {
		if err := b.written(); err != nil {
			return Hash{}, err
		}
	}
	return l.Hash(), nil
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
