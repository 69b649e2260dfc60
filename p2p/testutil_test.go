package p2p

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/utxotest"
)

// testBlocks are the first mainnet blocks, heights 0..len-1, from the
// repository's fixture (utxotest.MainnetChain).
type testBlocks struct {
	raw    [][]byte
	hashes []chainhash.Hash
	height map[chainhash.Hash]int32
}

const numTestBlocks = 64

var (
	blocksOnce sync.Once
	blocks     *testBlocks
	blocksErr  error
)

func loadBlocks(t testing.TB) *testBlocks {
	t.Helper()
	blocksOnce.Do(func() { blocks, blocksErr = readBlk(numTestBlocks) })
	if blocksErr != nil {
		t.Fatal(blocksErr)
	}
	return blocks
}

func readBlk(n int) (*testBlocks, error) {
	chain, err := utxotest.MainnetChain()
	if err != nil {
		return nil, err
	}
	tb := &testBlocks{height: make(map[chainhash.Hash]int32)}
	for i, raw := range chain[:n] {
		hash := chainhash.DoubleHashH(raw[:80])
		tb.raw = append(tb.raw, raw)
		tb.hashes = append(tb.hashes, hash)
		tb.height[hash] = int32(i)
	}
	return tb, nil
}

// announcement builds the announcement of block i.
func (tb *testBlocks) announcement(i int) Announcement {
	a := Announcement{Height: int32(i), Hash: tb.hashes[i], Size: uint32(len(tb.raw[i]))}
	copy(a.Header[:], tb.raw[i][:80])
	return a
}

// verifier is the node's own check (app.CheckBody: the header hashes to
// hash, the body decodes, and its transactions match the header's merkle
// root and witness commitment). Heights come from the known blocks; an
// unknown hash cannot be judged.
func (tb *testBlocks) verifier(extra map[chainhash.Hash]int32) Verifier {
	params, err := utxo.ParamsFor("mainnet")
	if err != nil {
		panic(err) // a fixed name
	}
	return func(hash chainhash.Hash, raw []byte) (int32, error) {
		height, ok := tb.height[hash]
		if !ok {
			if height, ok = extra[hash]; !ok {
				return 0, fmt.Errorf("%w: unknown header %s", ErrCannotVerify, hash)
			}
		}
		_, err := app.CheckBody(params, hash, height, raw)
		return height, err
	}
}

// testNode is a Host with its own store.
type testNode struct {
	*Host
	store *BodyStore
	mesh  *meshTracer
}

type nodeOpt func(*Config)

// meshTracer records the peers gossipsub grafted into this node's mesh.
type meshTracer struct {
	mu   sync.Mutex
	mesh map[peer.ID]bool
}

func (m *meshTracer) Graft(p peer.ID, _ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mesh[p] = true
}

func (m *meshTracer) Prune(p peer.ID, _ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mesh, p)
}

func (m *meshTracer) has(p peer.ID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mesh[p]
}

func (*meshTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (*meshTracer) OnClosedOutboundStream(peer.ID)           {}
func (*meshTracer) Join(string)                              {}
func (*meshTracer) Leave(string)                             {}
func (*meshTracer) ValidateMessage(*pubsub.Message)          {}
func (*meshTracer) DeliverMessage(*pubsub.Message)           {}
func (*meshTracer) RejectMessage(*pubsub.Message, string)    {}
func (*meshTracer) DuplicateMessage(*pubsub.Message)         {}
func (*meshTracer) ThrottlePeer(peer.ID)                     {}
func (*meshTracer) RecvRPC(*pubsub.RPC)                      {}
func (*meshTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (*meshTracer) DropRPC(*pubsub.RPC, peer.ID)             {}
func (*meshTracer) UndeliverableMessage(*pubsub.Message)     {}

func newTestNode(t *testing.T, verify Verifier, opts ...nodeOpt) *testNode {
	t.Helper()
	store, err := OpenBodyStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		ChainID:        "test",
		Identity:       key,
		Listen:         []string{"/ip4/127.0.0.1/tcp/0"},
		RequestTimeout: 3 * time.Second,
		Logger:         testLogger(t),
	}
	mt := &meshTracer{mesh: make(map[peer.ID]bool)}
	cfg.pubsubOpts = []pubsub.Option{pubsub.WithRawTracer(mt)}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := New(t.Context(), cfg, store, verify)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		_ = store.Close()
	})
	return &testNode{Host: h, store: store, mesh: mt}
}

// connect links a to b and waits until each sees the other in the
// announcement topic, so that a publish reaches it.
func connect(t *testing.T, a, b *testNode) {
	t.Helper()
	if err := a.Connect(t.Context(), b.Addrs()[0].String()); err != nil { // a dials b
		t.Fatal(err)
	}
	eventually(t, "topic peers", func() bool {
		return hasPeer(a.topic.ListPeers(), b.ID()) && hasPeer(b.topic.ListPeers(), a.ID())
	})
}

// waitMesh waits until a and b have grafted each other into their meshes
// (at a gossipsub heartbeat, up to a second after connecting), so that a
// message one of them relays reaches the other.
func waitMesh(t *testing.T, a, b *testNode) {
	t.Helper()
	eventually(t, "mesh", func() bool { return a.mesh.has(b.ID()) && b.mesh.has(a.ID()) })
}

func hasPeer(ps []peer.ID, p peer.ID) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func connected(a *testNode, p peer.ID) bool {
	return a.h.Network().Connectedness(p) == network.Connected
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// never checks that cond stays false for d.
func never(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("unexpected: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// testLogger writes the host's logs to the test's output (shown with -v or
// on failure).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}
