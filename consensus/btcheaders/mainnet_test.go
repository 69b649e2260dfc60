package btcheaders

import (
	"math/big"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/utxo/memstore"
)

// TestMainnetFixture adds all 14132 headers of the mainnet fixture from
// genesis, each with now = its time + 1 h.
func TestMainnetFixture(t *testing.T) {
	hdrs := mainnetHeaders(t)
	tr := mustNew(t, &chaincfg.MainNetParams, StartPoint{})
	for i := 1; i < len(hdrs); i++ {
		n := mustAdd(t, tr, &hdrs[i])
		if n.Height() != int32(i) {
			t.Fatalf("header %d got height %d", i, n.Height())
		}
	}
	if tr.Len() != len(hdrs) {
		t.Fatalf("Len %d, want %d", tr.Len(), len(hdrs))
	}
	tip := tr.BestChain(nil)
	if tip.Height() != 14131 || tip.Hash() != hdrs[14131].BlockHash() {
		t.Fatalf("best chain ends at %d %s", tip.Height(), tip.Hash())
	}
	// Every header has bits 0x1d00ffff, so the chain work is 14132 times
	// the work of one (0x100010001).
	want := new(big.Int).Mul(blockchain.CalcWork(0x1d00ffff), big.NewInt(14132))
	w := tip.Work()
	if new(big.Int).SetBytes(w[:]).Cmp(want) != 0 {
		t.Fatalf("tip work %x, want %x", w, want)
	}
	// The checkpoint at 11111 was reached.
	if tr.cp == nil || tr.cp.Height() != 11111 {
		t.Fatalf("checkpoint node %v", tr.cp)
	}
	// Retarget boundaries went through btcd's retarget code (the bits did not
	// change on mainnet before 32256; the simnet tests cover changes).
	for h := int32(2016); h <= 14131; h += 2016 {
		n := tip.Ancestor(h)
		if n.Bits() != 0x1d00ffff || n.Header() != hdrs[h] {
			t.Fatalf("header at %d differs", h)
		}
	}
}

// TestMainnetStartPoints starts trees at later heights with the ancestry
// New requires and checks they accept the rest of the fixture with the same
// nodes and the same work differences as the tree from genesis.
func TestMainnetStartPoints(t *testing.T) {
	hdrs := mainnetHeaders(t)
	p := &chaincfg.MainNetParams
	full := mustNew(t, p, StartPoint{})
	for i := 1; i < len(hdrs); i++ {
		mustAdd(t, full, &hdrs[i])
	}
	for _, h := range []int32{10080, 10085, 12000, 14111} {
		sp := startFrom(p, hdrs, h)
		if got, want := len(sp.Headers)-1, int(RequiredAncestry(p, h)); got != want {
			t.Fatalf("start %d: %d ancestors, want %d", h, got, want)
		}
		tr := mustNew(t, p, sp)
		for i := int(h) + 1; i < len(hdrs); i++ {
			mustAdd(t, tr, &hdrs[i])
		}
		var diff *big.Int
		for _, n := range tr.Nodes() {
			f, ok := full.Get(n.Hash())
			if !ok || f.Height() != n.Height() || f.Header() != n.Header() {
				t.Fatalf("start %d: node %s at %d not in the full tree", h, n.Hash(), n.Height())
			}
			fw, nw := f.Work(), n.Work()
			d := new(big.Int).Sub(new(big.Int).SetBytes(fw[:]), new(big.Int).SetBytes(nw[:]))
			if diff == nil {
				diff = d
			} else if d.Cmp(diff) != 0 {
				t.Fatalf("start %d: work difference at %d is %v, was %v", h, n.Height(), d, diff)
			}
		}
		if tr.Len() != len(hdrs)-int(RequiredBottom(p, h)) {
			t.Fatalf("start %d: %d nodes", h, tr.Len())
		}
		if tr.BestChain(nil).Hash() != full.BestChain(nil).Hash() {
			t.Fatalf("start %d: different best chain", h)
		}
		// With the chain work given, work matches the full tree exactly.
		sp.ChainWork = full.index[hdrs[h].BlockHash()].Work()
		tw := mustNew(t, p, sp)
		if tw.Base().Work() != sp.ChainWork || tw.Bottom().Work() != full.index[tw.Bottom().Hash()].Work() {
			t.Fatalf("start %d with chain work: base work %x", h, tw.Base().Work())
		}
	}
}

// TestMainnetRejections exercises the rules that real mainnet data can
// trigger: proof of work, bits above the limit, the future-time rule
// against now, duplicates, unknown parents, the finalized base, and
// checkpoints, the latter with btcd's real-PoW side branch off genesis.
func TestMainnetRejections(t *testing.T) {
	hdrs := mainnetHeaders(t)
	reorg := reorgHeaders(t)
	p := &chaincfg.MainNetParams
	tr := mustNew(t, p, StartPoint{})
	for i := 1; i <= 100; i++ {
		mustAdd(t, tr, &hdrs[i])
	}
	h := hdrs[101]
	now := hourAfter(&h)
	root := tr.Root()

	bad := h
	bad.Nonce++
	_, err := tr.Add(&bad, now)
	wantCode(t, err, ErrBadPoW)

	bad = h
	bad.Bits = 0x1d01ffff // target above mainnet's limit
	_, err = tr.Add(&bad, now)
	wantCode(t, err, ErrWrongBits)

	bad = h
	bad.Timestamp = h.Timestamp.Add(500 * time.Millisecond)
	_, err = tr.Add(&bad, now)
	wantCode(t, err, ErrBadHeader)

	_, err = tr.Add(&h, h.Timestamp.Add(-2*time.Hour-time.Second))
	wantCode(t, err, ErrTimeTooNew)
	if tr.Len() != 101 || tr.Root() != root {
		t.Fatal("a rejected header changed the tree")
	}
	// Exactly 2 h ahead of now is allowed; a fraction of a second of now
	// changes nothing, since header times are whole seconds.
	if _, err := tr.Add(&h, h.Timestamp.Add(-2*time.Hour+time.Nanosecond)); err != nil {
		t.Fatalf("header exactly 2 h ahead: %v", err)
	}
	_, err = tr.Add(&h, now)
	wantCode(t, err, ErrDuplicate)
	g := hdrs[0]
	_, err = tr.Add(&g, now)
	wantCode(t, err, ErrDuplicate)

	a3 := reorg["3A"]
	_, err = tr.Add(&a3, hourAfter(&a3))
	wantCode(t, err, ErrUnknownParent)

	// The side branch is fine while the tree is below the first checkpoint.
	for _, name := range []string{"1'", "2'", "3A"} {
		hh := reorg[name]
		mustAdd(t, tr, &hh)
	}

	// Finalized base: a tree started at height 5 holds 0..5 as base and
	// ancestry, so 1' (height 1) is below the base.
	t5 := mustNew(t, p, startFrom(p, hdrs, 5))
	b1 := reorg["1'"]
	_, err = t5.Add(&b1, hourAfter(&b1))
	wantCode(t, err, ErrBelowFinalized)
	// The base's own header is a duplicate, not below the base.
	_, err = t5.Add(&hdrs[5], now)
	wantCode(t, err, ErrDuplicate)
}

// TestMainnetCheckpoint grows the fixture to the checkpoint at 11111 and
// then offers btcd's side branch off genesis: with the checkpoint in the
// tree, a header below it is refused (btcd's ErrForkTooOld).
func TestMainnetCheckpoint(t *testing.T) {
	hdrs := mainnetHeaders(t)
	reorg := reorgHeaders(t)
	p := &chaincfg.MainNetParams
	if p.Checkpoints[0].Height != 11111 {
		t.Fatalf("first mainnet checkpoint at %d", p.Checkpoints[0].Height)
	}
	tr := mustNew(t, p, StartPoint{})
	for i := 1; i <= 11110; i++ {
		mustAdd(t, tr, &hdrs[i])
	}
	b1, b2 := reorg["1'"], reorg["2'"]
	mustAdd(t, tr, &b1) // before the checkpoint: accepted
	mustAdd(t, tr, &hdrs[11111])
	_, err := tr.Add(&b2, hourAfter(&b2))
	wantCode(t, err, ErrBadCheckpoint)
	// Finalizing past the checkpoint's window prunes it; the base now
	// refuses what it refused, and a reload agrees.
	for i := 11112; i <= 12300; i++ {
		mustAdd(t, tr, &hdrs[i])
	}
	if _, err := tr.SetBase(tr.BestChain(nil).Ancestor(11200)); err != nil || tr.cp == nil {
		t.Fatalf("SetBase(11200): %v, checkpoint %v", err, tr.cp)
	}
	if _, err := tr.SetBase(tr.BestChain(nil).Ancestor(12200)); err != nil || tr.cp != nil {
		t.Fatalf("SetBase(12200): %v, checkpoint %v", err, tr.cp)
	}
	s := memstore.New()
	saveTo(t, s)(tr)
	loaded, err := Load(s, p, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	equalTrees(t, tr, loaded)
	// A fresh tree from a start point above the checkpoint refuses the same
	// header as below its base.
	t2 := mustNew(t, p, startFrom(p, hdrs, 11200))
	_, err = t2.Add(&b2, hourAfter(&b2))
	if err == nil {
		t.Fatal("side branch accepted above the checkpoint")
	}
}

// TestCheckpointMismatch builds a chain at regtest difficulty under
// mainnet's real first checkpoint: the header it puts at 11111 has another
// hash and is refused. The chain starts at 11100 with the ancestry New
// requires, which also shows custom parameters at work.
func TestCheckpointMismatch(t *testing.T) {
	p := chaincfg.RegressionNetParams
	p.Name = "regtest-with-mainnet-checkpoint"
	p.Checkpoints = chaincfg.MainNetParams.Checkpoints[:1]
	const start = 11100
	lo := RequiredBottom(&p, start)
	chain := make([]wire.BlockHeader, 0, start-lo+12)
	ts := time.Unix(1600000000, 0)
	for h := lo; h <= start+12; h++ {
		hd := wire.BlockHeader{Version: 4, Timestamp: ts.Add(time.Duration(h) * time.Minute), Bits: p.PowLimitBits}
		if len(chain) > 0 {
			hd.PrevBlock = chain[len(chain)-1].BlockHash()
		}
		mine(&hd)
		chain = append(chain, hd)
	}
	tr := mustNew(t, &p, StartPoint{Height: start, Headers: chain[:start-lo+1]})
	for h := int32(start + 1); h <= 11110; h++ {
		mustAdd(t, tr, &chain[h-lo])
	}
	_, err := tr.Add(&chain[11111-lo], hourAfter(&chain[11111-lo]))
	wantCode(t, err, ErrBadCheckpoint)

	// A start point whose ancestry crosses the checkpoint with another hash
	// is refused too.
	_, err = New(&p, StartPoint{Height: 11112, Headers: chain[11112-RequiredAncestry(&p, 11112)-lo : 11112-lo+1]}, testPrefix)
	wantCode(t, err, ErrBadStart)
}
