package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/muhash"
)

// TestLaterStartPoint: a chain that starts at mainnet block 10080 with its
// ancestry, on a UTXO set imported offline up to there, follows the rest
// of the fixture to the same MuHash as a straight import from genesis; a
// store that is not at the start, or a MuHash that is not the set's, is
// refused.
func TestLaterStartPoint(t *testing.T) {
	raws := mainnetRaws(t)
	const start = 10080
	imported := func(upTo int) utxo.Store {
		s := memstore.New()
		e, err := utxo.Open(s, utxo.Config{Params: utxo.MainNet()})
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws[:upTo+1] {
			b, err := utxo.DecodeBlock(raw)
			if err == nil {
				_, err = e.Connect(b)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := straightDigest(t, raws[:start+1])
	setStart := func(mu [32]byte) func(*Genesis) {
		return func(g *Genesis) {
			n := btcheaders.RequiredAncestry(utxo.MainNet().Chain, start)
			g.Start = GenesisStart{Height: start, MuHash: muhash.Digest(mu).String()}
			for _, raw := range raws[start-int(n) : start+1] {
				g.Start.Headers = append(g.Start.Headers, hex.EncodeToString(raw[:80]))
			}
		}
	}

	// Every remaining header goes in one block: above the default cap.
	caps := func(p *Params) { p.MaxHeadersPerBlock = 20_000 }
	h := newHarness(t, harnessOpts{stakes: []uint64{10e6, 10e6, 10e6, 10e6}, store: imported(start), genesis: setStart(want), params: caps})
	h.mustOK(h.submit(raws[start+1:])...)
	var txs [][]byte
	for i := 0; i < 3; i++ {
		txs = append(txs, h.endorse(i, start+1, raws[start+1:])...)
	}
	h.mustOK(txs...)
	if h.btcTip() != int32(len(raws)-1) {
		t.Fatalf("tip %d", h.btcTip())
	}
	if d, _ := h.app.engine.Digest(); d != straightDigest(t, raws) {
		t.Fatal("the set differs from a straight import from genesis")
	}

	// Refusals: the store at another height; a wrong MuHash.
	for name, c := range map[string]struct {
		store utxo.Store
		mu    [32]byte
		msg   string
	}{
		"store behind": {imported(start - 1), want, "import it first"},
		"wrong muhash": {imported(start), [32]byte{1}, "genesis says"},
	} {
		hh := &harness{t: t, store: c.store, bodies: NewMemBodies()}
		a := hh.open()
		var g Genesis
		setStart(c.mu)(&g)
		g.Network, g.Params = "mainnet", DefaultParams()
		k := newValidatorKeys(0)
		g.Validators = []GenesisValidator{{Operator: k.op.addr.String(), ConsensusKey: hex.EncodeToString(k.cons),
			EndorserKey: k.endorser.addr.String(), Moniker: "v", SelfStake: 10e6}}
		state, _ := json.Marshal(g)
		_, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: state})
		if !errors.Is(err, ErrGenesis) || !strings.Contains(err.Error(), c.msg) {
			t.Fatalf("%s: %v", name, err)
		}
		a.Close()
	}
}
