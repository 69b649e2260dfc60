package app

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	ics23 "github.com/cosmos/ics23/go"

	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/utxo"
)

// checkView requires the committed view to carry the app hash FinalizeBlock
// returned, in version want, with commitments that are the live state's
// and, for v2, whose root is that app hash and whose every proof verifies
// against it.
func checkView(t *testing.T, h *harness, appHash []byte, want apphash.Version) apphash.Commitments {
	t.Helper()
	v, err := h.app.Views().Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if v.AppHashVersion != int(want) || string(v.AppHash[:]) != string(appHash) {
		t.Fatalf("height %d: view v%d %X, FinalizeBlock %X", v.Height, v.AppHashVersion, v.AppHash, appHash)
	}
	c := v.Commitments
	mu, _ := h.app.engine.Digest()
	root, err := h.app.engine.TreeRoot()
	if err != nil {
		t.Fatal(err)
	}
	tipH, tip, _ := h.app.engine.Tip()
	if c.MuHash != mu || c.UTXORoot != root || c.TipHeight != tipH || c.TipHash != tip || c.TipHash != v.Tip.Hash {
		t.Fatalf("height %d: commitments %+v, not the state's", v.Height, c)
	}
	if got, err := c.Hash(want); err != nil || got != v.AppHash {
		t.Fatalf("height %d: commitments hash to %X (%v), app hash %X", v.Height, got, err, v.AppHash)
	}
	if want != apphash.V2 {
		return c
	}
	if c.Root() != v.AppHash {
		t.Fatalf("height %d: Commitments.Root %X, AppHash %X", v.Height, c.Root(), v.AppHash)
	}
	for _, n := range apphash.Names() {
		p, value, err := v.Commitments.Prove(n)
		if err != nil || !ics23.VerifyMembership(ics23.TendermintSpec, v.AppHash[:], p, []byte(n), value) {
			t.Fatalf("height %d: the proof of %s does not verify against the app hash (%v)", v.Height, n, err)
		}
	}
	return c
}

// TestAppHashV2: a v2 chain's views carry commitments whose root is the
// app hash, through blocks that move the UTXO set, a reorg, and a
// restart from the store.
func TestAppHashV2(t *testing.T) {
	a := genChain(t, 1, 8)
	b := genChain(t, 2, 10)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6, 10e6, 10e6},
		genesis: func(g *Genesis) { g.AppHashVersion = 2 }})
	all := func(from int32, raws [][]byte) [][]byte {
		var txs [][]byte
		for i := range h.vals {
			txs = append(txs, h.endorse(i, from, raws)...)
		}
		return txs
	}
	roots := map[[32]byte]bool{}
	step := func(res []byte) {
		t.Helper()
		c := checkView(t, h, res, apphash.V2)
		roots[c.UTXORoot] = true
	}
	step(h.mustOK().AppHash)
	step(h.mustOK(h.submit(a[1:])...).AppHash)
	step(h.mustOK(all(1, a[1:])...).AppHash)
	if h.btcTip() != 8 {
		t.Fatalf("branch A: tip %d", h.btcTip())
	}
	step(h.mustOK(h.submit(b[1:])...).AppHash)
	step(h.mustOK(all(1, b[1:])...).AppHash)
	if _, tip, _ := h.app.engine.Tip(); tip != blockHash(b[10]) {
		t.Fatal("no reorg to branch B")
	}
	if len(roots) != 3 {
		t.Fatalf("%d distinct UTXO roots over genesis, branch A and branch B", len(roots))
	}
	// v1 of the same state is another hash: the version is not ignored.
	before := checkView(t, h, h.mustOK().AppHash, apphash.V2)
	if h1, _ := before.Hash(apphash.V1); h1 == before.Root() {
		t.Fatal("v1 and v2 agree")
	}

	// Restart: the commitments are recomputed from the store and give the
	// stored app hash again.
	h.app.Close()
	h.app = h.open()
	if h.app.hashVersion != apphash.V2 {
		t.Fatalf("reloaded as %s", h.app.hashVersion)
	}
	root := before.Root()
	if after := checkView(t, h, root[:], apphash.V2); after != before {
		t.Fatalf("reloaded commitments %+v, committed %+v", after, before)
	}
	step(h.mustOK().AppHash)
}

// TestAppHashV1Unchanged: a genesis without app_hash_version is v1, and
// its app hash is byte for byte the formula of every chain before v2.
func TestAppHashV1Unchanged(t *testing.T) {
	raws := genChain(t, 1, 5)
	h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6}})
	h.mustOK(h.submit(raws[1:])...)
	res := h.mustOK(h.endorse(0, 1, raws[1:])...)
	if h.btcTip() != 5 {
		t.Fatalf("tip %d", h.btcTip())
	}
	// The formula as it was written before v2, kept here verbatim.
	mu, _ := h.app.engine.Digest()
	tipH, tip, _ := h.app.engine.Tip()
	sr, hr, er := h.app.stake.Root(), h.app.tree.Root(), h.app.recs.root()
	c := sha256.New()
	c.Write([]byte("satnode/consensus/v1"))
	c.Write(sr[:])
	c.Write(hr[:])
	c.Write(er[:])
	v1 := sha256.New()
	v1.Write([]byte("satnode/apphash/v1"))
	v1.Write(mu[:])
	v1.Write(tip[:])
	v1.Write(binary.BigEndian.AppendUint32(nil, uint32(tipH)))
	v1.Write(c.Sum(nil))
	if want := v1.Sum(nil); string(res.AppHash) != string(want) {
		t.Fatalf("v1 app hash %X, the v1 formula %X", res.AppHash, want)
	}
	committed := checkView(t, h, res.AppHash, apphash.V1)
	if committed.Root() == [32]byte(res.AppHash) {
		t.Fatal("a v1 app hash equals the v2 root")
	}

	// A store written before v2 has no app_hash_version in its genesis
	// record: it loads as v1, with the same app hash.
	raw, err := h.store.Get(keyGenesis)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["app_hash_version"] != float64(1) {
		t.Fatalf("genesis record %s", raw)
	}
	delete(rec, "app_hash_version")
	old, _ := json.Marshal(rec)
	h.app.Close()
	if err := h.store.Update(len(old)+16, true, func(b utxo.Batch) error { b.Put(keyGenesis, old); return nil }); err != nil {
		t.Fatal(err)
	}
	h.app = h.open()
	if h.app.hashVersion != apphash.V1 {
		t.Fatalf("an old store loaded as %s", h.app.hashVersion)
	}
	checkView(t, h, res.AppHash, apphash.V1)
	checkView(t, h, h.mustOK().AppHash, apphash.V1)
}

// TestLoadChecksAppHash: a store whose state does not hash to its meta
// record's app hash is refused at load, rather than publishing
// commitments no block carries.
func TestLoadChecksAppHash(t *testing.T) {
	for _, version := range []int{1, 2} {
		h := newHarness(t, harnessOpts{network: "regtest", stakes: []uint64{10e6},
			genesis: func(g *Genesis) { g.AppHashVersion = version }})
		res := h.mustOK()
		h.app.Close()
		bad := [32]byte(res.AppHash)
		bad[0] ^= 1
		meta := encodeMeta(h.height, bad)
		if err := h.store.Update(64, true, func(b utxo.Batch) error { b.Put(keyMeta, meta); return nil }); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Store: h.store, Bodies: h.bodies})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("v%d: a wrong stored app hash: %v", version, err)
		}
		h.app = &App{} // Cleanup closes it
	}
}

func TestGenesisAppHashVersion(t *testing.T) {
	base := func(extra string) string {
		return `{"network":"regtest",` + extra + `"start":{"height":0},"params":{},"accounts":[],"validators":[],"synchronizers":[]}`
	}
	for _, tc := range []struct {
		field string
		want  apphash.Version // 0: refused
	}{
		{"", apphash.V1},
		{`"app_hash_version":0,`, apphash.V1},
		{`"app_hash_version":1,`, apphash.V1},
		{`"app_hash_version":2,`, apphash.V2},
		{`"app_hash_version":3,`, 0},
		{`"app_hash_version":-1,`, 0},
		{`"app_hash_version":"2",`, 0},
	} {
		g, err := ParseGenesis([]byte(base(tc.field)))
		if tc.want == 0 {
			if !errors.Is(err, ErrGenesis) {
				t.Errorf("%s: %v", tc.field, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.field, err)
			continue
		}
		if v, err := g.HashVersion(); v != tc.want || err != nil {
			t.Errorf("%s: version %s (%v)", tc.field, v, err)
		}
	}
	// A Genesis built in code, not parsed, is refused at InitChain.
	g := Genesis{Network: "regtest", Params: DefaultParams(), AppHashVersion: 3}
	if _, err := g.resolve(); !errors.Is(err, ErrGenesis) {
		t.Fatalf("resolve with version 3: %v", err)
	}
}
