package btcheaders

import (
	"bytes"
	"fmt"
	"slices"
)

// better reports whether a beats b in fork choice: more cumulative work, or
// as much and seen first. Sequence numbers are unique, so this is a strict
// total order and the winner never depends on the order of a walk.
func better(a, b *Node) bool {
	if c := bytes.Compare(a.work[:], b.work[:]); c != 0 {
		return c > 0
	}
	return a.seq < b.seq
}

// Tips returns the leaves of the tree (nodes without children), by
// cumulative work descending, then hash ascending (byte order of the
// internal, little-endian hash).
func (t *Tree) Tips() []*Node {
	out := make([]*Node, 0, len(t.tips))
	for n := range t.tips {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node) int {
		if c := bytes.Compare(b.work[:], a.work[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.hash[:], b.hash[:])
	})
	return out
}

// BestChain returns the tip of the best chain: the node with the most
// cumulative work among those whose every header from just above the base up
// to and including itself satisfies ok; among equal work, the one the tree
// saw first (lowest Seq). The base is final and is not passed to ok, so the
// result is the base when nothing above it qualifies. A nil ok accepts
// everything.
//
// It visits every node above the base that ok accepts, calling ok once per
// node visited, and never calls ok on a node whose parent failed.
func (t *Tree) BestChain(ok func(*Node) bool) *Node {
	best := t.base
	stack := []*Node{t.base}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if better(n, best) {
			best = n
		}
		// Push in reverse so children are visited in insertion order; the
		// result does not depend on it, but ok's call order then does not
		// either.
		for i := len(n.children) - 1; i >= 0; i-- {
			if c := n.children[i]; ok == nil || ok(c) {
				stack = append(stack, c)
			}
		}
	}
	return best
}

// BestHeader returns BestChain(nil), the node with the most cumulative work
// above the base (ties to the one seen first), or the base when nothing is
// above it. It is kept up to date as headers are added, so it costs nothing;
// only a SetBase that prunes it walks the tree to find the next one.
func (t *Tree) BestHeader() *Node { return t.best }

// ForkPoint returns the last common ancestor of a and b (a itself if it is
// an ancestor of b), or nil if they share none in the tree.
func (t *Tree) ForkPoint(a, b *Node) *Node {
	if a == nil || b == nil {
		return nil
	}
	for a.height > b.height {
		a = a.parent
	}
	for b != nil && b.height > a.height {
		b = b.parent
	}
	for a != nil && b != nil && a != b {
		a, b = a.parent, b.parent
	}
	if a == nil || b == nil {
		return nil
	}
	return a
}

// SetBase moves the finalized base up to n, a node at or above the current
// base. It prunes every node that does not descend from n, except n's
// ancestry down to RequiredBottom(n.Height()), which later headers still
// need; nodes below that are dropped too. The pruned nodes' keys are deleted
// by the next WriteChanges. Moving the base to itself does nothing.
//
// It returns the pruned nodes that were above the old base (height greater
// than the old base's), in (height, hash) order: the headers that were
// candidates for the best chain and are gone, so that a caller keeping
// records per candidate can drop exactly those without scanning the rest.
// That is the branches that do not descend from n and, when n is far enough
// above the old base, the finalized headers between the old base and the new
// bottom. The old base and its ancestry below it are never returned, even
// when they are dropped, and neither are the finalized headers that stay (n
// and its ancestors from the new bottom up, walked with Parent). Pruned
// nodes keep their Hash, Height, Seq and Work; nothing else of them is
// meaningful.
func (t *Tree) SetBase(n *Node) ([]*Node, error) {
	if n == nil || n.pruned || t.index[n.hash] != n {
		return nil, ErrNotInTree
	}
	if n.height < t.base.height {
		return nil, fmt.Errorf("%w: node at %d, base at %d", ErrBaseBackwards, n.height, t.base.height)
	}
	if n == t.base {
		return nil, nil
	}
	// Nodes at or above the base's height all descend from the base, so n
	// does; its path down to the bottom is the spine that survives, up to
	// newBottom.
	newBottom := n.Ancestor(RequiredBottom(t.params, n.height))
	if newBottom == nil || newBottom.height < t.bottom.height {
		return nil, fmt.Errorf("%w: ancestry of the new base is missing", ErrInternal)
	}
	// Below the old base the spine has no branches, so every branch pruned
	// is above it; only the spine's own dropped nodes need the height test.
	oldBase := t.base.height
	var gone []*Node
	child := n
	for p := n.parent; p != nil; {
		next := p.parent // drop clears it
		for _, c := range p.children {
			if c != child {
				gone = t.pruneSubtree(c, gone)
			}
		}
		if len(p.children) != 1 {
			// A fresh slice: the old backing array would keep the pruned
			// branches reachable.
			p.children = []*Node{child}
		}
		if p.height < newBottom.height {
			t.drop(p)
			if p.height > oldBase {
				gone = append(gone, p)
			}
		}
		child, p = p, next
	}
	prev := newBottom.parent
	if prev != nil {
		h := prev.hash
		newBottom.prev = &h
		newBottom.parent = nil
	}
	t.bottom = newBottom
	t.base = n
	if t.cp != nil && t.cp.pruned {
		t.cp = t.findCheckpoint()
	}
	// The best node survives unless it was on a pruned branch (it is never a
	// strict ancestor of n: n has more work); then the walk finds the next.
	if t.best.pruned {
		t.best = t.BestChain(nil)
	}
	t.metaDirty = true
	slices.SortFunc(gone, compareHeightHash)
	return gone, nil
}

// pruneSubtree drops c and all its descendants, appending them to gone.
func (t *Tree) pruneSubtree(c *Node, gone []*Node) []*Node {
	stack := []*Node{c}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		stack = append(stack, n.children...)
		t.drop(n)
		gone = append(gone, n)
	}
	return gone
}

// drop removes one node from the index and records its key for deletion if
// it was ever written.
func (t *Tree) drop(n *Node) {
	delete(t.index, n.hash)
	t.root.remove(n)
	delete(t.tips, n)
	n.pruned = true
	if n.saved {
		t.deleted = append(t.deleted, t.nodeKey(n))
	}
	// Unlink so the garbage collector can take the pruned part even if the
	// caller holds on to one node of it.
	n.children = nil
	n.parent = nil
}
