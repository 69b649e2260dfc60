package p2p

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestScoreboardDecay: a score halves every half-life, at whole
// half-lives; a burst of offences bans, the same offences spread out do
// not; a decayed-away entry is forgotten.
func TestScoreboardDecay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newScoreboard(time.Hour, 10*time.Minute, func() time.Time { return now })
	p := peer.ID("p")
	s.add(p, 50, nil)
	for _, c := range []struct {
		after time.Duration
		want  int
	}{
		{9 * time.Minute, 50}, // not a whole half-life yet
		{time.Minute, 25},     // 10 min
		{19 * time.Minute, 12},
		{time.Minute, 6}, // 30 min: the 19 minutes above still counted
		{40 * time.Minute, 0},
	} {
		now = now.Add(c.after)
		if got := s.penalty(p); got != c.want {
			t.Fatalf("after +%s: penalty %d, want %d", c.after, got, c.want)
		}
	}
	if _, ok := s.peers[p]; ok {
		t.Fatal("a zero score is still held")
	}
	// Two wrong bodies a half-life apart: 25 + 50, no ban.
	s.add(p, 50, nil)
	now = now.Add(10 * time.Minute)
	if score, banned := s.add(p, 50, nil); banned || score != 75 {
		t.Fatalf("spread out: score %d, banned %v", score, banned)
	}
	// A third soon after: banned, and a banned score does not decay away.
	if _, banned := s.add(p, 50, nil); !banned {
		t.Fatal("burst not banned")
	}
	now = now.Add(59 * time.Minute)
	if !s.banned(p) || s.penalty(p) < BanScore {
		t.Fatal("ban or score decayed during the ban")
	}
	now = now.Add(time.Minute)
	if s.banned(p) || s.penalty(p) != 0 {
		t.Fatal("ban did not end")
	}
}

func mustAddr(t *testing.T, s string) ma.Multiaddr {
	t.Helper()
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeConnAddrs is the gater's view of an inbound connection.
type fakeConnAddrs struct{ local, remote ma.Multiaddr }

func (f fakeConnAddrs) LocalMultiaddr() ma.Multiaddr  { return f.local }
func (f fakeConnAddrs) RemoteMultiaddr() ma.Multiaddr { return f.remote }

// TestGaterAddrBans: a ban covers the offender's id and its address: the
// whole IP for IPv4, the /64 for IPv6, only IP and port on loopback (where
// the honest nodes of a localnet live too). A new id from a banned address
// is refused both ways; other addresses are not.
func TestGaterAddrBans(t *testing.T) {
	for _, c := range []struct{ addr, key string }{
		{"/ip4/203.0.113.7/tcp/26660", "203.0.113.7"},
		{"/ip4/203.0.113.7/tcp/40001", "203.0.113.7"},
		{"/ip6/2001:db8:1:2:3:4:5:6/tcp/26660", "2001:db8:1:2::/64"},
		{"/ip4/127.0.0.1/tcp/26660", "127.0.0.1:26660"},
		{"/ip4/127.0.0.5/tcp/1", "127.0.0.5:1"},
		{"/ip6/::1/tcp/9", "[::1]:9"},
		{"/dns4/example.com/tcp/1", ""},
	} {
		if got := addrKey(mustAddr(t, c.addr)); got != c.key {
			t.Errorf("addrKey(%s) = %q, want %q", c.addr, got, c.key)
		}
	}

	now := time.Unix(1_700_000_000, 0)
	s := newScoreboard(10*time.Minute, 10*time.Minute, func() time.Time { return now })
	g := gater{s}
	liarAddrs := []string{addrKey(mustAddr(t, "/ip4/203.0.113.7/tcp/26660")), addrKey(mustAddr(t, "/ip4/127.0.0.1/tcp/4001"))}
	if _, banned := s.add("liar", BanScore, liarAddrs); !banned {
		t.Fatal("not banned")
	}
	local := mustAddr(t, "/ip4/127.0.0.1/tcp/26660")
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"/ip4/203.0.113.7/tcp/5555", false}, // the liar's IP, any port
		{"/ip4/203.0.113.8/tcp/26660", true},
		{"/ip4/127.0.0.1/tcp/4001", false}, // the liar's loopback host
		{"/ip4/127.0.0.1/tcp/4002", true},  // an honest node beside it
	} {
		a := mustAddr(t, c.addr)
		if got := g.InterceptAddrDial("fresh-id", a); got != c.ok {
			t.Errorf("dial %s with a new id: allowed %v, want %v", c.addr, got, c.ok)
		}
		if got := g.InterceptAccept(fakeConnAddrs{local, a}); got != c.ok {
			t.Errorf("accept from %s: allowed %v, want %v", c.addr, got, c.ok)
		}
		if got := g.InterceptSecured(network.DirInbound, "fresh-id", fakeConnAddrs{local, a}); got != c.ok {
			t.Errorf("secured from %s: allowed %v, want %v", c.addr, got, c.ok)
		}
	}
	if g.InterceptPeerDial("liar") || g.InterceptAddrDial("liar", mustAddr(t, "/ip4/198.51.100.1/tcp/1")) {
		t.Fatal("the banned id may be dialled elsewhere")
	}
	now = now.Add(10 * time.Minute)
	if !g.InterceptAddrDial("fresh-id", mustAddr(t, "/ip4/203.0.113.7/tcp/5555")) || !g.InterceptPeerDial("liar") {
		t.Fatal("ban did not end")
	}
	// Bounded: a flood of banned addresses does not grow without end.
	for i := range 3 * maxBannedAddrs {
		s.add(peer.ID(rune(i)), BanScore, []string{string(rune(i)) + "-addr"})
	}
	if len(s.addrs) > maxBannedAddrs {
		t.Fatalf("%d address bans held", len(s.addrs))
	}
}

// TestFetchOneFlightPerHash: concurrent fetches of one hash make one
// request and all get the body; a caller that gives up does not fail the
// others; the flight is gone once everyone is done.
func TestFetchOneFlightPerHash(t *testing.T) {
	tb := loadBlocks(t)
	var verified atomic.Int32
	verify := func(hash chainhash.Hash, raw []byte) (int32, error) {
		verified.Add(1)
		return tb.verifier(nil)(hash, raw)
	}
	f := newTestNode(t, verify)
	var requests atomic.Int32
	release := make(chan struct{})
	srv := rawServer(t, func(w io.Writer, hash chainhash.Hash) {
		requests.Add(1)
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_ = writeResponse(w, tb.raw[tb.height[hash]], true)
	})
	connectRaw(t, f, srv)

	const callers = 8
	hash := tb.hashes[9]
	quitter, quit := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	errs := make([]error, callers)
	bodies := make([][]byte, callers)
	for i := range callers {
		ctx := withTimeout(t, 10*time.Second)
		if i == 0 {
			ctx = quitter
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i], errs[i] = f.Fetch(ctx, hash)
		}()
	}
	eventually(t, "the request", func() bool { return requests.Load() == 1 })
	quit() // the first caller gives up; the flight goes on for the others
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("the caller that gave up: %v", errs[0])
	}
	for i := 1; i < callers; i++ {
		if errs[i] != nil || !bytes.Equal(bodies[i], tb.raw[9]) {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
	}
	if requests.Load() != 1 || verified.Load() != 1 {
		t.Fatalf("%d requests, %d verifications for one hash", requests.Load(), verified.Load())
	}
	if n := f.flights.inFlight(); n != 0 {
		t.Fatalf("%d flights left", n)
	}
	if f.Penalty(srv.ID) != 0 {
		t.Fatal("the server was penalised")
	}
	// Shared results are copies: one caller's changes reach no other.
	bodies[1][0] ^= 0xff
	if bytes.Equal(bodies[1], bodies[2]) {
		t.Fatal("callers share one slice")
	}
}
