package btcnode_test

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/btcnode"
)

// refChain is the expected answer of a Source: a chain's serialized blocks
// by height, built without the code under test.
type refChain struct {
	blocks [][]byte
	hashes []chainhash.Hash
	height map[chainhash.Hash]int32
}

func (r *refChain) tip() int32 { return int32(len(r.blocks) - 1) }

func (r *refChain) add(t testing.TB, raw []byte) {
	t.Helper()
	h := chainhash.DoubleHashH(raw[:80])
	if n := len(r.hashes); n > 0 {
		var hdr wire.BlockHeader
		if err := hdr.Deserialize(bytes.NewReader(raw)); err != nil || hdr.PrevBlock != r.hashes[n-1] {
			t.Fatalf("reference block %d does not build on %s (%v)", n, r.hashes[n-1], err)
		}
	}
	if r.height == nil {
		r.height = make(map[chainhash.Hash]int32)
	}
	r.height[h] = int32(len(r.blocks))
	r.blocks = append(r.blocks, raw)
	r.hashes = append(r.hashes, h)
}

// mainnetFixture is the repository's first 14,132 mainnet blocks.
const mainnetFixture = "../../testdata/mainnet/mainnet-0-14131.blk.bz2"

// refFromBlk reads a bzip2 blk file whose records are consecutive blocks
// from genesis: magic ‖ u32le length ‖ block.
func refFromBlk(t testing.TB, path string, net wire.BitcoinNet) *refChain {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bzip2.NewReader(f)
	ref := &refChain{}
	var prefix [8]byte
	for {
		if _, err := io.ReadFull(r, prefix[:]); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if wire.BitcoinNet(binary.LittleEndian.Uint32(prefix[:4])) != net {
			t.Fatalf("%s: bad magic %x after block %d", path, prefix[:4], len(ref.blocks)-1)
		}
		raw := make([]byte, binary.LittleEndian.Uint32(prefix[4:]))
		if _, err := io.ReadFull(r, raw); err != nil {
			t.Fatal(err)
		}
		ref.add(t, raw)
	}
	return ref
}

func refFromMsgBlocks(t testing.TB, blocks []*wire.MsgBlock) *refChain {
	t.Helper()
	ref := &refChain{}
	for _, b := range blocks {
		raw, err := btcutil.NewBlock(b).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ref.add(t, raw)
	}
	return ref
}

// unknownHash is a hash no chain has.
var unknownHash = chainhash.Hash{0xde, 0xad, 0xbe, 0xef}

// checkSource is the suite every Source implementation runs: it must give
// ref's answers, and ErrNotFound for what ref does not have.
func checkSource(t *testing.T, src btcnode.Source, ref *refChain, chain string) {
	t.Helper()
	ctx := context.Background()
	tip := ref.tip()

	info, err := src.ChainInfo(ctx)
	if err != nil {
		t.Fatalf("ChainInfo: %v", err)
	}
	if info.Chain != chain || info.Blocks != tip || info.BestBlockHash != ref.hashes[tip] {
		t.Errorf("ChainInfo = %+v, want chain %q, %d blocks, best %s", info, chain, tip, ref.hashes[tip])
	}
	if best, err := src.BestBlockHash(ctx); err != nil || best != ref.hashes[tip] {
		t.Errorf("BestBlockHash = %s, %v; want %s", best, err, ref.hashes[tip])
	}

	seen := map[int32]bool{}
	for _, h := range []int32{0, 1, tip / 3, tip / 2, tip - 1, tip} {
		if h < 0 || seen[h] {
			continue
		}
		seen[h] = true
		want := ref.hashes[h]
		if got, err := src.BlockHash(ctx, h); err != nil || got != want {
			t.Errorf("BlockHash(%d) = %s, %v; want %s", h, got, err, want)
		}
		hdr, err := src.BlockHeader(ctx, want)
		switch {
		case err != nil:
			t.Errorf("BlockHeader(%s): %v", want, err)
		case hdr.Height != h || !bytes.Equal(hdr.Raw[:], ref.blocks[h][:80]) ||
			hdr.Header.BlockHash() != want || hdr.Hash() != want:
			t.Errorf("BlockHeader(%s) = height %d, raw %x; want height %d, raw %x", want, hdr.Height, hdr.Raw, h, ref.blocks[h][:80])
		}
		if blk, err := src.Block(ctx, want); err != nil || !bytes.Equal(blk, ref.blocks[h]) {
			t.Errorf("Block(%s): %d bytes, %v; want the %d reference bytes", want, len(blk), err, len(ref.blocks[h]))
		}
	}

	for _, h := range []int32{tip + 1, tip + 1000, -1} {
		if _, err := src.BlockHash(ctx, h); !errors.Is(err, btcnode.ErrNotFound) {
			t.Errorf("BlockHash(%d) above/below the chain: %v, want ErrNotFound", h, err)
		}
	}
	if _, err := src.BlockHeader(ctx, unknownHash); !errors.Is(err, btcnode.ErrNotFound) {
		t.Errorf("BlockHeader(unknown): %v, want ErrNotFound", err)
	}
	if _, err := src.Block(ctx, unknownHash); !errors.Is(err, btcnode.ErrNotFound) {
		t.Errorf("Block(unknown): %v, want ErrNotFound", err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.BestBlockHash(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("BestBlockHash with a canceled context: %v, want context.Canceled", err)
	}
}
