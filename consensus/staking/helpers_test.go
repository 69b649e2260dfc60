package staking

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

const testPrefix = 'S'

// t0 is the block time the tests start at.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// addrOf returns the address of the private key whose 32 bytes are all b.
func addrOf(b byte) tx.Address {
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{b}, 32))
	return tx.AddressOf(priv.PubKey())
}

// consKey returns the ed25519 public key of the seed whose bytes are all b.
func consKey(b byte) [32]byte {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)).Public().(ed25519.PublicKey)
	return [32]byte(pub)
}

func testParams() Params {
	return Params{
		MaxValidators:          3,
		UnbondingPeriod:        100 * time.Second,
		MinSelfStake:           1000,
		MinSynchronizerBond:    500,
		PowerReduction:         100,
		InitialReward:          5000,
		HalvingInterval:        10,
		SynchronizerShareBps:   1000,
		DoubleSignSlashBps:     500,
		DoubleSignJailDuration: time.Hour,
		DowntimeWindow:         6,
		DowntimeMaxMissed:      2,
		DowntimeJailDuration:   10 * time.Minute,
		DowntimeSlashBps:       100,
		LateRewardBps:          5000,
	}
}

// Actors. Operators are 1x, their endorser keys 2x (same x), delegators
// 3x, synchronizers 4x and their payout addresses 5x.
func op(i byte) tx.Address       { return addrOf(0x10 + i) }
func endorser(i byte) tx.Address { return addrOf(0x20 + i) }
func del(i byte) tx.Address      { return addrOf(0x30 + i) }
func syncer(i byte) tx.Address   { return addrOf(0x40 + i) }
func payout(i byte) tx.Address   { return addrOf(0x50 + i) }

func genValidator(i byte, stake uint64) GenesisValidator {
	return GenesisValidator{Operator: op(i), ConsensusKey: consKey(0x10 + i), EndorserKey: endorser(i),
		CommissionBps: 1000, Moniker: "val", SelfStake: stake}
}

// testGenesis has three validators with 10,000, 20,000 and 30,000 tokens
// (powers 100, 200, 300), one synchronizer, and funded delegators.
func testGenesis() Genesis {
	g := Genesis{Params: testParams()}
	for i := byte(1); i <= 3; i++ {
		g.Validators = append(g.Validators, genValidator(i, 10_000*uint64(i)))
		g.Accounts = append(g.Accounts, GenesisAccount{Address: op(i), Balance: 50_000})
		g.Accounts = append(g.Accounts, GenesisAccount{Address: del(i), Balance: 100_000})
	}
	g.Synchronizers = []GenesisSynchronizer{{Address: syncer(1), Bond: 1000, Payout: payout(1)}}
	return g
}

// harness wraps a State and checks, after every operation, the
// invariants and, after a rejection, that nothing changed.
type harness struct {
	t *testing.T
	*State
}

func newHarness(t *testing.T, g Genesis) *harness {
	t.Helper()
	s, err := InitGenesis(g, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, State: s}
	h.check()
	return h
}

func (h *harness) check() {
	h.t.Helper()
	if err := h.CheckInvariants(); err != nil {
		h.t.Fatal(err)
	}
}

// ok runs an operation that must succeed.
func (h *harness) ok(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("unexpected rejection: %v", err)
	}
	h.check()
}

// rejects runs f, which must fail with code and change nothing.
func (h *harness) rejects(code tx.Code, f func() error) {
	h.t.Helper()
	before := h.Root()
	err := f()
	var te *tx.Error
	if !errors.As(err, &te) {
		h.t.Fatalf("got %v, want a *tx.Error with code %v", err, code)
	}
	if te.Code != code {
		h.t.Fatalf("got %v, want code %v", err, code)
	}
	if h.Root() != before {
		h.t.Fatalf("rejected operation (%v) changed the state", err)
	}
	h.check()
}

func (h *harness) balance(a tx.Address) uint64 {
	acct, _ := h.Account(a)
	return acct.Balance
}

func (h *harness) val(o tx.Address) Validator {
	h.t.Helper()
	v, ok := h.Validator(o)
	if !ok {
		h.t.Fatalf("no validator %s", o)
	}
	return v
}

// pay pays the reward of btcHeight to on-time endorsers.
func (h *harness) pay(btcHeight int32, endorsers ...tx.Address) Payout {
	h.t.Helper()
	p, err := h.PayBitcoinBlockReward(btcHeight, syncer(1), endorsers, nil)
	h.ok(err)
	return p
}

// round takes one attendance round in which signed endorsed.
func (h *harness) round(now time.Time, signed ...tx.Address) []tx.Address {
	h.t.Helper()
	jailed, err := h.RecordAttendance(signed, now)
	h.ok(err)
	return jailed
}

func (h *harness) withdraw(d, o tx.Address) uint64 {
	h.t.Helper()
	n, err := h.WithdrawRewards(d, tx.WithdrawRewards{Validator: o})
	h.ok(err)
	return n
}

// commit writes the state's changes into st.
func commit(t testing.TB, s *State, st *memstore.Store) {
	t.Helper()
	hint := s.ChangesSize()
	if err := st.Update(hint, false, func(b utxo.Batch) error { s.WriteChanges(b); return nil }); err != nil {
		t.Fatal(err)
	}
	if st.HintTooSmall() != 0 {
		t.Fatal("ChangesSize was not an upper bound")
	}
}

// dump returns every key and value in st, in order.
func dump(st *memstore.Store) [][2]string {
	var out [][2]string
	it := st.Iterate(nil, nil)
	defer it.Release()
	for it.Next() {
		out = append(out, [2]string{string(it.Key()), string(it.Value())})
	}
	return out
}
