package verify

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// A UTXO set of one coin, so that the UTXO tree's root is the coin's leaf
// and its proof has no inner ops; the app hash is built from it as the
// node builds it. The light client, which would supply appHash from a
// signed header, is left out (see Verify).
func ExampleVerifyUTXO() {
	var txid BlockHash
	txid[31] = 0xab // printed first: Bitcoin prints hashes reversed
	op := Outpoint{TxID: txid, Vout: 1}
	coin := Coin{Value: 5e8, ScriptPubKey: append([]byte{0x00, 0x14}, bytes.Repeat([]byte{0x11}, 20)...), Height: 840000}

	e := SMTExistence(op.Key(), coin.TreeValue(), sha256.Sum256(op.Key()), nil)
	utxoRoot, _ := e.Calculate()
	c := commitments{tip: BitcoinTip{Height: 840000, Hash: BlockHash{31: 0x01}}, utxo: [32]byte(utxoRoot)}
	appHash := c.root()
	tipProof, _ := EncodeProof(c.prove(0))  // "btc_tip", leaf 0 of the app hash tree
	rootProof, _ := EncodeProof(c.prove(3)) // "utxo", leaf 3
	proof, _ := EncodeProof(&ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: e}})
	p := &UTXOProof{
		Kind: KindUTXO,
		State: State{ChainID: "satnode-example", Height: 100, HeaderHeight: 101, AppHash: appHash[:],
			AppHashVersion: 2, Bitcoin: c.tip, TipProof: tipProof, UTXORoot: Hex(utxoRoot), RootProof: rootProof},
		Outpoint: op, Unspent: true, Coin: &coin, Proof: proof,
	}

	r, err := VerifyUTXO(p, appHash[:])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.8s…:%d unspent=%v %d sat, at Bitcoin height %d (%.8s…), CometBFT height %d\n",
		r.Outpoint.TxID, r.Outpoint.Vout, r.Unspent, r.Coin.Value, r.Bitcoin.Height, r.Bitcoin.Hash, r.Height)

	p.Coin.Value++ // one satoshi more
	_, err = VerifyUTXO(p, appHash[:])
	var ve *Error
	fmt.Println(errors.As(err, &ve) && ve.Step == StepCoin, errors.Is(err, ErrProof))
	// Output:
	// ab000000…:1 unspent=true 500000000 sat, at Bitcoin height 840000 (01000000…), CometBFT height 100
	// true true
}
