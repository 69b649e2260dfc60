package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

const testChainID = "satnode-test"

// actor is a key that signs transactions, with its next nonce.
type actor struct {
	priv  *btcec.PrivateKey
	addr  tx.Address
	nonce uint64
}

func newActor(seed string) *actor {
	sum := sha256.Sum256([]byte(seed))
	priv, _ := btcec.PrivKeyFromBytes(sum[:])
	return &actor{priv: priv, addr: tx.AddressOf(priv.PubKey())}
}

// validatorKeys are one validator's operator, endorser and consensus keys.
type validatorKeys struct {
	op, endorser *actor
	cons         ed25519.PublicKey
}

func newValidatorKeys(i int) validatorKeys {
	seed := sha256.Sum256([]byte{'v', byte(i)})
	return validatorKeys{op: newActor("op" + string(rune('0'+i))), endorser: newActor("en" + string(rune('0'+i))),
		cons: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)}
}

// harness drives the application as CometBFT would, block by block, in
// process, over an in-memory store.
type harness struct {
	t      testing.TB
	app    *App
	store  utxo.Store
	bodies *MemBodies
	height int64
	now    time.Time
	vals   []validatorKeys
	sync   *actor
	// state is the genesis app_state InitChain was given; cfg edits the
	// Config of every App open makes.
	state []byte
	cfg   func(*Config)
}

type harnessOpts struct {
	network string
	stakes  []uint64 // self-stake per validator, in tokens
	params  func(*Params)
	start   time.Time // the first block time (default 2026-11-01)
	store   utxo.Store
	// genesis edits the genesis before InitChain.
	genesis func(*Genesis)
	// cfg edits the application's Config.
	cfg func(*Config)
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	if o.network == "" {
		o.network = "mainnet"
	}
	if o.store == nil {
		o.store = memstore.New()
	}
	h := &harness{t: t, store: o.store, bodies: NewMemBodies(), sync: newActor("sync"), cfg: o.cfg,
		now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	if !o.start.IsZero() {
		h.now = o.start
	}
	p := DefaultParams()
	p.MinSelfStake, p.PowerReduction = 1_000_000, 1_000_000
	if o.params != nil {
		o.params(&p)
	}
	g := Genesis{Network: o.network, Params: p,
		Synchronizers: []GenesisSynchronizer{{Address: h.sync.addr.String(), Bond: p.MinSynchronizerBond, Payout: h.sync.addr.String()}},
		Accounts:      []GenesisAccount{{Address: h.sync.addr.String(), Balance: 1_000_000_000}},
	}
	for i, st := range o.stakes {
		k := newValidatorKeys(i)
		h.vals = append(h.vals, k)
		g.Validators = append(g.Validators, GenesisValidator{Operator: k.op.addr.String(), ConsensusKey: hex.EncodeToString(k.cons),
			EndorserKey: k.endorser.addr.String(), CommissionBps: 1000, Moniker: "v" + string(rune('0'+i)), SelfStake: st})
		// Every transaction pays a fee: the endorser keys need funds too.
		g.Accounts = append(g.Accounts, GenesisAccount{Address: k.op.addr.String(), Balance: 1_000_000_000},
			GenesisAccount{Address: k.endorser.addr.String(), Balance: 1_000_000_000})
	}
	if o.genesis != nil {
		o.genesis(&g)
	}
	state, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	h.state = state
	h.app = h.open()
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: state, Time: h.now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.app.Close() })
	return h
}

func (h *harness) open() *App {
	cfg := Config{Store: h.store, Bodies: h.bodies, BodyRetry: time.Millisecond}
	if h.cfg != nil {
		h.cfg(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// sign builds a transaction from a with its next nonce.
func (h *harness) sign(a *actor, m tx.Msg) []byte {
	h.t.Helper()
	a.nonce++
	env, err := tx.Sign(testChainID, a.priv, a.nonce, m)
	if err != nil {
		h.t.Fatal(err)
	}
	return env.Marshal()
}

// block finalizes and commits one block with txs, returns its results.
func (h *harness) block(txs ...[]byte) *abci.ResponseFinalizeBlock {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(5 * time.Second)
	res, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: h.now, Txs: txs})
	if err != nil {
		h.t.Fatalf("block %d: %v", h.height, err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatalf("commit %d: %v", h.height, err)
	}
	return res
}

// mustOK finalizes a block and requires every transaction to succeed.
func (h *harness) mustOK(txs ...[]byte) *abci.ResponseFinalizeBlock {
	h.t.Helper()
	res := h.block(txs...)
	for i, r := range res.TxResults {
		if r.Code != 0 {
			h.t.Fatalf("block %d tx %d: code %d (%s): %s", h.height, i, r.Code, tx.Code(r.Code), r.Log)
		}
	}
	return res
}

// submit builds SubmitHeaders transactions for raw blocks' headers, in
// batches, and stores the bodies.
func (h *harness) submit(raws [][]byte) [][]byte {
	var txs [][]byte
	for len(raws) > 0 {
		n := min(len(raws), tx.MaxHeadersPerTx)
		var m tx.SubmitHeaders
		for _, r := range raws[:n] {
			m.Headers = append(m.Headers, [80]byte(r[:80]))
			if err := h.bodies.Add(r); err != nil {
				h.t.Fatal(err)
			}
		}
		txs = append(txs, h.sign(h.sync, m))
		raws = raws[n:]
	}
	return txs
}

// endorse builds Endorse transactions from validator i for raw blocks at
// heights from, from+1, ….
func (h *harness) endorse(i int, from int32, raws [][]byte) [][]byte {
	var txs [][]byte
	for len(raws) > 0 {
		n := min(len(raws), tx.MaxEndorsementsPerTx)
		var m tx.Endorse
		for j, r := range raws[:n] {
			m.Items = append(m.Items, tx.Endorsement{Height: uint32(from) + uint32(j), Hash: blockHash(r)})
		}
		txs = append(txs, h.sign(h.vals[i].endorser, m))
		raws, from = raws[n:], from+int32(n)
	}
	return txs
}

func blockHash(raw []byte) (hash [32]byte) {
	first := sha256.Sum256(raw[:80])
	return sha256.Sum256(first[:])
}

// btcTip is the UTXO set's tip height.
func (h *harness) btcTip() int32 {
	height, _, _ := h.app.engine.Tip()
	return height
}
