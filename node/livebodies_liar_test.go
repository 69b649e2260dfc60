package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
)

// regtestChain generates a small regtest chain (genesis first) that runs
// past segwit activation, so its last blocks carry witnesses.
func regtestChain(t *testing.T, blocks int) [][]byte {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Seed, cfg.Blocks, cfg.TxsPerBlock, cfg.PreActivationTxsPerBlock = 7, blocks, 3, 1
	if int(cfg.ActivationHeight()) >= blocks {
		t.Fatalf("%d blocks do not reach activation at %d", blocks, cfg.ActivationHeight())
	}
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	if err := g.Each(func(b *wire.MsgBlock) error {
		var buf bytes.Buffer
		if err := b.Serialize(&buf); err != nil {
			return err
		}
		raws = append(raws, buf.Bytes())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return raws
}

// testHost is a p2p host on loopback with its own body store.
type testHost struct {
	*p2p.Host
	store *p2p.BodyStore
}

func newTestHost(t *testing.T, listen string, retention int32, verify p2p.Verifier) *testHost {
	t.Helper()
	store, err := p2p.OpenBodyStore(t.TempDir(), retention)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(t.Context(), p2p.Config{ChainID: "liar-test", Identity: key, Listen: []string{listen},
		RequestTimeout: 3 * time.Second, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))},
		store, verify)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Close()
		_ = store.Close()
	})
	return &testHost{Host: h, store: store}
}

func refuse(chainhash.Hash, []byte) (int32, error) { return 0, p2p.ErrCannotVerify }

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func announcement(raw []byte, height int32) p2p.Announcement {
	return p2p.Announcement{Height: height, Hash: chainhash.DoubleHashH(raw[:80]), Header: [80]byte(raw[:80]), Size: uint32(len(raw))}
}

// TestLyingPeer is issue 11's "lying peer": a libp2p peer announces real
// blocks at false heights (2^31-1, and 0 for segwit blocks, whose witness
// data fails the check at a pre-activation height), withholds one, and
// serves mutated bodies of the others. The node fetches only hashes in its
// committed header tree, at the tree's heights; honest peers that serve
// the real bodies are never penalised; no body the node keeps is pruned by
// an announced height, and an entry stored at an absurd height is pruned
// by the committed tip; the liar is banned, by id and by address.
func TestLyingPeer(t *testing.T) {
	raws := regtestChain(t, 441) // heights 0..441; segwit from 432
	hashOf := func(i int) chainhash.Hash { return chainhash.DoubleHashH(raws[i][:80]) }
	const (
		tip       = 436
		retention = 50
		withheld  = 437 // announced at height 0, not served by the liar
		high      = 438 // announced at 2^31-1, served mutated
		segwit    = 439 // announced at 0, served mutated
		unknown   = 441 // not in the node's header tree
	)
	// The committed header tree knows 0..440.
	tree := map[chainhash.Hash]int32{}
	for i := 0; i <= 440; i++ {
		tree[hashOf(i)] = int32(i)
	}
	params, err := utxo.ParamsFor("regtest")
	if err != nil {
		t.Fatal(err)
	}
	lb := &liveBodies{params: params, log: slog.New(slog.DiscardHandler), files: &FileBodies{}, peerWait: 10 * time.Second,
		headers: func(h chainhash.Hash) (int32, bool, error) { height, ok := tree[h]; return height, ok, nil }}
	node := newTestHost(t, "/ip4/127.0.0.1/tcp/0", retention, lb.verify)
	lb.store, lb.host = node.store, node.Host
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); lb.bg.Wait() }()
	node.OnAnnounce(lb.onAnnounce(ctx))

	// The node holds the bodies it applied, 376..436, and one entry an
	// older build stored at the height a liar announced.
	for i := tip - 60; i <= tip; i++ {
		if err := node.store.Put(hashOf(i), int32(i), raws[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := node.store.Put(hashOf(300), 1<<31-1, raws[300]); err != nil {
		t.Fatal(err)
	}
	lb.setTip(tip)

	var honest []*testHost
	for range 2 {
		h := newTestHost(t, "/ip4/127.0.0.1/tcp/0", 0, refuse)
		for i := 0; i <= 441; i++ {
			if err := h.store.Put(hashOf(i), int32(i), raws[i]); err != nil {
				t.Fatal(err)
			}
		}
		honest = append(honest, h)
	}
	liar := newTestHost(t, "/ip4/127.0.0.1/tcp/0", 0, refuse)
	for _, i := range []int{high, segwit} {
		// A byte of the last transaction flipped: the merkle root or the
		// witness commitment no longer matches.
		forged := bytes.Clone(raws[i])
		forged[len(forged)-50] ^= 1
		if err := liar.store.Put(hashOf(i), int32(i), forged); err != nil {
			t.Fatal(err)
		}
	}
	if err := liar.store.Put(hashOf(unknown), unknown, raws[unknown]); err != nil {
		t.Fatal(err)
	}
	liarAddr := liar.Addrs()[0]
	for _, p := range append(honest, liar) {
		if err := node.Connect(t.Context(), p.Addrs()[0].String()); err != nil {
			t.Fatal(err)
		}
	}
	// Gossip needs the topic peers known before a publish reaches them.
	waitFor(t, "mesh", func() bool { return len(node.Peers()) == 3 })
	time.Sleep(1500 * time.Millisecond)

	step := func(i int, height int32, what string) {
		t.Helper()
		if err := liar.Announce(t.Context(), announcement(raws[i], height)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, what, func() bool { return node.store.Has(hashOf(i)) && lb.prefetching.Load() == 0 })
		if got, _, _ := node.store.Get(hashOf(i)); !bytes.Equal(got, raws[i]) {
			t.Fatalf("%s: the node kept a wrong body", what)
		}
	}
	// An unknown hash is ignored: not fetched, not stored.
	if err := liar.Announce(t.Context(), announcement(raws[unknown], unknown)); err != nil {
		t.Fatal(err)
	}
	step(withheld, 0, "the withheld segwit block, announced at 0")
	if p := node.Penalty(liar.ID()); p != 0 {
		t.Fatalf("not holding a body cost the liar %d", p)
	}
	step(high, 1<<31-1, "the block announced at 2^31-1")
	if p := node.Penalty(liar.ID()); p != p2p.OffenceWrongBody.Penalty() {
		t.Fatalf("liar's penalty %d after one wrong body", p)
	}
	step(segwit, 0, "the segwit block announced at 0")
	if !node.Banned(liar.ID()) {
		t.Fatalf("liar not banned (penalty %d)", node.Penalty(liar.ID()))
	}
	for i, h := range honest {
		if p := node.Penalty(h.ID()); p != 0 || node.Banned(h.ID()) {
			t.Fatalf("honest peer %d penalised: %d", i, p)
		}
	}
	if node.store.Has(hashOf(unknown)) {
		t.Fatal("the node fetched a hash not in its header tree")
	}

	// Pruning follows the committed tip: everything from tip-retention up
	// survives, including the bodies just fetched; below it goes, and so
	// does the entry at 2^31-1.
	lb.setTip(tip + 1)
	for i := tip + 1 - retention; i <= segwit; i++ {
		if !node.store.Has(hashOf(i)) {
			t.Fatalf("body %d (tip %d, retention %d) was pruned", i, tip+1, retention)
		}
	}
	for _, i := range []int{tip - 60, tip - retention, 300} {
		if node.store.Has(hashOf(i)) {
			t.Fatalf("body %d survived pruning", i)
		}
	}

	// The ban holds by address too: the liar's host, back with a fresh id
	// on the same port, is refused both ways; the honest peers on the same
	// loopback IP are not.
	if !node.AddrBanned(liarAddr) {
		t.Fatalf("the liar's address %s is not banned", liarAddr)
	}
	for _, h := range honest {
		if node.AddrBanned(h.Addrs()[0].Decapsulate(ma.StringCast("/p2p/" + h.ID().String()))) {
			t.Fatal("an honest peer's address is banned")
		}
	}
	waitFor(t, "liar disconnected", func() bool { return len(node.Peers()) == 2 })
	if err := liar.Close(); err != nil {
		t.Fatal(err)
	}
	reborn := newTestHost(t, liarAddr.Decapsulate(ma.StringCast("/p2p/"+liar.ID().String())).String(), 0, refuse)
	if err := node.Connect(t.Context(), reborn.Addrs()[0].String()); err == nil {
		t.Fatal("the node dialled a banned address")
	}
	_ = reborn.Connect(t.Context(), node.Addrs()[0].String()) // may seem to succeed before the node hangs up
	waitFor(t, "inbound from the banned address closed", func() bool { return len(reborn.Peers()) == 0 })
	for _, p := range node.Peers() {
		if p == reborn.ID() {
			t.Fatal("the reborn liar is connected")
		}
	}
}
