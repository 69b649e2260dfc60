package p2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// seed puts blocks from..to-1 in n's store.
func seed(t *testing.T, n *testNode, tb *testBlocks, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := n.store.Put(tb.hashes[i], int32(i), tb.raw[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFetch(t *testing.T) {
	tb := loadBlocks(t)
	a, b := newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil))
	seed(t, a, tb, 0, 10)
	connect(t, a, b)

	for _, i := range []int{0, 5, 9} {
		raw, err := b.Fetch(withTimeout(t, 10*time.Second), tb.hashes[i])
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if !bytes.Equal(raw, tb.raw[i]) {
			t.Fatalf("block %d: wrong bytes", i)
		}
		// Kept, at the verifier's height, so that b serves it too.
		if got, ok, _ := b.store.Get(tb.hashes[i]); !ok || !bytes.Equal(got, tb.raw[i]) {
			t.Fatalf("block %d not stored", i)
		}
	}
	if n, _ := b.store.Prune(1 << 20); n != 0 {
		t.Fatal("retention 0 store pruned")
	}

	// Served from the store once held: with a gone, b still answers.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if raw, err := b.Fetch(t.Context(), tb.hashes[5]); err != nil || !bytes.Equal(raw, tb.raw[5]) {
		t.Fatalf("from store: %v", err)
	}
	if a.Penalty(b.ID()) != 0 || b.Penalty(a.ID()) != 0 {
		t.Fatal("honest peers penalised")
	}
}

func TestFetchNotFound(t *testing.T) {
	tb := loadBlocks(t)
	a, b, c := newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil))
	seed(t, a, tb, 0, 5)

	// No peers at all.
	if _, err := c.Fetch(t.Context(), tb.hashes[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no peers: %v", err)
	}
	connect(t, a, c)
	connect(t, b, c)
	// A block nobody holds (known to the verifier), and a hash nobody knows.
	for _, h := range []chainhash.Hash{tb.hashes[20], {1, 2, 3}} {
		_, err := c.Fetch(withTimeout(t, 10*time.Second), h)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: err = %v, want ErrNotFound", h, err)
		}
		if !errors.Is(err, errNotHeld) {
			t.Errorf("%s: err = %v, want the peers' not-found answers", h, err)
		}
	}
	if c.Penalty(a.ID()) != 0 || c.Penalty(b.ID()) != 0 {
		t.Fatal("not-found penalised")
	}
	if c.store.Has(tb.hashes[20]) {
		t.Fatal("stored a body nobody sent")
	}
}

// TestFetchWrongBody: a node whose store holds a mismatching body (put
// there directly, as only a broken or hostile node would) is penalised
// for serving it, then banned and cut off; the fetch goes on to an honest
// peer and only the right body is kept.
func TestFetchWrongBody(t *testing.T) {
	tb := loadBlocks(t)
	verify := tb.verifier(nil)
	f, honest, liar := newTestNode(t, verify), newTestNode(t, verify), newTestNode(t, verify)
	seed(t, honest, tb, 0, 20)
	for _, i := range []int{3, 6} {
		if err := liar.store.Put(tb.hashes[i], int32(i), tb.raw[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	connect(t, f, honest)
	connect(t, f, liar)

	for round, i := range []int{3, 6} {
		// The liar announces the block, so f asks it first.
		if err := liar.Announce(t.Context(), tb.announcement(i)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "announcement", func() bool { return hasPeer(f.announcers.of(tb.hashes[i]), liar.ID()) })
		raw, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[i])
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if !bytes.Equal(raw, tb.raw[i]) {
			t.Fatalf("block %d: returned the wrong body", i)
		}
		if got, want := f.Penalty(liar.ID()), (round+1)*OffenceWrongBody.Penalty(); got != want {
			t.Fatalf("after round %d: penalty %d, want %d", round, got, want)
		}
	}
	if !f.Banned(liar.ID()) {
		t.Fatal("liar not banned at penalty 100")
	}
	if f.Banned(honest.ID()) || f.Penalty(honest.ID()) != 0 {
		t.Fatal("honest peer penalised")
	}
	eventually(t, "liar disconnected", func() bool { return !connected(f, liar.ID()) })
	if hasPeer(f.Peers(), liar.ID()) {
		t.Fatal("liar still among peers")
	}
	for _, i := range []int{3, 6} {
		if got, _, _ := f.store.Get(tb.hashes[i]); !bytes.Equal(got, tb.raw[i]) {
			t.Fatalf("block %d: store holds the wrong body", i)
		}
	}

	// The ban holds both ways: f does not dial the liar, and refuses it.
	if err := f.Connect(t.Context(), liar.Addrs()[0].String()); !errors.Is(err, ErrPeerBanned) {
		t.Fatalf("Connect to banned peer: %v", err)
	}
	_ = liar.Connect(t.Context(), f.Addrs()[0].String()) // may seem to succeed before f hangs up
	eventually(t, "inbound from banned peer closed", func() bool {
		return !connected(f, liar.ID()) && !connected(liar, f.ID())
	})
	never(t, "banned peer reconnected", 300*time.Millisecond, func() bool { return connected(f, liar.ID()) })
}

// TestFetchOnlyLiar: with only a lying peer, Fetch fails with ErrNotFound,
// says why, and stores nothing.
func TestFetchOnlyLiar(t *testing.T) {
	tb := loadBlocks(t)
	f, liar := newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil))
	_ = liar.store.Put(tb.hashes[3], 3, tb.raw[4])
	connect(t, f, liar)
	_, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[3])
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Peer != liar.ID() || pe.Offence != OffenceWrongBody {
		t.Fatalf("err = %v, want a PeerError naming the liar", err)
	}
	if f.store.Has(tb.hashes[3]) {
		t.Fatal("wrong body stored")
	}
}

// rawServer is a libp2p host that answers the body protocol with whatever
// respond writes, as a peer that does not run this package could.
func rawServer(t *testing.T, respond func(w io.Writer, hash chainhash.Hash)) peer.AddrInfo {
	t.Helper()
	rh := rawHost(t)
	rh.SetStreamHandler(BodyProtocol("test"), func(s network.Stream) {
		defer s.Close()
		var hash chainhash.Hash
		if _, err := io.ReadFull(s, hash[:]); err != nil {
			_ = s.Reset()
			return
		}
		respond(s, hash)
	})
	return peer.AddrInfo{ID: rh.ID(), Addrs: rh.Addrs()}
}

func connectRaw(t *testing.T, n *testNode, ai peer.AddrInfo) {
	t.Helper()
	addrs, _ := peer.AddrInfoToP2pAddrs(&ai)
	if err := n.Connect(t.Context(), addrs[0].String()); err != nil {
		t.Fatal(err)
	}
}

// TestFetchHostileRawPeer: a peer that claims a 1 TiB body, then one that
// sends well-framed garbage, is penalised each time until banned.
func TestFetchHostileRawPeer(t *testing.T) {
	tb := loadBlocks(t)
	f := newTestNode(t, tb.verifier(nil))
	var mode atomic.Int32
	srv := rawServer(t, func(w io.Writer, hash chainhash.Hash) {
		switch mode.Load() {
		case 0: // a huge length prefix, then a trickle
			_, _ = w.Write(append([]byte{statusFound}, binary.AppendUvarint(nil, 1<<40)...))
			_, _ = w.Write(make([]byte, 1000))
		case 1: // a well-formed answer with another block's bytes
			_ = writeResponse(w, tb.raw[1], true)
		default: // the right header, a transaction changed: the merkle root catches it
			i := tb.height[hash]
			forged := bytes.Clone(tb.raw[i])
			forged[len(forged)-5] ^= 1 // in the coinbase output script
			_ = writeResponse(w, forged, true)
		}
	})
	connectRaw(t, f, srv)

	_, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[2])
	var pe *PeerError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &pe) || pe.Offence != OffenceProtocol {
		t.Fatalf("oversized prefix: err = %v", err)
	}
	if got := f.Penalty(srv.ID); got != OffenceProtocol.Penalty() {
		t.Fatalf("penalty %d after a protocol violation", got)
	}

	for i, want := range []int{70, 120} {
		mode.Store(int32(1 + i))
		_, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[2+i])
		if !errors.As(err, &pe) || pe.Offence != OffenceWrongBody {
			t.Fatalf("wrong body (mode %d): err = %v", 1+i, err)
		}
		if i == 1 && !strings.Contains(err.Error(), "merkle") {
			t.Fatalf("forged transaction not caught by the merkle check: %v", err)
		}
		if got := f.Penalty(srv.ID); got != want {
			t.Fatalf("penalty %d, want %d", got, want)
		}
	}
	if !f.Banned(srv.ID) {
		t.Fatal("not banned at 120")
	}
	eventually(t, "disconnect", func() bool { return !connected(f, srv.ID) })
	// Once banned it is not asked again.
	if _, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[5]); !errors.Is(err, ErrNotFound) || errors.As(err, &pe) {
		t.Fatalf("after ban: %v", err)
	}
	for i := 2; i <= 5; i++ {
		if f.store.Has(tb.hashes[i]) {
			t.Fatalf("block %d stored", i)
		}
	}
}

// TestFetchTimeout: a peer that never answers costs one RequestTimeout
// and no penalty.
func TestFetchTimeout(t *testing.T) {
	tb := loadBlocks(t)
	f := newTestNode(t, tb.verifier(nil), func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := rawServer(t, func(io.Writer, chainhash.Hash) { <-release })
	connectRaw(t, f, srv)
	start := time.Now()
	_, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[2])
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v with a 300 ms timeout", d)
	}
	if f.Penalty(srv.ID) != 0 {
		t.Fatal("a timeout was penalised")
	}
}

// TestFetchLargeBody moves a real 284 kB block (height 300025), and shows
// that a cap below a body's size makes it a protocol violation.
func TestFetchLargeBody(t *testing.T) {
	tb := loadBlocks(t)
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "mainnet", "block-300025.raw"))
	if err != nil {
		t.Fatal(err)
	}
	hash := chainhash.DoubleHashH(raw[:80])
	verify := tb.verifier(map[chainhash.Hash]int32{hash: 300025})
	a, b := newTestNode(t, verify), newTestNode(t, verify)
	small := newTestNode(t, verify, func(c *Config) { c.MaxBodyBytes = 100_000 })
	if err := a.store.Put(hash, 300025, raw); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	connect(t, a, small)

	got, err := b.Fetch(withTimeout(t, 10*time.Second), hash)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("fetch: %v", err)
	}
	_, err = small.Fetch(withTimeout(t, 10*time.Second), hash)
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Offence != OffenceProtocol {
		t.Fatalf("over the cap: %v", err)
	}
}

// TestFetchCannotVerify: a verifier that cannot judge ends the fetch
// without blaming the peer.
func TestFetchCannotVerify(t *testing.T) {
	tb := loadBlocks(t)
	a := newTestNode(t, tb.verifier(nil))
	f := newTestNode(t, func(chainhash.Hash, []byte) (int32, error) {
		return 0, ErrCannotVerify
	})
	seed(t, a, tb, 0, 3)
	connect(t, a, f)
	if _, err := f.Fetch(withTimeout(t, 10*time.Second), tb.hashes[1]); !errors.Is(err, ErrCannotVerify) {
		t.Fatalf("err = %v", err)
	}
	if f.Penalty(a.ID()) != 0 || f.store.Has(tb.hashes[1]) {
		t.Fatal("penalised or stored")
	}
}

func TestCandidatesAnnouncersFirst(t *testing.T) {
	tb := loadBlocks(t)
	f, a, b, c := newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil)), newTestNode(t, tb.verifier(nil))
	connect(t, f, a)
	connect(t, f, b)
	connect(t, f, c)
	f.announcers.record(tb.hashes[7], c.ID())
	f.announcers.record(tb.hashes[7], f.ID()) // ourselves: never asked
	for range 10 {
		got := f.candidates(tb.hashes[7])
		if len(got) != 3 || got[0] != c.ID() {
			t.Fatalf("candidates %v, want %s first and 3 in all", got, c.ID())
		}
	}
}

func TestAnnouncersBounded(t *testing.T) {
	an := newAnnouncers(4, 2)
	ids := []peer.ID{"a", "b", "c"}
	for i := range 6 {
		for _, p := range ids {
			an.record(chainhash.Hash{byte(i)}, p)
		}
	}
	if len(an.byHash) != 4 {
		t.Fatalf("%d hashes held, want 4", len(an.byHash))
	}
	if got := an.of(chainhash.Hash{0}); len(got) != 0 {
		t.Fatalf("oldest hash not evicted: %v", got)
	}
	if got := an.of(chainhash.Hash{5}); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("announcers of newest: %v", got)
	}
}

func TestScoreboardBanExpires(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newScoreboard(10*time.Minute, 0, func() time.Time { return now })
	p := peer.ID("p")
	if _, banned := s.add(p, 50, nil); banned || s.banned(p) {
		t.Fatal("banned at 50")
	}
	if score, banned := s.add(p, 50, nil); !banned || score != 100 || !s.banned(p) {
		t.Fatal("not banned at 100")
	}
	if _, again := s.add(p, 20, nil); again {
		t.Fatal("banned twice")
	}
	if !(gater{s}).InterceptPeerDial(p) == false {
		t.Fatal("gater lets a banned peer be dialled")
	}
	now = now.Add(10*time.Minute - time.Second)
	if !s.banned(p) {
		t.Fatal("ban ended early")
	}
	now = now.Add(time.Second)
	if s.banned(p) || s.penalty(p) != 0 || !(gater{s}).InterceptPeerDial(p) {
		t.Fatal("ban did not end, or score not reset")
	}
	// Bounded: many one-off offenders do not grow the board without end,
	// and banned peers are kept.
	s.add("banned", 100, nil)
	for i := range 3 * maxScored {
		s.add(peer.ID(binary.BigEndian.AppendUint32(nil, uint32(i))), 1, nil)
	}
	if len(s.peers) > maxScored || !s.banned("banned") {
		t.Fatalf("%d entries, banned kept: %v", len(s.peers), s.banned("banned"))
	}
}

// TestCloseDuringFetch: Close aborts a fetch waiting on a silent peer.
func TestCloseDuringFetch(t *testing.T) {
	tb := loadBlocks(t)
	f := newTestNode(t, tb.verifier(nil), func(c *Config) { c.RequestTimeout = time.Minute })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := rawServer(t, func(io.Writer, chainhash.Hash) { <-release })
	connectRaw(t, f, srv)
	done := make(chan error, 1)
	go func() {
		_, err := f.Fetch(t.Context(), tb.hashes[2])
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Fetch still running after Close")
	}
}

// TestNoListenFetches: a host without listen addresses dials out, fetches,
// and hears announcements.
func TestNoListenFetches(t *testing.T) {
	tb := loadBlocks(t)
	a := newTestNode(t, tb.verifier(nil))
	c := newTestNode(t, tb.verifier(nil), func(c *Config) { c.Listen = nil })
	if len(c.Addrs()) != 0 {
		t.Fatalf("addrs %v", c.Addrs())
	}
	seed(t, a, tb, 0, 3)
	got := new(received).on(c)
	connect(t, c, a)
	if raw, err := c.Fetch(withTimeout(t, 10*time.Second), tb.hashes[2]); err != nil || !bytes.Equal(raw, tb.raw[2]) {
		t.Fatalf("fetch: %v", err)
	}
	if err := a.Announce(t.Context(), tb.announcement(2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "announcement", func() bool { return got.len() == 1 })
}
