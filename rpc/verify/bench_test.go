package verify

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

// deepProof is a membership proof at depth 33, about where a coin sits in
// a tree of Bitcoin's ~170 million coins (log2 ≈ 27.3, plus the few
// levels by which random paths share prefixes beyond that), with the
// app hash its root leads to. Siblings are random: any siblings lead to
// some root, and the cost of verifying does not depend on which.
func deepProof(tb testing.TB) (*UTXOProof, [32]byte) {
	rng := rand.New(rand.NewPCG(20, 20))
	op := randOutpoint(rng)
	coin := randCoin(rng)
	sibs := make([][32]byte, 33)
	for i := range sibs {
		sibs[i] = randHash(rng)
	}
	e := SMTExistence(op.Key(), coin.TreeValue(), sha256.Sum256(op.Key()), sibs)
	root, err := e.Calculate()
	if err != nil {
		tb.Fatal(err)
	}
	c := commitments{tip: BitcoinTip{Height: 900000, Hash: randHash(rng)}, consensus: randHash(rng),
		muhash: randHash(rng), utxo: [32]byte(root)}
	appHash := c.root()
	f := &fixture{c: c, appHash: appHash, chainID: testChainID, height: 41}
	p := &UTXOProof{Kind: KindUTXO, State: f.state(tb), Outpoint: op, Unspent: true, Coin: &coin,
		Proof: mustEncode(tb, &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: e}})}
	return p, appHash
}

// BenchmarkVerifyUTXO is the pure part of verifying one coin: three
// protobuf decodes, two TendermintSpec proofs and one SmtSpec proof. The
// goal is well under 1 ms.
func BenchmarkVerifyUTXO(b *testing.B) {
	run := func(b *testing.B, p *UTXOProof, appHash [32]byte) {
		if _, err := VerifyUTXO(p, appHash[:]); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := VerifyUTXO(p, appHash[:]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(p.Proof)), "proof-bytes")
	}
	b.Run("member/depth33", func(b *testing.B) {
		p, appHash := deepProof(b)
		run(b, p, appHash)
	})
	// A real tree of 2^14 coins (depth ~16) for both kinds of proof.
	f := newFixture(b, 21, 1<<14, nil)
	b.Run("member/16k", func(b *testing.B) { run(b, f.utxoProof(b, f.ops[1]), f.appHash) })
	absent := f.ops[1]
	absent.Vout += 100
	b.Run("absent/16k", func(b *testing.B) { run(b, f.utxoProof(b, absent), f.appHash) })
}
