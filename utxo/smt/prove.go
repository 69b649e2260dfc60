package smt

import "bytes"

// LeafProof proves one leaf: Siblings[d] is the hash of the other child of
// the leaf's ancestor at depth d, top down, so the leaf sits at depth
// len(Siblings) and bit d of its path says on which side. Leaf.Path is
// whole.
type LeafProof struct {
	Leaf     Leaf
	Siblings []Hash
}

// Root recomputes the root the proof leads to.
func (p *LeafProof) Root() Hash {
	h := p.Leaf.Hash
	for d := len(p.Siblings) - 1; d >= 0; d-- {
		if bit(&p.Leaf.Path, d) == 0 {
			h = InnerHash(&h, &p.Siblings[d])
		} else {
			h = InnerHash(&p.Siblings[d], &h)
		}
	}
	return h
}

// Proof answers for one path: the leaf there with its proof (Found), or
// the leaves on either side of it, each with its proof (either can be
// missing at an end of the tree, both in an empty tree).
type Proof struct {
	Found       bool
	Leaf        *LeafProof
	Left, Right *LeafProof
}

// Prove returns the proof for the leaf of path (whole) and ref in the tree
// stored in r.
func (t *Tables) Prove(r Reader, path Hash, ref []byte) (*Proof, error) {
	lp, err := t.proveAt(r, path, ref)
	if err != nil {
		return nil, err
	}
	if lp != nil {
		return &Proof{Found: true, Leaf: lp}, nil
	}
	left, right, err := t.neighbours(r, path)
	if err != nil {
		return nil, err
	}
	p := &Proof{}
	for _, n := range []struct {
		l   *Leaf
		dst **LeafProof
	}{{left, &p.Left}, {right, &p.Right}} {
		if n.l == nil {
			continue
		}
		if *n.dst, err = t.proveAt(r, n.l.Path, n.l.Ref); err != nil {
			return nil, err
		}
		if *n.dst == nil {
			return nil, corruptf("a neighbouring leaf is in the leaf table but not in the tree")
		}
	}
	return p, nil
}

// proveAt descends towards path and returns the leaf of path and ref with
// its siblings, or nil when the tree does not hold it.
func (t *Tables) proveAt(r Reader, path Hash, ref []byte) (*LeafProof, error) {
	var sibs []Hash
	var prefix Hash
	// A subtree's node is stored exactly when it holds StoreThreshold
	// leaves, and its count is its parent's less its sibling's: reading
	// the sibling at each level tells whether the way down goes on
	// through stored nodes, so only siblings are read.
	_, n, stored, err := t.node(r, 0, &prefix)
	if err != nil {
		return nil, err
	}
	d := 0
	for stored {
		if d >= 256 || n < 2 {
			return nil, corruptf("stored node at depth %d", d)
		}
		own, other := withBit(prefix, d, bit(&path, d)), withBit(prefix, d, 1-bit(&path, d))
		h, on, err := t.subtree(r, d+1, &other)
		if err != nil {
			return nil, err
		}
		if on > n {
			return nil, corruptf("depth %d: a subtree counts %d leaves of its parent's %d", d+1, on, n)
		}
		sibs = append(sibs, h)
		prefix = own
		d++
		n -= on
		stored = n >= StoreThreshold
	}
	leaves, err := t.scan(r, d, &prefix, nil)
	if err != nil {
		return nil, err
	}
	for len(leaves) >= 2 {
		if d >= 256 {
			return nil, corruptf("two leaves at path %x", leaves[0].Path)
		}
		if d >= shortBits {
			if err := resolve(r, leaves); err != nil {
				return nil, err
			}
		}
		i := splitAt(leaves, d)
		own, other := leaves[:i], leaves[i:]
		if bit(&path, d) == 1 {
			own, other = other, own
		}
		h, err := hashLeaves(r, d+1, other)
		if err != nil {
			return nil, err
		}
		sibs = append(sibs, h)
		leaves = own
		d++
	}
	if len(leaves) == 0 || keyCmp(&leaves[0].Path, leaves[0].Ref, &path, ref) != 0 {
		return nil, nil
	}
	l := leaves[0]
	l.Path, l.Full = path, true
	return &LeafProof{Leaf: l, Siblings: sibs}, nil
}

// neighbours returns the leaves just before and just after path (absent),
// either nil at an end, with whole paths.
func (t *Tables) neighbours(r Reader, path Hash) (left, right *Leaf, err error) {
	// The right one: the first leaf after path in path order. The leaf
	// table is in that order but among leaves sharing a short path, so
	// the leaves sharing path's, then those sharing the next short path,
	// are resolved and compared whole.
	var same, next []Leaf
	start := make([]byte, 0, len(t.Leaves)+ShortPath)
	start = append(append(start, t.Leaves...), path[:ShortPath]...)
	err = r.Scan(t.Leaves, start, func(k, v []byte) (bool, error) {
		l, err := t.DecodeLeaf(k, v)
		if err != nil {
			return false, err
		}
		switch {
		case bytes.Equal(l.Path[:ShortPath], path[:ShortPath]):
			same = append(same, l)
		case len(next) == 0 || bytes.Equal(l.Path[:ShortPath], next[0].Path[:ShortPath]):
			next = append(next, l)
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := resolve(r, same); err != nil {
		return nil, nil, err
	}
	for i := range same {
		if bytes.Compare(same[i].Path[:], path[:]) > 0 {
			right = &same[i]
			break
		}
	}
	if right == nil && len(next) > 0 {
		if len(next) > 1 {
			if err := resolve(r, next); err != nil {
				return nil, nil, err
			}
		}
		right = &next[0]
	}
	// The left one: the last leaf of the deepest non-empty subtree left of
	// path's way down, found by walking down that subtree's right edge.
	var prefix Hash
	var lastLeft *Hash
	lastDepth := 0
	d := 0
	for d < 256 {
		_, _, stored, err := t.node(r, d, &prefix)
		if err != nil {
			return nil, nil, err
		}
		if !stored {
			break
		}
		if bit(&path, d) == 1 {
			lp := withBit(prefix, d, 0)
			if _, n, err := t.subtree(r, d+1, &lp); err != nil {
				return nil, nil, err
			} else if n > 0 {
				c := lp
				lastLeft, lastDepth = &c, d+1
			}
		}
		prefix = withBit(prefix, d, bit(&path, d))
		d++
	}
	leaves, err := t.scan(r, d, &prefix, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := resolveShared(r, leaves, path[:ShortPath]); err != nil {
		return nil, nil, err
	}
	for i := len(leaves) - 1; i >= 0; i-- {
		if bytes.Compare(leaves[i].Path[:], path[:]) < 0 {
			// The last of its short path's leaves: resolved, the
			// greatest path among them is last.
			if err := resolveShared(r, leaves, leaves[i].Path[:ShortPath]); err != nil {
				return nil, nil, err
			}
			left = &leaves[i]
			break
		}
	}
	if left == nil && lastLeft != nil {
		if left, err = t.lastLeaf(r, lastDepth, *lastLeft); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range []*Leaf{left, right} {
		if err := resolveLeaf(r, l); err != nil {
			return nil, nil, err
		}
	}
	return left, right, nil
}

// resolveShared resolves the leaves (in key order) whose short path is
// short, so that they compare by whole path with a path that has it.
func resolveShared(r Reader, leaves []Leaf, short []byte) error {
	i := 0
	for i < len(leaves) && bytes.Compare(leaves[i].Path[:ShortPath], short) < 0 {
		i++
	}
	j := i
	for j < len(leaves) && bytes.Equal(leaves[j].Path[:ShortPath], short) {
		j++
	}
	return resolve(r, leaves[i:j])
}

// lastLeaf returns the leaf with the greatest path in the non-empty
// subtree (d, prefix).
func (t *Tables) lastLeaf(r Reader, d int, prefix Hash) (*Leaf, error) {
	for d < 256 {
		_, _, stored, err := t.node(r, d, &prefix)
		if err != nil {
			return nil, err
		}
		if !stored {
			break
		}
		rp := withBit(prefix, d, 1)
		_, n, err := t.subtree(r, d+1, &rp)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			prefix = rp
		}
		d++
	}
	leaves, err := t.scan(r, d, &prefix, nil)
	if err != nil {
		return nil, err
	}
	if len(leaves) == 0 {
		return nil, corruptf("an empty subtree was counted as holding leaves")
	}
	// The last leaves may share a short path: the greatest whole path wins.
	if err := resolveShared(r, leaves, leaves[len(leaves)-1].Path[:ShortPath]); err != nil {
		return nil, err
	}
	return &leaves[len(leaves)-1], nil
}
