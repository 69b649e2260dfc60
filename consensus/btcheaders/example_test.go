package btcheaders_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// Mainnet block 1 on a tree from genesis, saved and loaded.
func Example() {
	tree, err := btcheaders.New(&chaincfg.MainNetParams, btcheaders.StartPoint{}, []byte("H"))
	if err != nil {
		panic(err)
	}
	raw, _ := hex.DecodeString("010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000" +
		"982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299")
	var h wire.BlockHeader
	if err := h.Deserialize(bytes.NewReader(raw)); err != nil {
		panic(err)
	}
	// now is the CometBFT block time; here, an hour after the header.
	now := h.Timestamp.Add(time.Hour)
	n, err := tree.Add(&h, now)
	fmt.Println(n.Height(), n.Hash(), err)
	_, err = tree.Add(&h, now)
	fmt.Println(btcheaders.IsRuleError(err, btcheaders.ErrDuplicate))

	endorsed := func(n *btcheaders.Node) bool { return false }
	fmt.Println(tree.BestChain(nil).Height(), tree.BestChain(endorsed).Height())

	store := memstore.New()
	_ = store.Update(tree.ChangesSize(), true, func(b utxo.Batch) error {
		tree.WriteChanges(b)
		return nil
	})
	loaded, err := btcheaders.Load(store, &chaincfg.MainNetParams, []byte("H"))
	fmt.Println(err, loaded.Root() == tree.Root(), loaded.Len())
	// Output:
	// 1 00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048 <nil>
	// true
	// 1 0
	// <nil> true 2
}
