package apphash

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	ics23 "github.com/cosmos/ics23/go"
)

// Version is a chain's app hash format, fixed by its genesis.
type Version int

// The app hash versions.
const (
	// V1 is sha256("satnode/apphash/v1" ‖ MuHash ‖ tip hash ‖
	// u32be(tip height) ‖ consensus root): it commits to the state but
	// proves nothing about one part of it.
	V1 Version = 1
	// V2 is Commitments.Root: a Merkle root over the named commitments,
	// each provable with ICS-23.
	V2 Version = 2
)

// Valid reports whether v is a version this code computes.
func (v Version) Valid() bool { return v == V1 || v == V2 }

// String is "v1", "v2", or the number for an unknown version.
func (v Version) String() string {
	if v.Valid() {
		return fmt.Sprintf("v%d", int(v))
	}
	return fmt.Sprintf("unknown app hash version %d", int(v))
}

// The names of the commitments: the ICS-23 keys their proofs carry. The
// tree orders them by name, as the Cosmos SDK's multistore orders its
// stores, so adding a name in a later version moves leaves, never reorders
// them by some other rule.
const (
	// NameBTCTip is the Bitcoin tip of the UTXO set: u32be(height) ‖
	// hash (internal byte order), 36 bytes.
	NameBTCTip = "btc_tip"
	// NameConsensus is the consensus root: staking, the header tree and
	// the endorsement records.
	NameConsensus = "consensus"
	// NameMuHash is the UTXO set's MuHash3072 digest (internal byte
	// order, the reverse of what Bitcoin Core prints).
	NameMuHash = "muhash"
	// NameUTXO is the root of the UTXO tree (utxo/smt, ICS-23 SmtSpec).
	NameUTXO = "utxo"
)

// names are the leaves in tree order (sorted).
var names = [...]string{NameBTCTip, NameConsensus, NameMuHash, NameUTXO}

// Names returns the commitment names in tree order.
func Names() []string { return append([]string(nil), names[:]...) }

// Errors callers tell apart.
var (
	// ErrUnknownName: no commitment has that name.
	ErrUnknownName = errors.New("apphash: no commitment of that name")
	// ErrUnknownVersion: an app hash version this code does not compute.
	ErrUnknownVersion = errors.New("apphash: unknown app hash version")
)

// Commitments are what the app hash commits to, each a leaf of the tree
// whose root is the v2 app hash.
type Commitments struct {
	// UTXORoot is the UTXO tree's root.
	UTXORoot [32]byte
	// MuHash is the UTXO set's MuHash3072 digest, internal byte order.
	MuHash [32]byte
	// TipHeight and TipHash are the UTXO set's Bitcoin tip, the hash in
	// internal byte order.
	TipHeight int32
	TipHash   [32]byte
	// Consensus is the consensus root.
	Consensus [32]byte
}

// Value returns the raw value of the named commitment: what an ICS-23
// proof of it carries, and what a verifier passes as value.
func (c *Commitments) Value(name string) ([]byte, error) {
	switch name {
	case NameBTCTip:
		return append(binary.BigEndian.AppendUint32(make([]byte, 0, 36), uint32(c.TipHeight)), c.TipHash[:]...), nil
	case NameConsensus:
		return clone(c.Consensus), nil
	case NameMuHash:
		return clone(c.MuHash), nil
	case NameUTXO:
		return clone(c.UTXORoot), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownName, name)
}

func clone(h [32]byte) []byte { return append([]byte(nil), h[:]...) }

// Root is the v2 app hash: the CometBFT simple Merkle root
// (crypto/merkle.HashFromByteSlices) of the encoded items in name order.
func (c *Commitments) Root() [32]byte {
	return merkleRoot(c.leaves())
}

// Prove returns an ICS-23 existence proof of the named commitment against
// Root, and the value it proves. ics23.VerifyMembership(ics23.TendermintSpec,
// root, proof, []byte(name), value) accepts it; chained after a proof
// against the commitment (a coin against the UTXO root), it takes a coin
// to the app hash in one verification.
func (c *Commitments) Prove(name string) (*ics23.CommitmentProof, []byte, error) {
	value, err := c.Value(name)
	if err != nil {
		return nil, nil, err
	}
	index := 0
	for names[index] != name {
		index++
	}
	_, path := merklePath(c.leaves(), index)
	leaf := ics23.TendermintSpec.LeafSpec
	ep := &ics23.ExistenceProof{
		Key:   []byte(name),
		Value: value,
		// A copy: a caller may change its proof, never the spec.
		Leaf: &ics23.LeafOp{Hash: leaf.Hash, PrehashKey: leaf.PrehashKey, PrehashValue: leaf.PrehashValue,
			Length: leaf.Length, Prefix: append([]byte(nil), leaf.Prefix...)},
		Path: path,
	}
	return &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: ep}}, value, nil
}

// leaves are the leaf hashes in name order.
func (c *Commitments) leaves() [][32]byte {
	out := make([][32]byte, len(names))
	for i, n := range names {
		v, _ := c.Value(n) // every name in names has a value
		out[i] = leafHash(EncodeItem(n, v))
	}
	return out
}

// EncodeItem is an item as the tree hashes it, the Cosmos SDK
// multistore's KVPair encoding (store/internal/maps):
//
//	uvarint(len(name)) ‖ name ‖ uvarint(32) ‖ sha256(value)
//
// which is what ics23.TendermintSpec's leaf op builds from key and value
// (PrehashKey NO_HASH, PrehashValue SHA256, Length VAR_PROTO) before it
// hashes with the leaf prefix.
func EncodeItem(name string, value []byte) []byte {
	vh := sha256.Sum256(value)
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(name)+len(vh))
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(vh)))
	return append(b, vh[:]...)
}

// leafHash is CometBFT's: sha256(0x00 ‖ item).
func leafHash(item []byte) [32]byte {
	return sha256.Sum256(append([]byte{0}, item...))
}

// innerHash is CometBFT's: sha256(0x01 ‖ left ‖ right).
func innerHash(left, right [32]byte) [32]byte {
	b := make([]byte, 0, 65)
	b = append(b, 1)
	b = append(b, left[:]...)
	return sha256.Sum256(append(b, right[:]...))
}

// splitPoint is CometBFT's getSplitPoint: the largest power of two below
// n (n ≥ 2).
func splitPoint(n int) int {
	k := 1 << (bits.Len(uint(n)) - 1)
	if k == n {
		k >>= 1
	}
	return k
}

// merkleRoot is crypto/merkle.HashFromByteSlices over leaf hashes. The
// tree is never empty: the names are fixed.
func merkleRoot(leaves [][32]byte) [32]byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := splitPoint(len(leaves))
	return innerHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// merklePath returns the root and the ICS-23 inner ops from leaf i up to
// it, bottom first. A node that is a right child gets prefix 0x01 ‖ left
// sibling; a left child gets prefix 0x01 and its right sibling as suffix:
// either way the op computes sha256(0x01 ‖ left ‖ right).
func merklePath(leaves [][32]byte, i int) ([32]byte, []*ics23.InnerOp) {
	if len(leaves) == 1 {
		return leaves[0], nil
	}
	k := splitPoint(len(leaves))
	if i < k {
		left, path := merklePath(leaves[:k], i)
		right := merkleRoot(leaves[k:])
		op := &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: []byte{1}, Suffix: clone(right)}
		return innerHash(left, right), append(path, op)
	}
	right, path := merklePath(leaves[k:], i-k)
	left := merkleRoot(leaves[:k])
	op := &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: append([]byte{1}, left[:]...)}
	return innerHash(left, right), append(path, op)
}

// ConsensusRoot is the consensus commitment, the same in both versions:
//
//	sha256("satnode/consensus/v1" ‖ staking root ‖ header-tree root ‖ endorsement root)
func ConsensusRoot(staking, headers, endorsements [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("satnode/consensus/v1"))
	h.Write(staking[:])
	h.Write(headers[:])
	h.Write(endorsements[:])
	return [32]byte(h.Sum(nil))
}

// Hash is the app hash of version v: Root for V2, and for V1
//
//	sha256("satnode/apphash/v1" ‖ MuHash ‖ TipHash ‖ u32be(TipHeight) ‖ Consensus)
//
// which leaves UTXORoot out.
func (c *Commitments) Hash(v Version) ([32]byte, error) {
	switch v {
	case V1:
		h := sha256.New()
		h.Write([]byte("satnode/apphash/v1"))
		h.Write(c.MuHash[:])
		h.Write(c.TipHash[:])
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(c.TipHeight)))
		h.Write(c.Consensus[:])
		return [32]byte(h.Sum(nil)), nil
	case V2:
		return c.Root(), nil
	}
	return [32]byte{}, fmt.Errorf("%w: %d", ErrUnknownVersion, int(v))
}
