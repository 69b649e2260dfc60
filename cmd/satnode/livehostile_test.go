package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/node/keyring"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo/chaingen"
)

// hostilePeer is what the hostile phase leaves running: a libp2p peer that
// announced two real blocks before any header of theirs was on chain and
// serves mismatching bodies for them.
type hostilePeer struct {
	host   *p2p.Host
	boot   []string
	blocks []*wire.MsgBlock
}

// hostile is a synchronizer turned hostile (node1's synchronizer key): it
// submits a header with bad proof of work, and announces two real new
// blocks over libp2p but serves mismatching bodies for them. It checks
// that the header is refused with BadPoW, and that announcements of hashes
// no node has in its committed header tree are ignored: nobody fetches,
// nobody's state moves, and the liar is not even penalised yet. It returns
// the peer and the two blocks (not yet given to any btcd): once their
// headers are on chain, the nodes that need the bodies ask the announcer
// first, get the wrong bodies, and ban it (hostileBanned).
func (ln *liveNet) hostile(ctx context.Context, g *chaingen.Generator) *hostilePeer {
	t := ln.t
	t.Helper()
	before := make([]tip, len(ln.clients))
	for i := range ln.clients {
		before[i], _ = ln.tip(ctx, i)
	}
	key, err := keyring.Open(filepath.Join(ln.homes[1], node.KeysDir)).Get(node.KeySynchronizer)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*wire.MsgBlock
	for range 2 {
		b, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	// A header whose hash is above its target.
	bad := blocks[0].Header
	target := blockchain.CompactToBig(bad.Bits)
	for {
		h := bad.BlockHash()
		if blockchain.HashToBig(&h).Cmp(target) > 0 {
			break
		}
		bad.Nonce++
	}
	var w bytes.Buffer
	if err := bad.Serialize(&w); err != nil {
		t.Fatal(err)
	}
	hb := [tx.HeaderSize]byte(w.Bytes())
	_, err = ln.clients[2].Send(ctx, key.Private, tx.SubmitHeaders{Headers: [][tx.HeaderSize]byte{hb}}, 0)
	var te *client.TxError
	if !errors.As(err, &te) || te.Code != tx.CodeBadPoW {
		t.Fatalf("bad-PoW header: got %v, want code BadPoW", err)
	}

	// Mismatching bodies over libp2p, announced at made-up heights.
	store, err := p2p.OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	id, err := p2p.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "hostile_key"))
	if err != nil {
		t.Fatal(err)
	}
	hp := &hostilePeer{blocks: blocks}
	for _, home := range ln.homes[:4] {
		hp.boot = append(hp.boot, p2pAddr(t, home))
	}
	hp.host, err = p2p.New(ctx, p2p.Config{ChainID: "satnode-live-test", Identity: id, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: hp.boot}, store, func(chainhash.Hash, []byte) (int32, error) { return 0, errors.New("hostile: takes nothing") })
	if err != nil {
		t.Fatal(err)
	}
	ln.waitFor(30*time.Second, "hostile peer connected to all", func() bool { return len(hp.host.Peers()) >= 4 })
	time.Sleep(2 * time.Second) // let the gossip meshes form
	for i, b := range blocks {
		wrong := wire.NewMsgBlock(&b.Header)
		for _, x := range b.Transactions {
			_ = wrong.AddTransaction(x.Copy())
		}
		wrong.Transactions[0].TxOut[0].Value-- // the merkle root no longer matches
		raw := serialize(t, wrong)
		h := b.BlockHash()
		lie := []int32{0, 1<<31 - 1}[i]
		if err := store.Put(h, 1, raw); err != nil {
			t.Fatal(err)
		}
		var hdr [80]byte
		copy(hdr[:], raw[:80])
		if err := hp.host.Announce(ctx, p2p.Announcement{Height: lie, Hash: h, Header: hdr, Size: uint32(len(raw))}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // what a node would do with the announcements, it has done
	if got := len(hp.host.Peers()); got < 4 {
		t.Fatalf("announcing blocks no node has a header of cost the liar %d of 4 connections", 4-got)
	}
	for i := range ln.clients {
		after, _ := ln.tip(ctx, i)
		if after != before[i] {
			t.Fatalf("node%d's state moved: %+v -> %+v", i, before[i], after)
		}
		if _, err := ln.clients[i].Query(ctx, "/btc-header/"+bad.BlockHash().String()); err == nil {
			t.Fatalf("node%d knows the bad-PoW header", i)
		}
	}
	t.Logf("hostile synchronizer: bad-PoW header refused (%v); announcements of unknown blocks ignored", te.Code)
	return hp
}

// hostileBanned checks, once the hostile peer's blocks are applied from
// honest sources, that the nodes which fetched their bodies from peers
// asked it first (it announced first), found the bodies wrong, banned it,
// and refuse it again.
func (ln *liveNet) hostileBanned(ctx context.Context, hp *hostilePeer) {
	t := ln.t
	t.Helper()
	ln.waitFor(30*time.Second, "an honest node banning the hostile peer", func() bool { return len(hp.host.Peers()) < 4 })
	connected := map[string]bool{}
	for _, p := range hp.host.Peers() {
		connected[p.String()] = true
	}
	banned := 0
	for _, a := range hp.boot {
		if connected[a[strings.LastIndex(a, "/")+1:]] {
			continue // still connected: that node had the bodies itself
		}
		banned++
		if err := hp.host.Connect(ctx, a); err == nil {
			// A banned peer's connections are refused once secured;
			// give the gater a moment, then look again.
			time.Sleep(time.Second)
			for _, p := range hp.host.Peers() {
				if strings.HasSuffix(a, p.String()) {
					t.Fatalf("an honest node accepted the banned peer again (%s)", a)
				}
			}
		}
	}
	t.Logf("hostile peer: banned by %d of 4 nodes for mismatching bodies", banned)
}
