package verify

import (
	"encoding/binary"

	ics23 "github.com/cosmos/ics23/go"
)

// The UTXO tree's leaves and the ICS-23 proofs of them. The server builds
// its proofs with these functions, so that what it writes and what this
// package checks cannot drift apart.
//
// The tree is a compact sparse Merkle tree in ics23.SmtSpec's format:
//
//	path  = sha256(key)                    bit d (MSB of byte 0 first) picks the side at depth d, 0 = left
//	leaf  = sha256(0x00 ‖ path ‖ sha256(value))
//	inner = sha256(0x01 ‖ left ‖ right)
//	empty = 32 zero bytes
//
// A subtree holding one leaf is that leaf's hash, so a leaf sits at the
// shallowest depth where it is alone; a subtree of two or more leaves is
// always an inner node, even when one side is empty.

// EmptyRoot is the root of a tree without leaves.
var EmptyRoot [32]byte

// CoinKey is the tree's key for an outpoint: txid (internal byte order) ‖
// u32le(vout), 36 bytes, as Bitcoin serializes an outpoint.
func CoinKey(txid [32]byte, vout uint32) []byte {
	k := make([]byte, 36)
	copy(k, txid[:])
	binary.LittleEndian.PutUint32(k[32:], vout)
	return k
}

// CoinValue is the tree's value for a coin:
//
//	u32le(height<<1 | coinbase) ‖ i64le(value) ‖ CompactSize(len(script)) ‖ script
//
// so that CoinKey ‖ CoinValue is exactly the coin serialization Bitcoin
// Core's MuHash hashes (kernel/coinstats.cpp, TxOutSer).
func CoinValue(value int64, script []byte, height int32, coinbase bool) []byte {
	code := uint32(height) << 1
	if coinbase {
		code |= 1
	}
	b := make([]byte, 0, 4+8+9+len(script))
	b = binary.LittleEndian.AppendUint32(b, code)
	b = binary.LittleEndian.AppendUint64(b, uint64(value))
	b = appendCompactSize(b, uint64(len(script)))
	return append(b, script...)
}

// appendCompactSize is Bitcoin's CompactSize (wire.WriteVarInt).
func appendCompactSize(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
}

// smtLeafOp is a copy of SmtSpec's leaf op: a proof must never share (and
// let a caller change) the spec.
func smtLeafOp() *ics23.LeafOp {
	s := ics23.SmtSpec.LeafSpec
	return &ics23.LeafOp{Hash: s.Hash, PrehashKey: s.PrehashKey, PrehashValue: s.PrehashValue,
		Length: s.Length, Prefix: append([]byte(nil), s.Prefix...)}
}

// SMTExistence is the ICS-23 proof of the leaf key = value whose path is
// path (which must be sha256(key)). siblings are top-down: siblings[d] is
// the other child of the leaf's ancestor at depth d, so the leaf sits at
// depth len(siblings). The inner ops run bottom-up, as ICS-23 applies
// them: where bit d of path is 0 (the leaf's side is left) the op is
// prefix 01, suffix sibling; where it is 1, prefix 01 ‖ sibling.
//
// Wrap it as &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: e}}
// for a membership proof, or pass it to SMTNonExistence as a neighbour.
func SMTExistence(key, value []byte, path [32]byte, siblings [][32]byte) *ics23.ExistenceProof {
	ops := make([]*ics23.InnerOp, 0, len(siblings))
	for d := len(siblings) - 1; d >= 0; d-- {
		sib := siblings[d]
		op := &ics23.InnerOp{Hash: ics23.HashOp_SHA256}
		if bitAt(&path, d) == 0 {
			op.Prefix, op.Suffix = []byte{1}, append([]byte(nil), sib[:]...)
		} else {
			op.Prefix = append([]byte{1}, sib[:]...)
		}
		ops = append(ops, op)
	}
	return &ics23.ExistenceProof{
		Key:   append([]byte(nil), key...),
		Value: append([]byte(nil), value...),
		Leaf:  smtLeafOp(),
		Path:  ops,
	}
}

// SMTNonExistence is the ICS-23 proof that key is absent: the existence
// proofs of its neighbours, the leaves just before and just after its
// path (left nil when key's path is below every leaf, right nil when
// above; both nil only for an empty tree, which ICS-23 itself cannot
// express and VerifyCoinAbsence accepts only against EmptyRoot).
func SMTNonExistence(key []byte, left, right *ics23.ExistenceProof) *ics23.CommitmentProof {
	return &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Nonexist{Nonexist: &ics23.NonExistenceProof{
		Key:   append([]byte(nil), key...),
		Left:  left,
		Right: right,
	}}}
}

// bitAt is bit d of path, the most significant bit of byte 0 first.
func bitAt(path *[32]byte, d int) byte { return (path[d>>3] >> (7 - uint(d&7))) & 1 }
