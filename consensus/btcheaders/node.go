package btcheaders

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Node is one header in the tree. Nodes are owned by their Tree: read them
// through the methods, and do not use one after SetBase pruned it (Get no
// longer returns it) beyond Hash, Height, Seq and Work, which stay valid so
// that the caller can act on SetBase's list of pruned nodes.
//
// The header is kept field by field rather than as a wire.BlockHeader: the
// previous-block hash is the parent's hash, and the timestamp fits 32 bits,
// which saves 52 bytes per node over wire.BlockHeader's chainhash and
// time.Time (doc.go gives the total per header).
type Node struct {
	hash   chainhash.Hash
	merkle chainhash.Hash
	// work is the cumulative work from the bottom of the tree up to and
	// including this header: a uint256, big-endian, so that byte order is
	// numeric order and the value has one fixed-width encoding.
	work     [32]byte
	parent   *Node
	prev     *chainhash.Hash // previous-block hash, only when parent is nil
	children []*Node         // in insertion (seq) order
	seq      uint64
	height   int32
	version  int32
	time     uint32
	bits     uint32
	nonce    uint32
	saved    bool // written by WriteChanges since it was added
	pruned   bool // removed from the tree by SetBase
}

// Hash returns the block hash.
func (n *Node) Hash() chainhash.Hash { return n.hash }

// Height returns the block height.
func (n *Node) Height() int32 { return n.height }

// Seq returns the insertion sequence number: the order in which the tree
// first saw the header, used to break ties in fork choice. The start point's
// headers have the lowest numbers, oldest first.
func (n *Node) Seq() uint64 { return n.seq }

// Work returns the cumulative work through this header as a big-endian
// uint256 (compare with bytes.Compare). Only differences between nodes of one
// tree are meaningful when the start point did not give its chain work.
func (n *Node) Work() [32]byte { return n.work }

// Parent returns the parent node, or nil for the lowest node kept.
func (n *Node) Parent() *Node { return n.parent }

// Children returns a copy of the children in the order they were added.
func (n *Node) Children() []*Node { return append([]*Node(nil), n.children...) }

// Timestamp returns the header's time.
func (n *Node) Timestamp() time.Time { return time.Unix(int64(n.time), 0) }

// Bits returns the header's difficulty bits.
func (n *Node) Bits() uint32 { return n.bits }

// Header returns the block header.
func (n *Node) Header() wire.BlockHeader {
	h := wire.BlockHeader{
		Version:    n.version,
		MerkleRoot: n.merkle,
		Timestamp:  n.Timestamp(),
		Bits:       n.bits,
		Nonce:      n.nonce,
	}
	if n.parent != nil {
		h.PrevBlock = n.parent.hash
	} else if n.prev != nil {
		h.PrevBlock = *n.prev
	}
	return h
}

// Ancestor returns the ancestor at the given height (n itself at its own
// height), or nil if the height is above n or below the lowest node kept. It
// walks parent links, so it costs one step per block of distance.
func (n *Node) Ancestor(height int32) *Node {
	if n == nil || height > n.height || height < 0 {
		return nil
	}
	a := n
	for a != nil && a.height > height {
		a = a.parent
	}
	return a
}

func newNode(h *wire.BlockHeader, hash chainhash.Hash, height int32) *Node {
	return &Node{
		hash:    hash,
		merkle:  h.MerkleRoot,
		height:  height,
		version: h.Version,
		time:    uint32(h.Timestamp.Unix()),
		bits:    h.Bits,
		nonce:   h.Nonce,
	}
}

// ctxNode is a Node seen through btcd's blockchain.HeaderCtx, which wants a
// Parent method of another type. The conversion is free.
type ctxNode Node

var _ blockchain.HeaderCtx = (*ctxNode)(nil)

func (c *ctxNode) Height() int32    { return c.height }
func (c *ctxNode) Bits() uint32     { return c.bits }
func (c *ctxNode) Timestamp() int64 { return int64(c.time) }
func (c *ctxNode) Parent() blockchain.HeaderCtx {
	// An untyped nil: btcd compares the interface with nil to find the end
	// of the chain.
	if c.parent == nil {
		return nil
	}
	return (*ctxNode)(c.parent)
}

func (c *ctxNode) RelativeAncestorCtx(distance int32) blockchain.HeaderCtx {
	a := (*Node)(c).Ancestor(c.height - distance)
	if a == nil {
		return nil
	}
	return (*ctxNode)(a)
}

// headerWork returns blockchain.CalcWork(bits) as a uint256. CalcWork is
// 2^256 / (target+1) with target ≥ 1 after the sanity checks, so it is at
// most 2^255 and always fits.
func headerWork(bitsField uint32) [32]byte {
	var w [32]byte
	blockchain.CalcWork(bitsField).FillBytes(w[:])
	return w
}

// add256 returns a+b and whether it overflowed 256 bits.
func add256(a, b [32]byte) ([32]byte, bool) {
	var out [32]byte
	var carry uint64
	for i := 24; i >= 0; i -= 8 {
		s, c := bits.Add64(binary.BigEndian.Uint64(a[i:]), binary.BigEndian.Uint64(b[i:]), carry)
		binary.BigEndian.PutUint64(out[i:], s)
		carry = c
	}
	return out, carry != 0
}

// sub256 returns a-b and whether it underflowed.
func sub256(a, b [32]byte) ([32]byte, bool) {
	var out [32]byte
	var borrow uint64
	for i := 24; i >= 0; i -= 8 {
		d, c := bits.Sub64(binary.BigEndian.Uint64(a[i:]), binary.BigEndian.Uint64(b[i:]), borrow)
		binary.BigEndian.PutUint64(out[i:], d)
		borrow = c
	}
	return out, borrow != 0
}
