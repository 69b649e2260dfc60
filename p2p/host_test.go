package p2p

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// received collects announcements delivered to a node.
type received struct {
	mu  sync.Mutex
	got []struct {
		from peer.ID
		a    Announcement
	}
}

func (r *received) on(n *testNode) *received {
	n.OnAnnounce(func(from peer.ID, a Announcement) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, struct {
			from peer.ID
			a    Announcement
		}{from, a})
	})
	return r
}

func (r *received) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestAnnounceReachesPeers(t *testing.T) {
	tb := loadBlocks(t)
	verify := tb.verifier(nil)
	a, b, c := newTestNode(t, verify), newTestNode(t, verify), newTestNode(t, verify)
	// A line, A - B - C: C hears A only through B's relaying.
	connect(t, a, b)
	connect(t, b, c)
	waitMesh(t, b, c)
	ra, rb, rc := new(received).on(a), new(received).on(b), new(received).on(c)

	for i := 1; i <= 3; i++ {
		if err := a.Announce(t.Context(), tb.announcement(i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "announcements at B and C", func() bool { return rb.len() == 3 && rc.len() == 3 })
	for _, r := range []*received{rb, rc} {
		r.mu.Lock()
		seen := map[int32]bool{}
		for _, g := range r.got {
			if g.from != a.ID() {
				t.Errorf("from %s, want the author %s", g.from, a.ID())
			}
			if want := tb.announcement(int(g.a.Height)); g.a != want {
				t.Errorf("got %+v, want %+v", g.a, want)
			}
			seen[g.a.Height] = true
		}
		r.mu.Unlock()
		if len(seen) != 3 {
			t.Errorf("heights %v", seen)
		}
	}
	// The author recorded as holder of the body at B and C.
	if got := c.announcers.of(tb.hashes[2]); len(got) != 1 || got[0] != a.ID() {
		t.Errorf("C's announcers of block 2: %v", got)
	}
	never(t, "A received its own announcement", 200*time.Millisecond, func() bool { return ra.len() > 0 })

	// Announce refuses what it could not encode or a hash that is not the header's.
	bad := tb.announcement(4)
	bad.Hash = tb.hashes[5]
	if err := a.Announce(t.Context(), bad); !errors.Is(err, ErrBadAnnouncement) {
		t.Errorf("wrong hash: %v", err)
	}
	bad = tb.announcement(4)
	bad.Size = 10
	if err := a.Announce(t.Context(), bad); !errors.Is(err, ErrBadAnnouncement) {
		t.Errorf("size 10: %v", err)
	}
}

// rawHost is a plain libp2p host, for playing a peer that does not run
// this package's code.
func rawHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestMalformedAnnouncementRejected(t *testing.T) {
	tb := loadBlocks(t)
	n := newTestNode(t, tb.verifier(nil))
	got := new(received).on(n)

	// A gossipsub peer with no validator publishes whatever it likes.
	rh := rawHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ps, err := pubsub.NewGossipSub(ctx, rh)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(TopicName("test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rh.Connect(t.Context(), peer.AddrInfo{ID: n.ID(), Addrs: n.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "topic peers", func() bool { return hasPeer(topic.ListPeers(), n.ID()) })

	good, _ := tb.announcement(5).MarshalBinary()
	wrongVersion := append([]byte{9}, good[1:]...)
	for _, b := range [][]byte{[]byte("hello"), wrongVersion, good[:50]} {
		if err := topic.Publish(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := topic.Publish(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the valid announcement", func() bool { return got.len() == 1 })
	if n := n.rejected.Load(); n != 3 {
		t.Errorf("rejected %d announcements, want 3", n)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.got[0].a != tb.announcement(5) || got.got[0].from != rh.ID() {
		t.Errorf("delivered %+v from %s", got.got[0].a, got.got[0].from)
	}
}

func TestBootstrapReconnects(t *testing.T) {
	tb := loadBlocks(t)
	a := newTestNode(t, tb.verifier(nil))
	// A second bootstrap peer is down (nothing listens on port 1): it is
	// retried with backoff and does not hold up the first.
	other, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	otherID, _ := peer.IDFromPrivateKey(other)
	b := newTestNode(t, tb.verifier(nil), func(c *Config) {
		c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1/p2p/" + otherID.String(), a.Addrs()[0].String()}
	})
	eventually(t, "bootstrap connection", func() bool { return connected(b, a.ID()) })
	if err := b.h.Network().ClosePeer(a.ID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reconnection", func() bool { return connected(b, a.ID()) })
}

func TestConfigValidation(t *testing.T) {
	tb := loadBlocks(t)
	store, err := OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
	good := Config{ChainID: "c", Identity: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}}
	for name, mod := range map[string]func(*Config){
		"no chain id":       func(c *Config) { c.ChainID = "" },
		"slash in chain id": func(c *Config) { c.ChainID = "a/b" },
		"no identity":       func(c *Config) { c.Identity = nil },
		"bad listen":        func(c *Config) { c.Listen = []string{"127.0.0.1:26660"} },
		"bootstrap no id":   func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/26660"} },
		"negative cap":      func(c *Config) { c.MaxBodyBytes = -1 },
		"negative timeout":  func(c *Config) { c.RequestTimeout = -time.Second },
		"negative ban":      func(c *Config) { c.BanDuration = -time.Second },
	} {
		cfg := good
		mod(&cfg)
		if _, err := New(t.Context(), cfg, store, tb.verifier(nil)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := New(t.Context(), good, nil, tb.verifier(nil)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no store: %v", err)
	}
}

// TestCloseStopsGoroutines: after Close, the goroutine count returns to
// what it was before the hosts started. libp2p starts a few process-wide
// goroutines on first use, so a first round warms them up.
func TestCloseStopsGoroutines(t *testing.T) {
	tb := loadBlocks(t)
	round := func() {
		var nodes []*Host
		var stores []*BodyStore
		for range 3 {
			store, err := OpenBodyStore(t.TempDir(), 0)
			if err != nil {
				t.Fatal(err)
			}
			key, _, _ := crypto.GenerateEd25519Key(rand.Reader)
			h, err := New(t.Context(), Config{ChainID: "test", Identity: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}}, store, tb.verifier(nil))
			if err != nil {
				t.Fatal(err)
			}
			nodes, stores = append(nodes, h), append(stores, store)
		}
		_ = stores[0].Put(tb.hashes[3], 3, tb.raw[3])
		for _, h := range nodes[1:] {
			if err := h.Connect(t.Context(), nodes[0].Addrs()[0].String()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := nodes[1].Fetch(t.Context(), tb.hashes[3]); err != nil {
			t.Fatal(err)
		}
		_ = nodes[0].Announce(t.Context(), tb.announcement(3))
		for i, h := range nodes {
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if err := h.Close(); err != nil { // idempotent
				t.Fatal(err)
			}
			_ = stores[i].Close()
		}
		if _, err := nodes[1].Fetch(t.Context(), chainhash.Hash{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Fetch after Close: %v", err)
		}
	}
	settle := func() int {
		// Goroutines of closed connections take a moment to notice.
		last, stable := runtime.NumGoroutine(), 0
		for range 100 {
			time.Sleep(20 * time.Millisecond)
			n := runtime.NumGoroutine()
			if n == last {
				if stable++; stable == 5 {
					break
				}
			} else {
				last, stable = n, 0
			}
		}
		return last
	}
	round()
	base := settle()
	round()
	round()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := settle()
		if n <= base+2 {
			t.Logf("%d goroutines after Close, %d before", n, base)
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
	}
}
