package btcnode_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/node/btcnode/btcdtest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestBtcd runs the Source suite against a real btcd and against a
// FileSource over the same chain written to blk files, so both
// implementations give the answers of the node software itself; then
// GetTxOut against btcd's UTXO set.
func TestBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 160 // past coinbase maturity, so outputs get spent
	cfg.PreActivationTxsPerBlock = 4
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*wire.MsgBlock
	if err := g.Each(func(b *wire.MsgBlock) error { blocks = append(blocks, b); return nil }); err != nil {
		t.Fatal(err)
	}
	ref := refFromMsgBlocks(t, blocks)

	node := btcdtest.Start(t, btcdtest.Options{})
	dir := t.TempDir()
	w, err := blkfile.NewWriter(dir, chaincfg.RegressionNetParams.Net, nil)
	if err != nil {
		t.Fatal(err)
	}
	for h, raw := range ref.blocks {
		if _, err := w.WriteBlock(raw); err != nil {
			t.Fatal(err)
		}
		if h == 0 {
			continue // btcd has the genesis block
		}
		if err := node.SubmitBlock(ctx, raw); err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("client", func(t *testing.T) { checkSource(t, node.Client, ref, "regtest") })
	t.Run("files", func(t *testing.T) {
		src, err := btcnode.OpenFiles(ctx, &chaincfg.RegressionNetParams, []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		checkSource(t, src, ref, "regtest")
	})

	t.Run("gettxout", func(t *testing.T) {
		tip := ref.tip()
		var checked int
		for c := range g.Unspent() {
			if checked == 20 {
				break
			}
			checked++
			out, err := node.Client.GetTxOut(ctx, c.OutPoint.Hash, c.OutPoint.Index, false)
			if err != nil || out == nil {
				t.Fatalf("unspent %v: %+v, %v", c.OutPoint, out, err)
			}
			if out.Sats() != c.Value || out.ScriptPubKeyHex != hex.EncodeToString(c.PkScript) ||
				out.Coinbase != c.Coinbase || out.Confirmations != int64(tip-c.Height+1) || out.BestBlock != ref.hashes[tip] {
				t.Fatalf("unspent %v: node says %+v, generator says %+v", c.OutPoint, out, c)
			}
		}
		if checked == 0 {
			t.Fatal("the generator has no unspent outputs")
		}
		// Every input of the last block spends an output btcd no longer has.
		spent := blocks[len(blocks)-1].Transactions[1].TxIn[0].PreviousOutPoint
		if out, err := node.Client.GetTxOut(ctx, spent.Hash, spent.Index, true); out != nil || err != nil {
			t.Fatalf("spent %v: %+v, %v; want nil, nil", spent, out, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		var pe *btcnode.RPCError
		if err := node.Client.Call(ctx, "getblock", []any{"zz", 0}, nil); !errors.As(err, &pe) || errors.Is(err, btcnode.ErrNotFound) {
			t.Fatalf("getblock of a malformed hash: %v, want an *RPCError that is not ErrNotFound", err)
		}
		wrong, err := btcnode.New(btcnode.Config{URL: node.RPCAddr, User: node.User, Password: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wrong.ChainInfo(ctx); !errors.Is(err, btcnode.ErrUnauthorized) {
			t.Fatalf("wrong password: %v, want ErrUnauthorized", err)
		}
		// Blocks btcd accepted come back byte for byte.
		raw, err := node.Client.Block(ctx, ref.hashes[100])
		if err != nil || !bytes.Equal(raw, ref.blocks[100]) {
			t.Fatalf("block 100: %v", err)
		}
	})
}
