package apphash_test

import (
	"crypto/sha256"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"

	"github.com/satnode/satnode/consensus/apphash"
)

// A chained proof, as a light client checks it: a coin against the UTXO
// tree (ICS-23 SmtSpec), then the tree's root against the app hash
// (TendermintSpec). Here the UTXO tree holds one coin, so its root is the
// coin's leaf and its proof has no inner ops.
func Example_chained() {
	key, value := []byte("an outpoint"), []byte("a coin")
	coin := &ics23.ExistenceProof{Key: key, Value: value, Leaf: ics23.SmtSpec.LeafSpec}
	utxoRoot, err := coin.Calculate()
	if err != nil {
		panic(err)
	}
	c := apphash.Commitments{UTXORoot: [32]byte(utxoRoot), TipHeight: 1, TipHash: sha256.Sum256([]byte("tip"))}
	appHash := c.Root() // what CometBFT's header carries, for a v2 chain

	rootProof, provedRoot, err := c.Prove(apphash.NameUTXO)
	if err != nil {
		panic(err)
	}
	coinProof := &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: coin}}
	sub, _ := coinProof.Calculate()
	fmt.Println(ics23.VerifyMembership(ics23.SmtSpec, sub, coinProof, key, value) &&
		ics23.VerifyMembership(ics23.TendermintSpec, appHash[:], rootProof, []byte(apphash.NameUTXO), sub) &&
		string(provedRoot) == string(sub))
	// Output: true
}
