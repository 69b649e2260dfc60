package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/utxotest"
)

// fakeBTC serves blocks by hash; wrong maps a hash to the bytes it serves
// instead of the block.
type fakeBTC struct {
	blocks map[chainhash.Hash][]byte
	calls  int
}

func (f *fakeBTC) Block(_ context.Context, h chainhash.Hash) ([]byte, error) {
	f.calls++
	raw, ok := f.blocks[h]
	if !ok {
		return nil, errors.New("block not found")
	}
	return raw, nil
}

// TestLiveBodies: the body chain keeps only bodies that match their
// header, serves the store first, says what it tried when no source has a
// body, and its libp2p verifier takes only bodies the node asked for.
func TestLiveBodies(t *testing.T) {
	blocks, err := utxotest.MainnetChain() // shared: never modified here
	if err != nil {
		t.Fatal(err)
	}
	hash := func(i int) chainhash.Hash { return chainhash.DoubleHashH(blocks[i][:80]) }
	store, err := p2p.OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	params, _ := utxo.ParamsFor("mainnet")
	lb := &liveBodies{params: params, log: slog.New(slog.DiscardHandler), store: store, files: &FileBodies{}}
	ctx := context.Background()

	if _, err := lb.Body(ctx, hash(5), 5); !errors.Is(err, app.ErrNoBody) || !strings.Contains(err.Error(), "no other source") {
		t.Fatalf("no sources: %v", err)
	}
	// Block 170's coinbase paying one satoshi less: its merkle root breaks.
	wrong := bytes.Clone(blocks[170])
	wrong[len(wrong)-80]++
	btc := &fakeBTC{blocks: map[chainhash.Hash][]byte{hash(5): blocks[5], hash(170): wrong, hash(9): blocks[10]}}
	lb.btc = btc
	for _, i := range []int{170, 9} {
		_, err := lb.Body(ctx, hash(i), int32(i))
		if !errors.Is(err, app.ErrNoBody) || !errors.Is(err, app.ErrWrongBody) || !strings.Contains(err.Error(), "bitcoin node") {
			t.Fatalf("block %d, wrong body from the bitcoin node: %v", i, err)
		}
		if store.Has(hash(i)) {
			t.Fatalf("block %d: a wrong body was kept", i)
		}
	}
	raw, err := lb.Body(ctx, hash(5), 5)
	if err != nil || !bytes.Equal(raw, blocks[5]) || !store.Has(hash(5)) {
		t.Fatalf("block 5 from the bitcoin node: %v", err)
	}
	calls := btc.calls
	if raw, err := lb.Body(ctx, hash(5), 5); err != nil || !bytes.Equal(raw, blocks[5]) || btc.calls != calls {
		t.Fatalf("block 5 again: %v, %d calls to the bitcoin node (want it from the store)", err, btc.calls-calls)
	}

	// The libp2p verifier: only hashes the node wants, at the height the
	// node gave; anything else cannot be judged (the peer is not at fault).
	if _, err := lb.verify(hash(7), blocks[7]); !errors.Is(err, p2p.ErrCannotVerify) {
		t.Fatalf("a body nobody asked for: %v", err)
	}
	lb.want.add(hash(7), 7)
	lb.want.add(hash(7), 7) // a second caller of the same hash
	if h, err := lb.verify(hash(7), blocks[7]); err != nil || h != 7 {
		t.Fatalf("asked-for body: %d, %v", h, err)
	}
	if _, err := lb.verify(hash(7), blocks[8]); !errors.Is(err, app.ErrWrongBody) {
		t.Fatalf("another block's body: %v", err)
	}
	lb.want.done(hash(7)) // the first caller is done: the second still waits
	if h, err := lb.verify(hash(7), blocks[7]); err != nil || h != 7 {
		t.Fatalf("after the first caller left: %d, %v", h, err)
	}
	lb.want.done(hash(7))
	if _, err := lb.verify(hash(7), blocks[7]); !errors.Is(err, p2p.ErrCannotVerify) {
		t.Fatalf("after the last caller left: %v", err)
	}
}

// fakePeers is btcpeer.Pool's part in the body chain.
type fakePeers struct {
	blocks map[chainhash.Hash][]byte
	calls  int
}

func (f *fakePeers) Block(_ context.Context, h chainhash.Hash) ([]byte, string, error) {
	f.calls++
	if raw, ok := f.blocks[h]; ok {
		return raw, "127.0.0.1:18444", nil
	}
	return nil, "", errors.New("btcpeer: no Bitcoin peer supplied the block")
}

// TestLiveBodiesBitcoinPeers: Bitcoin peers are asked last, only when the
// other sources lack the body; what they send is checked against the
// header like the Bitcoin node's, kept only if it passes, and a failure
// names the peer. Each body is logged with its source.
func TestLiveBodiesBitcoinPeers(t *testing.T) {
	blocks, err := utxotest.MainnetChain() // shared: never modified here
	if err != nil {
		t.Fatal(err)
	}
	hash := func(i int) chainhash.Hash { return chainhash.DoubleHashH(blocks[i][:80]) }
	store, err := p2p.OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	params, _ := utxo.ParamsFor("mainnet")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	btc := &fakeBTC{blocks: map[chainhash.Hash][]byte{hash(3): blocks[3]}}
	// Block 9's hash served with block 10's body: a body that is not the
	// one asked for gets past no source.
	peers := &fakePeers{blocks: map[chainhash.Hash][]byte{hash(3): blocks[3], hash(4): blocks[4], hash(9): blocks[10]}}
	lb := &liveBodies{params: params, log: log, store: store, files: &FileBodies{}, btc: btc, btcPeers: peers}
	ctx := context.Background()

	if raw, err := lb.Body(ctx, hash(3), 3); err != nil || !bytes.Equal(raw, blocks[3]) || peers.calls != 0 {
		t.Fatalf("block 3, which the bitcoin node has: %v, %d calls to the peers", err, peers.calls)
	}
	raw, err := lb.Body(ctx, hash(4), 4)
	if err != nil || !bytes.Equal(raw, blocks[4]) || !store.Has(hash(4)) || peers.calls != 1 {
		t.Fatalf("block 4 from the bitcoin peers: %v (kept %v, %d calls)", err, store.Has(hash(4)), peers.calls)
	}
	_, err = lb.Body(ctx, hash(9), 9)
	if !errors.Is(err, app.ErrNoBody) || !errors.Is(err, app.ErrWrongBody) || !strings.Contains(err.Error(), "127.0.0.1:18444") {
		t.Fatalf("wrong body from a bitcoin peer: %v", err)
	}
	if store.Has(hash(9)) {
		t.Fatal("a wrong body from a bitcoin peer was kept")
	}
	if _, err := lb.Body(ctx, hash(7), 7); !errors.Is(err, app.ErrNoBody) || !strings.Contains(err.Error(), "bitcoin peers") ||
		!strings.Contains(err.Error(), "bitcoin node") {
		t.Fatalf("a block no source has: %v", err)
	}
	if _, err := lb.Body(ctx, hash(4), 4); err != nil || peers.calls != 3 {
		t.Fatalf("block 4 again: %v, %d calls to the peers (want it from the store)", err, peers.calls)
	}
	for _, want := range []string{
		"level=DEBUG msg=\"body fetched\" source=bitcoin-rpc height=3 hash=" + hash(3).String(),
		"level=INFO msg=\"body fetched\" source=bitcoin-p2p peer=127.0.0.1:18444 height=4 hash=" + hash(4).String(),
		"level=WARN msg=\"body from a bitcoin peer fails its header\" peer=127.0.0.1:18444 height=9",
		"level=DEBUG msg=\"body fetched\" source=store height=4 hash=" + hash(4).String(),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
