package verify

import (
	"bytes"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

// FuzzDecodeAndVerify feeds arbitrary bytes to the file decoder (and
// verifies what decodes), and arbitrary proof bytes in place of each of a
// valid UTXO proof's three proofs. Nothing may panic, and no proof but
// the honest one may verify: proofs are canonical and a tree has one
// proof per key.
func FuzzDecodeAndVerify(f *testing.F) {
	fx := newFixture(f, 14, 64, nil)
	present := fx.utxoProof(f, fx.ops[0])
	absentOp := fx.ops[0]
	absentOp.Vout += 100
	absent := fx.utxoProof(f, absentOp)
	rf, reserves, _ := reservesFixture(f)

	f.Add(mustJSON(f, present), []byte(present.Proof), uint8(0))
	f.Add(mustJSON(f, absent), []byte(absent.Proof), uint8(1))
	f.Add(mustJSON(f, reserves), []byte(present.RootProof), uint8(2))
	f.Add([]byte(`{"kind":"utxo"}`), []byte(present.TipProof), uint8(4))
	f.Add([]byte(`{"kind":"reserves","addresses":[{"address":"1"}]}`), []byte(absent.Proof), uint8(5))
	// ics23's own favourite failures, as bytes: a three-child node and a
	// compressed batch.
	kl, kr := []byte("k0"), []byte("k4")
	lh, _ := smtLeafOp().Apply(kl, []byte("v"))
	three, _ := SMTNonExistence(absentOp.Key(),
		&ics23.ExistenceProof{Key: kl, Value: []byte("v"), Leaf: smtLeafOp(),
			Path: []*ics23.InnerOp{{Hash: ics23.HashOp_SHA256, Prefix: []byte{1}, Suffix: make([]byte, 64)}}},
		&ics23.ExistenceProof{Key: kr, Value: []byte("v"), Leaf: smtLeafOp(),
			Path: []*ics23.InnerOp{{Hash: ics23.HashOp_SHA256, Prefix: append([]byte{1}, lh...), Suffix: make([]byte, 32)}}}).Marshal()
	f.Add([]byte(`[]`), three, uint8(1))
	batch, _ := ics23.CombineProofs([]*ics23.CommitmentProof{fx.tree.member(0), fx.tree.member(1)})
	compressed, _ := batch.Marshal()
	f.Add([]byte(`null`), compressed, uint8(0))

	f.Fuzz(func(t *testing.T, data, proof []byte, which uint8) {
		if file, err := DecodeFile(bytes.NewReader(data)); err == nil {
			if file.UTXO != nil {
				_, _ = VerifyUTXO(file.UTXO, fx.appHash[:])
			} else {
				_, _ = VerifyReserves(file.Reserves, rf.appHash[:])
			}
		}

		p := *present
		if which&1 == 1 {
			p = *absent
		}
		var honest Hex
		switch (which >> 1) % 3 {
		case 0:
			honest, p.Proof = p.Proof, proof
		case 1:
			honest, p.RootProof = p.RootProof, proof
		case 2:
			honest, p.TipProof = p.TipProof, proof
		}
		if _, err := VerifyUTXO(&p, fx.appHash[:]); err == nil && !bytes.Equal(proof, honest) {
			t.Fatalf("a proof other than the honest one verified: %x", proof)
		}

		// The proof on its own, against its own key and value, which
		// reaches the checks past the key comparison.
		cp, err := DecodeProof(proof)
		if err != nil {
			return
		}
		root := fx.c.utxo[:]
		if e := cp.GetExist(); e != nil {
			_ = VerifyCoinMembership(root, cp, e.Key, e.Value)
			_ = VerifyCommitment(fx.appHash[:], cp, string(e.Key), e.Value)
			if c, err := cp.Calculate(); err == nil && len(c) == 32 {
				_ = VerifyCoinMembership(c, cp, e.Key, e.Value)
			}
		}
		if n := cp.GetNonexist(); n != nil {
			_ = VerifyCoinAbsence(root, cp, n.Key)
			if c, err := cp.Calculate(); err == nil && len(c) == 32 {
				_ = VerifyCoinAbsence(c, cp, n.Key)
			}
		}
	})
}
