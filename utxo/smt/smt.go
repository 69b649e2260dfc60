package smt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Hash is a node, leaf or value hash.
type Hash [32]byte

// Empty is the hash of an empty subtree.
var Empty Hash

// StoreThreshold is the least number of leaves a subtree must hold for its
// node to be stored. Below it, the subtree is recomputed from its leaves
// (at most StoreThreshold-1 adjacent leaf records). 16 keeps the stored
// nodes near a tenth of the leaves while a recomputation stays under
// about 30 hashes.
const StoreThreshold = 16

const (
	leafByte  = 0x00
	innerByte = 0x01
)

// PathOf is the position of key in the tree: sha256(key).
func PathOf(key []byte) Hash { return sha256.Sum256(key) }

// ValueHash is sha256(value), what a leaf commits to.
func ValueHash(value []byte) Hash { return sha256.Sum256(value) }

// LeafHash is sha256(0x00 ‖ path ‖ valueHash).
func LeafHash(path, valueHash *Hash) Hash {
	var b [65]byte
	b[0] = leafByte
	copy(b[1:], path[:])
	copy(b[33:], valueHash[:])
	return sha256.Sum256(b[:])
}

// InnerHash is sha256(0x01 ‖ left ‖ right).
func InnerHash(left, right *Hash) Hash {
	var b [65]byte
	b[0] = innerByte
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// bit returns bit d of p, most significant first.
func bit(p *Hash, d int) byte { return (p[d>>3] >> (7 - uint(d&7))) & 1 }

// withBit returns the prefix p (of d bits, the rest zero) extended by bit
// b at position d.
func withBit(p Hash, d int, b byte) Hash {
	if b != 0 {
		p[d>>3] |= 1 << (7 - uint(d&7))
	}
	return p
}

// truncate keeps the first d bits of p.
func truncate(p Hash, d int) Hash {
	full := d >> 3
	if full < 32 {
		if rem := d & 7; rem != 0 {
			p[full] &= 0xff << (8 - uint(rem))
			full++
		}
		clear(p[full:])
	}
	return p
}

// hasPrefix reports whether path's first d bits are prefix's.
func hasPrefix(path, prefix *Hash, d int) bool {
	full := d >> 3
	if !bytes.Equal(path[:full], prefix[:full]) {
		return false
	}
	rem := d & 7
	if rem == 0 {
		return true
	}
	mask := byte(0xff << (8 - uint(rem)))
	return path[full]&mask == prefix[full]&mask
}

// Leaf is an entry of the leaf table.
type Leaf struct {
	Path      Hash
	ValueHash Hash
	// Ref is the caller's reference to the leaf's key (the tree stores
	// paths, which cannot be turned back into keys).
	Ref []byte
}

// Hash is the leaf's hash.
func (l *Leaf) Hash() Hash { return LeafHash(&l.Path, &l.ValueHash) }

// Change sets or deletes the leaf at Path.
type Change struct {
	Path      Hash
	Delete    bool
	ValueHash Hash
	Ref       []byte
}

// Reader reads the stored tree. Get reports a missing key with ok false.
// Scan calls fn for the keys with the given prefix that are ≥ start, in
// order, until fn returns false.
type Reader interface {
	Get(key []byte) (value []byte, ok bool, err error)
	Scan(prefix, start []byte, fn func(key, value []byte) (bool, error)) error
}

// Writer receives Apply's writes.
type Writer interface {
	Put(key, value []byte)
	Delete(key []byte)
}

// ErrCorrupt reports stored tree records that cannot be decoded or do not
// fit together.
var ErrCorrupt = errors.New("smt: corrupt tree record")

func corruptf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
}

// Tables names the two tables' key prefixes in the caller's store.
type Tables struct {
	// Leaves: prefix ‖ path[32] → valueHash[32] ‖ ref.
	Leaves []byte
	// Nodes: prefix ‖ depth[1] ‖ the first ⌈depth/8⌉ bytes of the
	// subtree's path prefix (unused bits zero) → hash[32] ‖ uvarint(leaf
	// count). Only subtrees of StoreThreshold leaves or more.
	Nodes []byte
}

// LeafKey is the leaf table's key for path.
func (t *Tables) LeafKey(path *Hash) []byte {
	k := make([]byte, 0, len(t.Leaves)+32)
	k = append(k, t.Leaves...)
	return append(k, path[:]...)
}

func (t *Tables) nodeKey(d int, prefix *Hash) []byte {
	n := (d + 7) >> 3
	k := make([]byte, 0, len(t.Nodes)+1+n)
	k = append(k, t.Nodes...)
	k = append(k, byte(d))
	return append(k, prefix[:n]...)
}

// LeafValue is the leaf table's value for a leaf.
func (t *Tables) LeafValue(vh *Hash, ref []byte) []byte { return encodeLeafValue(vh, ref) }

func encodeLeafValue(vh *Hash, ref []byte) []byte {
	v := make([]byte, 0, 32+len(ref))
	v = append(v, vh[:]...)
	return append(v, ref...)
}

// DecodeLeaf decodes a leaf table record.
func (t *Tables) DecodeLeaf(key, value []byte) (Leaf, error) {
	if len(key) != len(t.Leaves)+32 || len(value) < 32 {
		return Leaf{}, corruptf("leaf record of %d/%d bytes", len(key), len(value))
	}
	var l Leaf
	copy(l.Path[:], key[len(t.Leaves):])
	copy(l.ValueHash[:], value)
	l.Ref = bytes.Clone(value[32:])
	return l, nil
}

func encodeNode(h *Hash, count uint64) []byte {
	v := make([]byte, 32, 32+binary.MaxVarintLen64)
	copy(v, h[:])
	return binary.AppendUvarint(v, count)
}

func decodeNode(v []byte) (Hash, uint64, error) {
	if len(v) < 33 {
		return Hash{}, 0, corruptf("node record of %d bytes", len(v))
	}
	var h Hash
	copy(h[:], v)
	n, k := binary.Uvarint(v[32:])
	if k <= 0 || 32+k != len(v) || n < StoreThreshold {
		return Hash{}, 0, corruptf("node record count")
	}
	return h, n, nil
}

// node returns the stored node of the subtree (d, prefix).
func (t *Tables) node(r Reader, d int, prefix *Hash) (Hash, uint64, bool, error) {
	v, ok, err := r.Get(t.nodeKey(d, prefix))
	if err != nil || !ok {
		return Hash{}, 0, false, err
	}
	h, n, err := decodeNode(v)
	if err != nil {
		return Hash{}, 0, false, fmt.Errorf("depth %d: %w", d, err)
	}
	return h, n, true, nil
}

// scan returns the leaves of the subtree (d, prefix), in path order.
func (t *Tables) scan(r Reader, d int, prefix *Hash, dst []Leaf) ([]Leaf, error) {
	full := d >> 3
	p := make([]byte, 0, len(t.Leaves)+full)
	p = append(append(p, t.Leaves...), prefix[:full]...)
	start := t.LeafKey(prefix)
	err := r.Scan(p, start, func(k, v []byte) (bool, error) {
		l, err := t.DecodeLeaf(k, v)
		if err != nil {
			return false, err
		}
		if !hasPrefix(&l.Path, prefix, d) {
			return false, nil
		}
		dst = append(dst, l)
		return true, nil
	})
	return dst, err
}

// subtree returns the hash and leaf count of the subtree (d, prefix) as
// stored: its node, or its leaves hashed.
func (t *Tables) subtree(r Reader, d int, prefix *Hash) (Hash, uint64, error) {
	if h, n, ok, err := t.node(r, d, prefix); err != nil || ok {
		return h, n, err
	}
	leaves, err := t.scan(r, d, prefix, nil)
	if err != nil {
		return Hash{}, 0, err
	}
	return hashLeaves(d, leaves), uint64(len(leaves)), nil
}

// splitAt returns the index of the first leaf whose bit d is 1.
func splitAt(leaves []Leaf, d int) int {
	return sort.Search(len(leaves), func(i int) bool { return bit(&leaves[i].Path, d) == 1 })
}

// hashLeaves is the hash of the subtree at depth d holding leaves (sorted,
// all sharing the subtree's d-bit prefix).
func hashLeaves(d int, leaves []Leaf) Hash {
	switch len(leaves) {
	case 0:
		return Empty
	case 1:
		return leaves[0].Hash()
	}
	i := splitAt(leaves, d)
	l, r := hashLeaves(d+1, leaves[:i]), hashLeaves(d+1, leaves[i:])
	return InnerHash(&l, &r)
}

// combine is a parent's hash from its children's.
func combine(lh Hash, lc uint64, rh Hash, rc uint64) Hash {
	switch {
	case lc+rc == 0:
		return Empty
	case lc == 0 && rc == 1:
		return rh
	case rc == 0 && lc == 1:
		return lh
	}
	return InnerHash(&lh, &rh)
}

// Root returns the stored tree's root and leaf count.
func (t *Tables) Root(r Reader) (Hash, uint64, error) {
	return t.subtree(r, 0, &Hash{})
}
