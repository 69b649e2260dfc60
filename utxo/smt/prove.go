package smt

import "bytes"

// LeafProof proves one leaf: Siblings[d] is the hash of the other child of
// the leaf's ancestor at depth d, top down, so the leaf sits at depth
// len(Siblings) and bit d of its path says on which side.
type LeafProof struct {
	Leaf     Leaf
	Siblings []Hash
}

// Root recomputes the root the proof leads to.
func (p *LeafProof) Root() Hash {
	h := p.Leaf.Hash()
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

// Prove returns the proof for path in the tree stored in r.
func (t *Tables) Prove(r Reader, path Hash) (*Proof, error) {
	lp, err := t.proveAt(r, path)
	if err != nil {
		return nil, err
	}
	if lp != nil && lp.Leaf.Path == path {
		return &Proof{Found: true, Leaf: lp}, nil
	}
	left, right, err := t.neighbours(r, path)
	if err != nil {
		return nil, err
	}
	p := &Proof{}
	if left != nil {
		if p.Left, err = t.proveAt(r, left.Path); err != nil {
			return nil, err
		}
	}
	if right != nil {
		if p.Right, err = t.proveAt(r, right.Path); err != nil {
			return nil, err
		}
	}
	if (left != nil && (p.Left == nil || p.Left.Leaf.Path != left.Path)) ||
		(right != nil && (p.Right == nil || p.Right.Leaf.Path != right.Path)) {
		return nil, corruptf("a neighbouring leaf is in the leaf table but not in the tree")
	}
	return p, nil
}

// proveAt descends towards path and returns the leaf found where path
// would sit, with its siblings: path's own leaf, another leaf (path is
// absent), or nil (the position is empty).
func (t *Tables) proveAt(r Reader, path Hash) (*LeafProof, error) {
	var sibs []Hash
	var prefix Hash
	d := 0
	for {
		_, n, stored, err := t.node(r, d, &prefix)
		if err != nil {
			return nil, err
		}
		if !stored {
			break
		}
		if d >= 256 || n < 2 {
			return nil, corruptf("stored node at depth %d", d)
		}
		own, other := withBit(prefix, d, bit(&path, d)), withBit(prefix, d, 1-bit(&path, d))
		h, _, err := t.subtree(r, d+1, &other)
		if err != nil {
			return nil, err
		}
		sibs = append(sibs, h)
		prefix = own
		d++
	}
	leaves, err := t.scan(r, d, &prefix, nil)
	if err != nil {
		return nil, err
	}
	for len(leaves) >= 2 {
		i := splitAt(leaves, d)
		own, other := leaves[:i], leaves[i:]
		if bit(&path, d) == 1 {
			own, other = other, own
		}
		sibs = append(sibs, hashLeaves(d+1, other))
		leaves = own
		d++
	}
	if len(leaves) == 0 {
		return nil, nil
	}
	return &LeafProof{Leaf: leaves[0], Siblings: sibs}, nil
}

// neighbours returns the leaves just before and just after path (absent),
// either nil at an end.
func (t *Tables) neighbours(r Reader, path Hash) (left, right *Leaf, err error) {
	// The right one: the first leaf after path in the leaf table.
	err = r.Scan(t.Leaves, t.LeafKey(&path), func(k, v []byte) (bool, error) {
		l, err := t.DecodeLeaf(k, v)
		if err != nil {
			return false, err
		}
		if l.Path == path {
			return true, nil
		}
		right = &l
		return false, nil
	})
	if err != nil {
		return nil, nil, err
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
	for i := len(leaves) - 1; i >= 0; i-- {
		if bytes.Compare(leaves[i].Path[:], path[:]) < 0 {
			return &leaves[i], right, nil
		}
	}
	if lastLeft == nil {
		return nil, right, nil
	}
	l, err := t.lastLeaf(r, lastDepth, *lastLeft)
	return l, right, err
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
	return &leaves[len(leaves)-1], nil
}
