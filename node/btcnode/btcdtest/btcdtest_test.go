package btcdtest

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/utxo/chaingen"
)

func TestMiningKeyMatchesAddress(t *testing.T) {
	pub := MiningKey().PubKey().SerializeCompressed()
	addr, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(pub), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if got := addr.EncodeAddress(); got != DefaultMiningAddr {
		t.Fatalf("MiningKey's address is %s, DefaultMiningAddr is %s", got, DefaultMiningAddr)
	}
}

// testChain is chaingen's default chain cut to 450 blocks (past segwit and
// taproot activation at 432) with few transactions, to keep the test fast.
func testChain(t *testing.T) []*wire.MsgBlock {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 450
	cfg.TxsPerBlock = 8
	cfg.PreActivationTxsPerBlock = 2
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*wire.MsgBlock
	if err := g.Each(func(b *wire.MsgBlock) error {
		blocks = append(blocks, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return blocks
}

func serialize(t *testing.T, b *wire.MsgBlock) []byte {
	t.Helper()
	raw, err := btcutil.NewBlock(b).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestTwoNodes: blocks submitted to one node reach its peer, and
// invalidateblock moves both tips back.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two btcd processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	blocks := testChain(t)
	a := Start(t, Options{})
	b := Start(t, Options{})
	a.Connect(t, b)

	// Block 0 is the regtest genesis block, which the nodes already have.
	for _, blk := range blocks[1:] {
		if err := a.SubmitBlock(ctx, serialize(t, blk)); err != nil {
			t.Fatal(err)
		}
	}
	tipHeight := int32(len(blocks) - 1)
	tip := blocks[tipHeight].BlockHash()
	a.WaitTip(t, tip, 10*time.Second)
	// The blocks are years old, so a does not announce them (see Connect);
	// a new connection makes b sync.
	a.Reconnect(t, b)
	b.WaitTip(t, tip, 60*time.Second)

	// A block a node already has is rejected with a reason string, not an
	// RPC error.
	var se *SubmitError
	if err := a.SubmitBlock(ctx, serialize(t, blocks[5])); !errors.As(err, &se) || se.Hash != blocks[5].BlockHash() {
		t.Fatalf("resubmitting block 5: %v, want a *SubmitError for it", err)
	}

	bad := blocks[tipHeight-2].BlockHash()
	want := blocks[tipHeight-3].BlockHash()
	for _, n := range []*Node{a, b} {
		if err := n.InvalidateBlock(ctx, bad); err != nil {
			t.Fatal(err)
		}
		info, err := n.Client.ChainInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Blocks != tipHeight-3 || info.BestBlockHash != want {
			t.Fatalf("after invalidating %s: tip %d %s, want %d %s", bad, info.Blocks, info.BestBlockHash, tipHeight-3, want)
		}
	}
	if got := b.Btcctl(t, "getblockcount"); got != strconv.Itoa(int(tipHeight-3)) {
		t.Fatalf("btcctl getblockcount = %q, want %d", got, tipHeight-3)
	}
	if err := a.ReconsiderBlock(ctx, bad); err != nil {
		t.Fatal(err)
	}
	a.WaitTip(t, tip, 10*time.Second)
}

// TestRestart: generate pays the mining address, and the chain survives a
// clean stop and a kill.
func TestRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a btcd process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := Start(t, Options{})
	hashes, err := n.Generate(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := n.Client.Block(ctx, hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := btcutil.NewBlockFromBytes(blk)
	if err != nil {
		t.Fatal(err)
	}
	out, err := n.Client.GetTxOut(ctx, *msg.Transactions()[0].Hash(), 0, false)
	if err != nil || out == nil {
		t.Fatalf("coinbase output of block 1: %v, %v", out, err)
	}
	wantScript := "76a914" + hexHash160(MiningKey().PubKey().SerializeCompressed()) + "88ac"
	if out.ScriptPubKeyHex != wantScript || !out.Coinbase || out.Sats() != 50*btcutil.SatoshiPerBitcoin {
		t.Fatalf("coinbase output %+v, want 50 BTC to %s", out, wantScript)
	}

	n.Stop(t)
	if n.Running() {
		t.Fatal("running after Stop")
	}
	once, err := btcnode.New(btcnode.Config{URL: n.RPCAddr, User: n.User, Password: n.Password, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := once.BestBlockHash(ctx); !errors.As(err, new(*btcnode.TransportError)) {
		t.Fatalf("RPC to a stopped node: %v, want a *btcnode.TransportError", err)
	}
	n.Restart(t)
	n.WaitHeight(t, 3, 5*time.Second)
	n.Kill(t)
	// A port taken while btcd is down: Restart waits for it.
	l, err := net.Listen("tcp", n.RPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, func() { l.Close() })
	n.Restart(t)
	if got, err := n.Client.BestBlockHash(ctx); err != nil || got != hashes[2] {
		t.Fatalf("tip after kill and restart: %s, %v; want %s", got, err, hashes[2])
	}
}

func hexHash160(b []byte) string { return hex.EncodeToString(btcutil.Hash160(b)) }
