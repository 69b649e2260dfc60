package btcpeer

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/btcnode/btcdtest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestBtcd fetches blocks from a real btcd over P2P, behind a peer nothing
// listens on: the bytes are getblock's (witness data included), concurrent
// calls share one connection, the dead peer is skipped, and an unknown
// hash is ErrNotFound as soon as btcd says notfound.
func TestBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts btcd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Past segwit activation (432 on chaingen's regtest chain), so that
	// the last blocks carry witness data.
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 450
	cfg.TxsPerBlock = 8
	cfg.PreActivationTxsPerBlock = 2
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*wire.MsgBlock
	if err := g.Each(func(b *wire.MsgBlock) error { blocks = append(blocks, b); return nil }); err != nil {
		t.Fatal(err)
	}
	node := btcdtest.Start(t, btcdtest.Options{})
	for h, b := range blocks[1:] { // btcd has the genesis block
		if err := node.SubmitBlock(ctx, serialize(t, b)); err != nil {
			t.Fatalf("block %d: %v", h+1, err)
		}
	}

	// A long backoff: the dead peer must still be skipped at the end.
	p, err := New(Config{Addrs: []string{deadAddr(t), node.P2PAddr}, Params: &chaincfg.RegressionNetParams,
		DialTimeout: 2 * time.Second, RequestTimeout: 2 * time.Second, Backoff: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	heights := []int{0, 1, 100, 300, 431}
	for h := 432; h < len(blocks); h += 2 {
		heights = append(heights, h)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	witness := 0
	for _, h := range heights {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hash := blocks[h].BlockHash()
			raw, from, err := p.Block(ctx, hash)
			if err != nil {
				t.Errorf("block %d: %v", h, err)
				return
			}
			want, err := node.Client.Block(ctx, hash) // getblock <hash> 0
			if err != nil {
				t.Errorf("block %d over RPC: %v", h, err)
				return
			}
			if !bytes.Equal(raw, want) || !bytes.Equal(raw, serialize(t, blocks[h])) || from != node.P2PAddr {
				t.Errorf("block %d: %d bytes from %s; RPC gives %d bytes", h, len(raw), from, len(want))
			}
			if blocks[h].Transactions[len(blocks[h].Transactions)-1].HasWitness() {
				mu.Lock()
				witness++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if witness == 0 {
		t.Error("no block with witness data was fetched")
	}

	start := time.Now()
	_, _, err = p.Block(ctx, chainhash.HashH([]byte("no such block")))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrNotHeld) || !errors.Is(err, ErrBackoff) {
		t.Fatalf("unknown block: %v; want ErrNotFound with btcd's notfound and the dead peer backing off", err)
	}
	if d := time.Since(start); d >= 2*time.Second {
		t.Fatalf("btcd's notfound took %v, as long as the request timeout", d)
	}
	if _, _, err := p.Block(ctx, blocks[5].BlockHash()); err != nil {
		t.Fatalf("after notfound: %v", err)
	}
}
