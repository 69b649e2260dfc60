package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
)

// fakeBitcoin is a Bitcoin node whose best chain the test sets.
type fakeBitcoin struct {
	mu     sync.Mutex
	best   []chainhash.Hash // best[h] at height h
	blocks map[chainhash.Hash][]byte
	down   bool
}

var errDown = errors.New("connection refused")

func (f *fakeBitcoin) setChain(blocks []*wire.MsgBlock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blocks == nil {
		f.blocks = map[chainhash.Hash][]byte{}
	}
	f.best = f.best[:0]
	for _, b := range blocks {
		var buf bytes.Buffer
		_ = b.Serialize(&buf)
		h := b.BlockHash()
		f.blocks[h] = buf.Bytes()
		f.best = append(f.best, h)
	}
}

func (f *fakeBitcoin) BestBlockHash(context.Context) (chainhash.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return chainhash.Hash{}, errDown
	}
	return f.best[len(f.best)-1], nil
}

func (f *fakeBitcoin) BlockHash(_ context.Context, h int32) (chainhash.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return chainhash.Hash{}, errDown
	}
	if h < 0 || int(h) >= len(f.best) {
		return chainhash.Hash{}, errors.New("block number out of range")
	}
	return f.best[h], nil
}

func (f *fakeBitcoin) Block(_ context.Context, hash chainhash.Hash) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	raw, ok := f.blocks[hash]
	if !ok {
		return nil, errors.New("block not found")
	}
	return raw, nil
}

// fakeChain is the sidechain: a header set with heights, endorsement
// records, and a mempool that commit applies.
type fakeChain struct {
	known    map[chainhash.Hash]int32
	best     chainhash.Hash
	bestH    int32
	nonces   map[tx.Address]uint64
	mempool  []pendingTx
	sent     []tx.Msg // everything broadcast
	recs     []record
	operator string
	endorser string
	syncs    []string
}

func newFakeChain(genesis chainhash.Hash) *fakeChain {
	return &fakeChain{known: map[chainhash.Hash]int32{genesis: 0}, best: genesis, nonces: map[tx.Address]uint64{}}
}

func (c *fakeChain) Query(_ context.Context, path string) (json.RawMessage, error) {
	var v any
	switch {
	case path == "/btc-tip":
		v = btcTip{BaseHeight: 0, BaseHash: chainhashOf(c, 0).String(), BestHeaderHeight: c.bestH, BestHeaderHash: c.best.String()}
	case strings.HasPrefix(path, "/btc-header/"):
		h, _ := chainhash.NewHashFromStr(strings.TrimPrefix(path, "/btc-header/"))
		if _, ok := c.known[*h]; !ok {
			return nil, &client.QueryError{Path: path, Code: tx.CodeUnknownBlock}
		}
		v = map[string]any{}
	case strings.HasPrefix(path, "/endorsements"):
		v = c.recs // one page: fewer records than a page holds
	case path == "/validators":
		v = []validator{{Operator: c.operator, Endorser: c.endorser, Power: 1}}
	case path == "/synchronizers":
		var out []map[string]string
		for _, a := range c.syncs {
			out = append(out, map[string]string{"address": a})
		}
		v = out
	default:
		return nil, fmt.Errorf("unknown path %s", path)
	}
	return json.Marshal(v)
}

func chainhashOf(c *fakeChain, height int32) chainhash.Hash {
	for h, ht := range c.known {
		if ht == height {
			return h
		}
	}
	return chainhash.Hash{}
}

func (c *fakeChain) Account(_ context.Context, a tx.Address) (*client.Account, error) {
	return &client.Account{Address: a.String(), Nonce: c.nonces[a]}, nil
}

func (c *fakeChain) Broadcast(_ context.Context, _ string, priv *btcec.PrivateKey, msg tx.Msg, nonce uint64) (string, error) {
	a := tx.AddressOf(priv.PubKey())
	if nonce <= c.nonces[a] {
		return "", &client.TxError{Stage: "CheckTx", Code: tx.CodeBadNonce}
	}
	c.mempool = append(c.mempool, pendingTx{msg, nonce, a})
	c.sent = append(c.sent, msg)
	return "HASH", nil
}

type pendingTx struct {
	msg    tx.Msg
	nonce  uint64
	signer tx.Address
}

// commit applies the mempool like FinalizeBlock: a transaction whose
// nonce is not the next one is refused without using it; headers whose
// parent is known join the set.
func (c *fakeChain) commit() {
	for _, p := range c.mempool {
		if p.nonce != c.nonces[p.signer]+1 {
			continue
		}
		c.nonces[p.signer]++
		sh, ok := p.msg.(tx.SubmitHeaders)
		if !ok {
			continue
		}
		for _, raw := range sh.Headers {
			var h wire.BlockHeader
			_ = h.Deserialize(bytes.NewReader(raw[:]))
			ph, ok := c.known[h.PrevBlock]
			if !ok {
				break
			}
			c.known[h.BlockHash()] = ph + 1
			if ph+1 > c.bestH {
				c.best, c.bestH = h.BlockHash(), ph+1
			}
		}
	}
	c.mempool = nil
}

type sink struct{ kept, announced int }

func (s *sink) Keep(chainhash.Hash, int32, []byte) error { s.kept++; return nil }
func (s *sink) Announce(context.Context, chainhash.Hash, int32, []byte) error {
	s.announced++
	return nil
}

// testChain returns a generated regtest chain (genesis first) and a fork
// of it whose blocks from forkAt on differ.
func testChain(t *testing.T, n, forkAt, forkLen int) (main, fork []*wire.MsgBlock) {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = n + forkLen
	cfg.TxsPerBlock = 2
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var f *chaingen.Generator
	for h := 0; h <= n; h++ {
		if h == forkAt {
			f = g.Fork(9)
		}
		b, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		main = append(main, b)
	}
	fork = append(fork, main[:forkAt]...)
	for range forkLen {
		b, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		fork = append(fork, b)
	}
	return main, fork
}

// batches returns the number of headers of each SubmitHeaders in msgs.
func batches(msgs []tx.Msg) []int {
	var out []int
	for _, m := range msgs {
		if sh, ok := m.(tx.SubmitHeaders); ok {
			out = append(out, len(sh.Headers))
		}
	}
	return out
}

func newSync(t *testing.T, btc Bitcoin, c *fakeChain, key *btcec.PrivateKey, s *sink) *Synchronizer {
	t.Helper()
	if a := tx.AddressOf(key.PubKey()).String(); !slices.Contains(c.syncs, a) {
		c.syncs = append(c.syncs, a)
	}
	p, err := utxo.ParamsFor("regtest")
	if err != nil {
		t.Fatal(err)
	}
	sy, err := NewSynchronizer(SyncConfig{Bitcoin: btc, Chain: c, ChainID: "t", Key: key, Params: p, Bodies: s, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	return sy
}

// TestSynchronizer: a catch-up goes in batches (at most maxInFlight at
// once), in order, each body kept and announced; nothing is submitted
// twice, also by a restarted synchronizer; after the Bitcoin node
// reorganizes, exactly the competing branch is submitted.
func TestSynchronizer(t *testing.T) {
	ctx := context.Background()
	mainChain, fork := testChain(t, 55, 50, 8)
	btc := &fakeBitcoin{}
	btc.setChain(mainChain)
	chain := newFakeChain(mainChain[0].BlockHash())
	key, _ := btcec.NewPrivateKey()
	s := &sink{}
	sy := newSync(t, btc, chain, key, s)

	if err := sy.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if got := batches(chain.sent); fmt.Sprint(got) != "[10 10 10 10]" {
		t.Fatalf("first step sent %d batches", len(got))
	}
	// Before a commit, the next step must not send the same headers again.
	if err := sy.Step(ctx); err != nil && !errors.Is(err, errBusy) {
		t.Fatal(err)
	}
	if len(chain.sent) != maxInFlight {
		t.Fatalf("%d transactions before any commit", len(chain.sent))
	}
	chain.commit()
	if err := sy.Step(ctx); err != nil {
		t.Fatal(err)
	}
	chain.commit()
	if chain.bestH != 55 || chain.best != mainChain[55].BlockHash() {
		t.Fatalf("chain at %d after catch-up", chain.bestH)
	}
	if s.kept != 55 || s.announced != 55 {
		t.Fatalf("kept %d, announced %d bodies", s.kept, s.announced)
	}
	sent := len(chain.sent)
	for _, y := range []*Synchronizer{sy, newSync(t, btc, chain, key, s)} { // and after a restart
		if err := y.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(chain.sent) != sent {
		t.Fatal("headers the chain knows were submitted again")
	}

	// The Bitcoin node reorganizes onto the fork (50..57).
	btc.setChain(fork)
	if err := sy.Step(ctx); err != nil {
		t.Fatal(err)
	}
	last := chain.sent[len(chain.sent)-1].(tx.SubmitHeaders)
	if len(chain.sent) != sent+1 || len(last.Headers) != 8 {
		t.Fatalf("reorg: %d transactions, last with %d headers; want one with the 8 competing headers", len(chain.sent)-sent, len(last.Headers))
	}
	var first wire.BlockHeader
	_ = first.Deserialize(bytes.NewReader(last.Headers[0][:]))
	if first.BlockHash() != fork[50].BlockHash() || first.PrevBlock != mainChain[49].BlockHash() {
		t.Fatal("the competing branch does not start at the fork point")
	}
	chain.commit()
	if chain.best != fork[len(fork)-1].BlockHash() {
		t.Fatal("the chain did not get the competing branch")
	}

	// A key that is not registered: a clear error, nothing sent.
	stranger, _ := btcec.NewPrivateKey()
	p, _ := utxo.ParamsFor("regtest")
	sy2, _ := NewSynchronizer(SyncConfig{Bitcoin: btc, Chain: chain, ChainID: "t", Key: stranger, Params: p, Bodies: s})
	sent = len(chain.sent)
	if err := sy2.Step(ctx); !errors.Is(err, ErrNotRegistered) || len(chain.sent) != sent {
		t.Fatalf("unregistered key: %v, %d sent", err, len(chain.sent)-sent)
	}

	// A Bitcoin node that is down: an error, nothing sent.
	btc.down = true
	if err := sy.Step(ctx); err == nil {
		t.Fatal("no error with the Bitcoin node down")
	}
}

type bodies map[chainhash.Hash]bool

func (b bodies) Body(_ context.Context, h chainhash.Hash, _ int32) ([]byte, error) {
	if !b[h] {
		return nil, errors.New("no body")
	}
	return []byte{1}, nil
}

// TestEndorser: it endorses in one batch exactly the pending headers its
// Bitcoin node has at their height and whose body it holds; not those of
// another branch, not one without a body, not one already endorsed or
// paid; nothing when its Bitcoin node is down; and not the same twice.
func TestEndorser(t *testing.T) {
	ctx := context.Background()
	mainChain, fork := testChain(t, 12, 10, 3)
	btc := &fakeBitcoin{}
	btc.setChain(mainChain)
	chain := newFakeChain(mainChain[0].BlockHash())
	key, _ := btcec.NewPrivateKey()
	chain.operator, chain.endorser = "op", tx.AddressOf(key.PubKey()).String()
	have := bodies{}
	for _, b := range mainChain {
		have[b.BlockHash()] = true
	}
	delete(have, mainChain[5].BlockHash())
	rec := func(b *wire.MsgBlock, h int32, endorsers ...string) record {
		return record{Height: h, Hash: b.BlockHash().String(), Endorsers: append([]string{}, endorsers...)}
	}
	chain.recs = []record{rec(mainChain[3], 3), rec(mainChain[4], 4, "op"), rec(mainChain[5], 5), rec(mainChain[6], 6),
		rec(fork[10], 10), rec(mainChain[10], 10), {Height: 2, Hash: mainChain[2].BlockHash().String(), Paid: true}}
	e, err := NewEndorser(EndorserConfig{Bitcoin: btc, Chain: chain, ChainID: "t", Key: key, Bodies: have})
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(chain.sent) != 1 {
		t.Fatalf("endorsed %d in %d transactions, want 3 in 1", n, len(chain.sent))
	}
	var got []int32
	for _, it := range chain.sent[0].(tx.Endorse).Items {
		got = append(got, int32(it.Height))
		if it.Hash != mainChain[it.Height].BlockHash() {
			t.Fatalf("endorsed %s at %d, not the Bitcoin node's block", it.Hash, it.Height)
		}
	}
	if fmt.Sprint(got) != "[3 6 10]" {
		t.Fatalf("endorsed heights %v, want [3 6 10]", got)
	}
	if n, _ := e.Step(ctx); n != 0 {
		t.Fatal("endorsed again while the first transaction is pending")
	}
	// A new header arrives while the Bitcoin node is down.
	chain.recs = append(chain.recs, rec(mainChain[11], 11))
	btc.down = true
	if n, _ := e.Step(ctx); n != 0 {
		t.Fatal("endorsed with its Bitcoin node down")
	}
	btc.down = false
	if n, err := e.Step(ctx); n != 1 || err != nil {
		t.Fatalf("after the node came back: %d, %v", n, err)
	}

	// A key that is no validator's endorser.
	other, _ := btcec.NewPrivateKey()
	e2, _ := NewEndorser(EndorserConfig{Bitcoin: btc, Chain: chain, ChainID: "t", Key: other, Bodies: have})
	if _, err := e2.Step(ctx); !errors.Is(err, ErrNotValidator) {
		t.Fatalf("unknown endorser key: %v", err)
	}
}

// TestSynchronizerLostTransaction: a batch that never reaches a block
// (dropped from the mempool) is submitted again once it is taken as lost,
// even though the Bitcoin node's tip has not moved.
func TestSynchronizerLostTransaction(t *testing.T) {
	ctx := context.Background()
	mainChain, _ := testChain(t, 5, 5, 0)
	btc := &fakeBitcoin{}
	btc.setChain(mainChain)
	chain := newFakeChain(mainChain[0].BlockHash())
	key, _ := btcec.NewPrivateKey()
	sy := newSync(t, btc, chain, key, &sink{})
	if err := sy.Step(ctx); err != nil {
		t.Fatal(err)
	}
	chain.mempool = nil // lost
	for range 3 {
		if err := sy.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(chain.sent) != 1 {
		t.Fatalf("%d submissions while the first may still land", len(chain.sent))
	}
	sy.sentAt = sy.sentAt.Add(-stuckAfter) // time passes
	sy.send.progressAt = sy.send.progressAt.Add(-stuckAfter)
	if err := sy.Step(ctx); err != nil {
		t.Fatal(err)
	}
	chain.commit()
	if len(chain.sent) != 2 || chain.bestH != 5 {
		t.Fatalf("after the loss: %d submissions, chain at %d", len(chain.sent), chain.bestH)
	}
}
