package utxo

import (
	"fmt"

	"github.com/satnode/satnode/utxo/smt"
)

// CoinProof is what the UTXO tree says about one outpoint at the reader's
// state: the coin with the sibling hashes from its leaf to Root, or, when
// it is not in the set, the coins on either side of where it would be,
// each with its own siblings (either can be nil at an end of the tree).
//
// Siblings are top down: Siblings[d] is the other child at depth d, so the
// leaf sits at depth len(Siblings). Keys and values are TreeKey and
// TreeValue; turning this into ICS-23 protobuf is the RPC layer's job.
type CoinProof struct {
	Root     [32]byte
	Outpoint Outpoint
	Found    bool
	Coin     Coin
	Siblings [][32]byte
	Left     *NeighbourProof
	Right    *NeighbourProof
}

// NeighbourProof is a coin next to an absent outpoint, with its siblings.
type NeighbourProof struct {
	Outpoint Outpoint
	Coin     Coin
	Siblings [][32]byte
}

// TreeRoot returns the UTXO tree's root and leaf count at the reader's
// state, or ErrNoTree.
func (r *Reader) TreeRoot() ([32]byte, uint64, error) {
	st, err := r.State()
	if err != nil {
		return [32]byte{}, 0, err
	}
	if !st.Tree {
		return [32]byte{}, 0, ErrNoTree
	}
	return st.TreeRoot, st.TreeCount, nil
}

// ProveCoin proves op's presence or absence in the UTXO tree.
func (r *Reader) ProveCoin(op Outpoint) (*CoinProof, error) {
	root, _, err := r.TreeRoot()
	if err != nil {
		return nil, err
	}
	tr := newTreeReader(r.kv, nil, leafCursor)
	defer tr.close()
	p, err := treeTables.Prove(tr, smt.PathOf(TreeKey(op)), treeRef(&op))
	if err != nil {
		return nil, fmt.Errorf("utxo: proving %s: %w", op, err)
	}
	out := &CoinProof{Root: root, Outpoint: op, Found: p.Found}
	if p.Found {
		c, err := r.Coin(op)
		if err != nil {
			return nil, corruptf("coin %s is in the tree but not in the coins table: %v", op, err)
		}
		if err := checkLeaf(&p.Leaf.Leaf, &op, &c); err != nil {
			return nil, err
		}
		out.Coin, out.Siblings = c, siblings(p.Leaf)
		return out, nil
	}
	if out.Left, err = r.neighbour(p.Left); err != nil {
		return nil, err
	}
	if out.Right, err = r.neighbour(p.Right); err != nil {
		return nil, err
	}
	return out, nil
}

func siblings(lp *smt.LeafProof) [][32]byte {
	out := make([][32]byte, len(lp.Siblings))
	for i := range lp.Siblings {
		out[i] = lp.Siblings[i]
	}
	return out
}

// checkLeaf requires the leaf to commit to the coin: the two tables were
// written in one update, so a mismatch is corruption.
func checkLeaf(l *smt.Leaf, op *Outpoint, c *Coin) error {
	if treeLeafHash(op, c) != l.Hash {
		return corruptf("the tree's leaf %x does not commit to its coin", l.Path)
	}
	return nil
}

// neighbour resolves a neighbouring leaf to its coin through the leaf's
// reference.
func (r *Reader) neighbour(lp *smt.LeafProof) (*NeighbourProof, error) {
	if lp == nil {
		return nil, nil
	}
	op, c, err := findTreeCoin(r.kv, lp.Leaf.Path[:], lp.Leaf.Ref, true)
	if err != nil {
		return nil, err
	}
	if err := checkLeaf(&lp.Leaf, &op, &c); err != nil {
		return nil, err
	}
	return &NeighbourProof{Outpoint: op, Coin: c, Siblings: siblings(lp)}, nil
}
