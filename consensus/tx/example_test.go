package tx_test

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/satnode/satnode/consensus/tx"
)

// A wallet signs a transfer; a node decodes, verifies and reads it. This is
// the order CheckTx follows: framing, message, signature.
func Example() {
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{1}, 32))
	to, err := tx.ParseAddress("sat1f49ke5fkzqev4x7j46uajq92f4zan6kcpty5yvm5c3g6wf2dqanq8ze2tv")
	if err != nil {
		fmt.Println(err)
		return
	}
	env, err := tx.Sign("satnode-1", priv, 1, tx.Transfer{To: to, Amount: 50_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	wire := env.Marshal()

	got, err := tx.Unmarshal(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := got.Msg()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(wire), "bytes from", got.Signer, "nonce", got.Nonce)
	fmt.Printf("%s %+v\n", msg.Kind(), msg.(tx.Transfer).Amount)
	fmt.Println("verify:", got.Verify("satnode-1"))
	err = got.Verify("satnode-2")
	fmt.Println("other chain:", tx.CodeOf(err), uint32(tx.CodeOf(err)))
	// Output:
	// 148 bytes from sat1rwzv24nmzfjypx2a8m264ws9vht3uxp5vpypnluuzl67n4waq78sg2k5ne nonce 1
	// Transfer 50000
	// verify: <nil>
	// other chain: BadSignature 3
}
