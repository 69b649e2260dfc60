package smt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Hash is a node, leaf or value hash.
type Hash [32]byte

// Empty is the hash of an empty subtree.
var Empty Hash

// StoreThreshold is the least number of leaves a subtree must hold for its
// node to be stored. Below it, the subtree is recomputed from its leaves
// (at most StoreThreshold-1 adjacent leaf records, a few kilobytes in one
// or two store blocks). 48 keeps the stored nodes near a thirtieth of the
// leaves (about 2 bytes a coin on disk) and the stored levels about 1.6
// fewer than 16 would, each a lookup on every changed path, while a
// recomputation stays under about 100 inner hashes (30 µs); measured with
// make bench, 16 and 32 were slower and larger.
const StoreThreshold = 48

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

// Leaf is a leaf of the tree. The leaf table's key holds only the first
// ShortPath bytes of its path (and the caller's reference): Path is whole
// when Full, else those bytes followed by zeros. Everything the tree
// computes from bits below the first 64 it computes only for leaves that
// share their first 64 bits with another, and resolves their whole paths
// first (Reader.Resolve).
type Leaf struct {
	Path Hash
	Full bool
	// Hash is the leaf hash, sha256(0x00 ‖ path ‖ sha256(value)): what the
	// tree stores, so that rehashing a subtree hashes only inner nodes.
	Hash Hash
	// Ref is the caller's reference to the leaf's key, part of the leaf
	// table's key: it tells leaves with equal short paths apart and lets
	// the caller find the key (the tree stores paths, which cannot be
	// turned back into keys).
	Ref []byte
}

// NewLeaf is the leaf for a key's path and its value's hash.
func NewLeaf(path, valueHash Hash, ref []byte) Leaf {
	return Leaf{Path: path, Full: true, Hash: LeafHash(&path, &valueHash), Ref: ref}
}

// Change sets or deletes the leaf of Path (whole) and Ref. Hash is the
// new leaf hash (LeafHash), unused by a delete.
type Change struct {
	Path   Hash
	Delete bool
	Hash   Hash
	Ref    []byte
}

// Set is the change that sets a leaf.
func Set(l Leaf) Change { return Change{Path: l.Path, Hash: l.Hash, Ref: l.Ref} }

// Reader reads the stored tree. Get reports a missing key with ok false.
// Scan calls fn for the keys with the given prefix that are ≥ start, in
// order, until fn returns false. Resolve returns the whole path of the
// stored leaf whose path begins with short and whose reference is ref; it
// is called only for leaves that share their short path with another,
// which takes a 2^64 coincidence or deliberate grinding.
type Reader interface {
	Get(key []byte) (value []byte, ok bool, err error)
	Scan(prefix, start []byte, fn func(key, value []byte) (bool, error)) error
	Resolve(short, ref []byte) (Hash, error)
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

// ShortPath is how many bytes of a leaf's path its key holds: enough to
// place almost every leaf without reading anything else, and 24 bytes
// less per leaf than the whole path.
const ShortPath = 8

const shortBits = 8 * ShortPath

// Tables names the two tables' key prefixes in the caller's store.
type Tables struct {
	// Leaves: prefix ‖ path[:ShortPath] ‖ ref → leaf hash[32].
	Leaves []byte
	// Nodes: prefix ‖ depth[1] ‖ the first ⌈depth/8⌉ bytes of the
	// subtree's path prefix (unused bits zero) → hash[32] ‖ uvarint(leaf
	// count). Only subtrees of StoreThreshold leaves or more.
	Nodes []byte
}

// LeafKey is the leaf table's key for a leaf at path with reference ref.
func (t *Tables) LeafKey(path *Hash, ref []byte) []byte {
	k := make([]byte, 0, len(t.Leaves)+ShortPath+len(ref))
	k = append(k, t.Leaves...)
	k = append(k, path[:ShortPath]...)
	return append(k, ref...)
}

func (t *Tables) nodeKey(d int, prefix *Hash) []byte {
	n := (d + 7) >> 3
	k := make([]byte, 0, len(t.Nodes)+1+n)
	k = append(k, t.Nodes...)
	k = append(k, byte(d))
	return append(k, prefix[:n]...)
}

// DecodeLeaf decodes a leaf table record (its path is short).
func (t *Tables) DecodeLeaf(key, value []byte) (Leaf, error) { return t.decodeLeaf(key, value, nil) }

// decodeLeaf is DecodeLeaf with the reference copied into *arena when
// given (a scan's leaves share one allocation).
func (t *Tables) decodeLeaf(key, value []byte, arena *[]byte) (Leaf, error) {
	if len(key) <= len(t.Leaves)+ShortPath || len(value) != 32 {
		return Leaf{}, corruptf("leaf record of %d/%d bytes", len(key), len(value))
	}
	var l Leaf
	copy(l.Path[:], key[len(t.Leaves):len(t.Leaves)+ShortPath])
	copy(l.Hash[:], value)
	ref := key[len(t.Leaves)+ShortPath:]
	if arena == nil {
		l.Ref = bytes.Clone(ref)
		return l, nil
	}
	start := len(*arena)
	*arena = append(*arena, ref...)
	l.Ref = (*arena)[start:len(*arena):len(*arena)]
	return l, nil
}

// keyCmp orders leaves as the leaf table does: short path, then reference.
func keyCmp(ap *Hash, aref []byte, bp *Hash, bref []byte) int {
	if c := bytes.Compare(ap[:ShortPath], bp[:ShortPath]); c != 0 {
		return c
	}
	return bytes.Compare(aref, bref)
}

// resolve makes every leaf's path whole, asking r for those that are
// short, and sorts the leaves by path. Only leaves sharing their first 64
// bits need it; their order in the leaf table is by reference.
func resolve(r Reader, leaves []Leaf) error {
	for i := range leaves {
		if err := resolveLeaf(r, &leaves[i]); err != nil {
			return err
		}
	}
	slices.SortFunc(leaves, func(a, b Leaf) int { return bytes.Compare(a.Path[:], b.Path[:]) })
	return nil
}

// resolveLeaf makes l's path whole (nil or whole already: nothing to do).
func resolveLeaf(r Reader, l *Leaf) error {
	if l == nil || l.Full {
		return nil
	}
	if r == nil {
		return corruptf("leaf %x needs its whole path and nothing can resolve it", l.Path[:ShortPath])
	}
	p, err := r.Resolve(l.Path[:ShortPath], l.Ref)
	if err != nil {
		return err
	}
	if !bytes.Equal(p[:ShortPath], l.Path[:ShortPath]) {
		return corruptf("leaf %x resolved to path %x", l.Path[:ShortPath], p)
	}
	l.Path, l.Full = p, true
	return nil
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

// scan returns the leaves of the subtree (d, prefix) in path order
// (resolved where they share a short path and d needs more bits).
func (t *Tables) scan(r Reader, d int, prefix *Hash, dst []Leaf) ([]Leaf, error) {
	known := min(d, shortBits)
	p := make([]byte, 0, len(t.Leaves)+ShortPath)
	p = append(append(p, t.Leaves...), prefix[:known>>3]...)
	start := make([]byte, 0, len(t.Leaves)+ShortPath)
	start = append(append(start, t.Leaves...), prefix[:ShortPath]...)
	if dst == nil {
		// A subtree scanned holds under StoreThreshold leaves (or is
		// one of them): one allocation instead of a doubling series.
		dst = make([]Leaf, 0, StoreThreshold)
	}
	from := len(dst)
	// The references of a scan share one arena: a new one when it fills,
	// as earlier leaves keep pointing into the old.
	var arena []byte
	err := r.Scan(p, start, func(k, v []byte) (bool, error) {
		if cap(arena)-len(arena) < 64 {
			arena = make([]byte, 0, 16*StoreThreshold)
		}
		l, err := t.decodeLeaf(k, v, &arena)
		if err != nil {
			return false, err
		}
		if !hasPrefix(&l.Path, prefix, known) {
			return false, nil
		}
		dst = append(dst, l)
		return true, nil
	})
	if err != nil || d <= shortBits || len(dst) == from {
		return dst, err
	}
	// Below the short paths: the leaves found share them; keep those
	// whose whole path is under prefix.
	got := dst[from:]
	if err := resolve(r, got); err != nil {
		return dst, err
	}
	keep := dst[:from]
	for _, l := range got {
		if hasPrefix(&l.Path, prefix, d) {
			keep = append(keep, l)
		}
	}
	return keep, nil
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
	h, err := hashLeaves(r, d, leaves)
	return h, uint64(len(leaves)), err
}

// splitAt returns the index of the first leaf whose bit d is 1 (the
// leaves in path order, or in key order for d < 64).
func splitAt(leaves []Leaf, d int) int {
	return sort.Search(len(leaves), func(i int) bool { return bit(&leaves[i].Path, d) == 1 })
}

// hashLeaves is the hash of the subtree at depth d holding leaves (in key
// or path order, all sharing the subtree's d-bit prefix). From depth 64
// down their whole paths are needed: r resolves them.
func hashLeaves(r Reader, d int, leaves []Leaf) (Hash, error) {
	switch len(leaves) {
	case 0:
		return Empty, nil
	case 1:
		return leaves[0].Hash, nil
	}
	if d >= 256 {
		return Hash{}, corruptf("two leaves at path %x", leaves[0].Path)
	}
	if d >= shortBits {
		if err := resolve(r, leaves); err != nil {
			return Hash{}, err
		}
	}
	i := splitAt(leaves, d)
	l, err := hashLeaves(r, d+1, leaves[:i])
	if err != nil {
		return Hash{}, err
	}
	rh, err := hashLeaves(r, d+1, leaves[i:])
	if err != nil {
		return Hash{}, err
	}
	return InnerHash(&l, &rh), nil
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
