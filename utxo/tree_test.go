package utxo_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/smt"
)

// scratchTreeRoot hashes the tip's set, read with SetAt, into a fresh
// tree: what the incrementally kept one must equal.
func scratchTreeRoot(t *testing.T, r *utxo.Reader) ([32]byte, []utxo.Outpoint) {
	t.Helper()
	st, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	var leaves []smt.Leaf
	var ops []utxo.Outpoint
	err = r.SetAt(st.TipHeight, func(uint64) error { return nil }, func(op utxo.Outpoint, c utxo.Coin) error {
		leaves = append(leaves, smt.NewLeaf(smt.PathOf(utxo.TreeKey(op)), smt.ValueHash(utxo.TreeValue(&c)), []byte{1}))
		ops = append(ops, op)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(leaves, func(a, b smt.Leaf) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	i := 0
	tables := smt.Tables{Leaves: []byte{'x'}, Nodes: []byte{'y'}}
	root, n, err := tables.Build(func() (smt.Leaf, bool, error) {
		if i == len(leaves) {
			return smt.Leaf{}, false, nil
		}
		i++
		return leaves[i-1], true, nil
	}, discard{}, nil)
	if err != nil || n != uint64(len(leaves)) {
		t.Fatalf("scratch tree: %v (%d leaves of %d)", err, n, len(leaves))
	}
	return root, ops
}

type discard struct{}

func (discard) Put(k, v []byte) {}
func (discard) Delete(k []byte) {}

// rootFrom recomputes the root from a leaf and its top-down siblings.
func rootFrom(key, value []byte, sibs [][32]byte) [32]byte {
	path := smt.PathOf(key)
	vh := smt.ValueHash(value)
	h := smt.LeafHash(&path, &vh)
	for d := len(sibs) - 1; d >= 0; d-- {
		s := smt.Hash(sibs[d])
		if path[d>>3]>>(7-uint(d&7))&1 == 0 {
			h = smt.InnerHash(&h, &s)
		} else {
			h = smt.InnerHash(&s, &h)
		}
	}
	return h
}

// TestTreeFollowsTheSet connects and disconnects mainnet blocks and
// requires the kept root to equal a from-scratch hash of the set, and
// every proof (present coins, spent and never-created outpoints) to lead
// to it.
func TestTreeFollowsTheSet(t *testing.T) {
	raws := mainnetBlocks(t)[:1500]
	s := memstore.New()
	e := openEngine(t, s, utxo.Config{Params: utxo.MainNet(), CacheBytes: 64 << 10, FlushInterval: 7})
	for h, raw := range raws {
		if _, err := e.Connect(decode(t, raw)); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
	}
	live, err := e.TreeRoot()
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := e.Disconnect(); err != nil {
			t.Fatal(err)
		}
	}
	afterDisconnect, err := e.TreeRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	r := utxo.NewReader(s)
	root, n, err := r.TreeRoot()
	if err != nil {
		t.Fatal(err)
	}
	scratch, ops := scratchTreeRoot(t, r)
	if root != scratch || afterDisconnect != scratch || n != uint64(len(ops)) {
		t.Fatalf("kept root %x (%d leaves), TreeRoot %x, from scratch %x (%d coins)", root, n, afterDisconnect, scratch, len(ops))
	}
	if live == root {
		t.Fatal("disconnecting 30 blocks left the root as it was")
	}
	for i := 0; i < len(ops); i += max(1, len(ops)/300) {
		p, err := r.ProveCoin(ops[i])
		if err != nil {
			t.Fatal(err)
		}
		if !p.Found || rootFrom(utxo.TreeKey(ops[i]), utxo.TreeValue(&p.Coin), p.Siblings) != root {
			t.Fatalf("coin %s: found %v, proof does not lead to the root", ops[i], p.Found)
		}
	}
	// Absent: coins of the disconnected blocks, and made-up outpoints.
	var absent []utxo.Outpoint
	for _, raw := range raws[len(raws)-30:] {
		b := decode(t, raw)
		for _, id := range b.TxIDs {
			absent = append(absent, utxo.Outpoint{Hash: id, Index: 0})
		}
	}
	for i := range 200 {
		var op utxo.Outpoint
		binary.BigEndian.PutUint64(op.Hash[:], uint64(i)*0x9e3779b97f4a7c15)
		absent = append(absent, op)
	}
	for _, op := range absent {
		p, err := r.ProveCoin(op)
		if err != nil {
			t.Fatal(err)
		}
		if p.Found {
			t.Fatalf("%s: found", op)
		}
		path := smt.PathOf(utxo.TreeKey(op))
		if p.Left == nil && p.Right == nil {
			t.Fatalf("%s: no neighbours", op)
		}
		for side, nb := range map[int]*utxo.NeighbourProof{-1: p.Left, 1: p.Right} {
			if nb == nil {
				continue
			}
			np := smt.PathOf(utxo.TreeKey(nb.Outpoint))
			if bytes.Compare(np[:], path[:]) != side {
				t.Fatalf("%s: neighbour %d on the wrong side", op, side)
			}
			if rootFrom(utxo.TreeKey(nb.Outpoint), utxo.TreeValue(&nb.Coin), nb.Siblings) != root {
				t.Fatalf("%s: neighbour's proof does not lead to the root", op)
			}
		}
	}
}
