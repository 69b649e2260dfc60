package btcnode_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/node/btcnode"
)

// A FileSource answers like a node would, from blk files: here the first
// 14,132 mainnet blocks bundled with the repository.
func ExampleOpenFiles() {
	ctx := context.Background()
	src, err := btcnode.OpenFiles(ctx, &chaincfg.MainNetParams, []string{"../../testdata/mainnet/mainnet-0-14131.blk.bz2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	info, _ := src.ChainInfo(ctx)
	fmt.Println(info.Chain, info.Blocks, info.BestBlockHash)

	// Block 170 holds the first payment between people (Satoshi to Hal Finney).
	hash, _ := src.BlockHash(ctx, 170)
	hdr, _ := src.BlockHeader(ctx, hash)
	fmt.Println(hdr.Height, hash, hdr.Header.Timestamp.UTC())
	// Output:
	// mainnet 14131 00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c
	// 170 00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee 2009-01-12 03:30:25 +0000 UTC
}
