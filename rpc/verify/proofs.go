package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// The ICS-23 half of verification: pure functions of bytes, no I/O.
//
// ics23 v0.11.0 trusts the shape of what it verifies more than a verifier
// of hostile files may: IsLeftNeighbor indexes left[len(left)-1] without
// checking for an empty path and its loop over a common tail can run past
// the start; isLeftStep panics on an op with no valid padding; Decompress
// indexes its lookup table with numbers from the proof. So every proof is
// first checked against the exact shape the server builds (which also
// makes a proof of one thing unusable as a proof of another), and every
// call into ics23 still runs under recover.

// The commitments of the v2 app hash, in tree order (sorted by name).
const (
	NameBTCTip    = "btc_tip"   // u32be(Bitcoin height) ‖ block hash (internal order)
	NameConsensus = "consensus" // the consensus root
	NameMuHash    = "muhash"    // the UTXO set's MuHash3072 digest
	NameUTXO      = "utxo"      // the UTXO tree's root
)

// appHashNames are the v2 tree's leaves in order; a name's index fixes
// its proof's path (two ops: four leaves).
var appHashNames = [...]string{NameBTCTip, NameConsensus, NameMuHash, NameUTXO}

// TipValue is the "btc_tip" commitment's value: u32be(height) ‖ hash.
func TipValue(t BitcoinTip) []byte {
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 36), uint32(t.Height)), t.Hash[:]...)
}

// EncodeProof is the protobuf encoding of p, as files carry it.
func EncodeProof(p *ics23.CommitmentProof) (Hex, error) {
	b, err := p.Marshal()
	if err != nil {
		return nil, fmt.Errorf("verify: encoding proof: %w", err)
	}
	return b, nil
}

// DecodeProof parses a protobuf CommitmentProof. It accepts only an
// existence or a non-existence proof (the server writes nothing else, and
// batches are where Decompress trusts its input), at most MaxHexBytes,
// and only its canonical encoding: one proof has one byte string, so a
// changed byte is a changed proof, never a harmless variant.
func DecodeProof(b []byte) (p *ics23.CommitmentProof, err error) {
	if len(b) > MaxHexBytes {
		return nil, fmt.Errorf("%w: proof of %d bytes", ErrTooLarge, len(b))
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: decoding proof panicked: %v", ErrMalformed, r)
		}
	}()
	p = new(ics23.CommitmentProof)
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: proof: %v", ErrMalformed, err)
	}
	switch p.Proof.(type) {
	case *ics23.CommitmentProof_Exist, *ics23.CommitmentProof_Nonexist:
	default:
		return nil, fmt.Errorf("%w: proof is neither an existence nor a non-existence proof", ErrMalformed)
	}
	re, err := p.Marshal()
	if err != nil || !bytes.Equal(re, b) {
		return nil, fmt.Errorf("%w: proof is not canonically encoded", ErrMalformed)
	}
	return p, nil
}

// VerifyCoinMembership checks that proof proves key = value in the UTXO
// tree whose root is root (ics23.SmtSpec), and that it is the leaf where
// key's path leads.
func VerifyCoinMembership(root []byte, proof *ics23.CommitmentProof, key, value []byte) error {
	e := proof.GetExist()
	if e == nil {
		return kindError(proof, "membership")
	}
	if !bytes.Equal(e.Key, key) || !bytes.Equal(e.Value, value) {
		return fmt.Errorf("%w: the proof is of another key or value", ErrProof)
	}
	if err := checkSMTExistence(e); err != nil {
		return err
	}
	if len(root) != 32 {
		return fmt.Errorf("%w: root of %d bytes", ErrMalformed, len(root))
	}
	return guarded(func() bool { return ics23.VerifyMembership(ics23.SmtSpec, root, proof, key, value) })
}

// VerifyCoinAbsence checks that proof proves key absent from the UTXO tree
// whose root is root: its neighbours are adjacent leaves on either side of
// key's path (or the tree's first or last leaf), or, for an empty tree,
// there are none and root is EmptyRoot.
func VerifyCoinAbsence(root []byte, proof *ics23.CommitmentProof, key []byte) error {
	n := proof.GetNonexist()
	if n == nil {
		return kindError(proof, "non-membership")
	}
	if !bytes.Equal(n.Key, key) {
		return fmt.Errorf("%w: the proof is of another key", ErrProof)
	}
	if len(root) != 32 {
		return fmt.Errorf("%w: root of %d bytes", ErrMalformed, len(root))
	}
	if n.Left == nil && n.Right == nil {
		// The one absence ICS-23 cannot express: nothing is in an empty
		// tree, and no leaf or inner hash is 32 zero bytes.
		if bytes.Equal(root, EmptyRoot[:]) {
			return nil
		}
		return fmt.Errorf("%w: no neighbours, but the tree is not empty", ErrProof)
	}
	for _, e := range []*ics23.ExistenceProof{n.Left, n.Right} {
		if e == nil {
			continue
		}
		if err := checkSMTExistence(e); err != nil {
			return err
		}
	}
	if n.Left != nil && n.Right != nil {
		if err := checkDivergent(n.Left.Path, n.Right.Path); err != nil {
			return err
		}
	}
	return guarded(func() bool { return ics23.VerifyNonMembership(ics23.SmtSpec, root, proof, key) })
}

// VerifyCommitment checks that proof proves the v2 app hash commitment
// name = value against appHash (ics23.TendermintSpec), at name's place in
// the four-leaf tree.
func VerifyCommitment(appHash []byte, proof *ics23.CommitmentProof, name string, value []byte) error {
	index := -1
	for i, n := range appHashNames {
		if n == name {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("%w: no commitment named %q", ErrMalformed, name)
	}
	e := proof.GetExist()
	if e == nil {
		return kindError(proof, "membership")
	}
	if !bytes.Equal(e.Key, []byte(name)) || !bytes.Equal(e.Value, value) {
		return fmt.Errorf("%w: the proof is of another name or value", ErrProof)
	}
	if err := checkLeafOp(e.Leaf, ics23.TendermintSpec.LeafSpec); err != nil {
		return err
	}
	if len(e.Path) != 2 {
		return fmt.Errorf("%w: %d inner ops, the v2 tree has depth 2", ErrMalformed, len(e.Path))
	}
	for i, op := range e.Path {
		if err := checkInnerOp(op, byte((index>>i)&1)); err != nil {
			return err
		}
	}
	if len(appHash) != 32 {
		return fmt.Errorf("%w: app hash of %d bytes", ErrMalformed, len(appHash))
	}
	return guarded(func() bool { return ics23.VerifyMembership(ics23.TendermintSpec, appHash, proof, []byte(name), value) })
}

func kindError(p *ics23.CommitmentProof, want string) error {
	switch p.GetProof().(type) {
	case *ics23.CommitmentProof_Exist, *ics23.CommitmentProof_Nonexist:
		return fmt.Errorf("%w: want a %s proof", ErrProofKind, want)
	}
	return fmt.Errorf("%w: want a %s proof", ErrMalformed, want)
}

// guarded runs an ics23 verification, turning false into ErrProof and a
// panic into ErrMalformed.
func guarded(f func() bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: ics23 panicked: %v", ErrMalformed, r)
		}
	}()
	if !f() {
		return fmt.Errorf("%w: ics23 refused it", ErrProof)
	}
	return nil
}

// checkSMTExistence checks e is shaped as SMTExistence builds it for
// e.Key: the spec's leaf op exactly, at most 256 inner ops, each on the
// side bit d of sha256(key) says.
func checkSMTExistence(e *ics23.ExistenceProof) error {
	if len(e.Key) == 0 || len(e.Value) == 0 {
		return fmt.Errorf("%w: leaf without key or value", ErrMalformed)
	}
	if err := checkLeafOp(e.Leaf, ics23.SmtSpec.LeafSpec); err != nil {
		return err
	}
	if len(e.Path) > 256 {
		return fmt.Errorf("%w: %d inner ops, more than 256", ErrMalformed, len(e.Path))
	}
	path := sha256.Sum256(e.Key)
	for i, op := range e.Path {
		if err := checkInnerOp(op, bitAt(&path, len(e.Path)-1-i)); err != nil {
			return err
		}
	}
	return nil
}

// checkLeafOp requires op to be spec exactly: ics23 only requires the
// prefix to start with the spec's.
func checkLeafOp(op, spec *ics23.LeafOp) error {
	if op == nil || op.Hash != spec.Hash || op.PrehashKey != spec.PrehashKey ||
		op.PrehashValue != spec.PrehashValue || op.Length != spec.Length || !bytes.Equal(op.Prefix, spec.Prefix) {
		return fmt.Errorf("%w: leaf op is not the spec's", ErrMalformed)
	}
	return nil
}

// checkInnerOp requires one of the two ops a binary SHA-256 tree has:
// side 0 (our node on the left) is prefix 01, suffix the 32-byte
// sibling; side 1 is prefix 01 ‖ sibling, no suffix.
func checkInnerOp(op *ics23.InnerOp, side byte) error {
	if op == nil || op.Hash != ics23.HashOp_SHA256 {
		return fmt.Errorf("%w: inner op is not SHA-256", ErrMalformed)
	}
	var ok bool
	if side == 0 {
		ok = bytes.Equal(op.Prefix, []byte{1}) && len(op.Suffix) == 32
	} else {
		ok = len(op.Prefix) == 33 && op.Prefix[0] == 1 && len(op.Suffix) == 0
	}
	if !ok {
		return fmt.Errorf("%w: inner op is not a %s child's", ErrMalformed, [2]string{"left", "right"}[side])
	}
	return nil
}

// checkDivergent requires that two neighbours' paths, once their common
// top is removed, both have an op left: what IsLeftNeighbor assumes and
// does not check.
func checkDivergent(left, right []*ics23.InnerOp) error {
	l, r := len(left), len(right)
	for l > 0 && r > 0 && bytes.Equal(left[l-1].Prefix, right[r-1].Prefix) && bytes.Equal(left[l-1].Suffix, right[r-1].Suffix) {
		l--
		r--
	}
	if l == 0 || r == 0 {
		return fmt.Errorf("%w: neighbour paths do not diverge", ErrProof)
	}
	return nil
}
