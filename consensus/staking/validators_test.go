package staking

import (
	"math"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo/memstore"
)

func createMsg(i byte, stake uint64) tx.CreateValidator {
	return tx.CreateValidator{ConsensusKey: consKey(0x10 + i), EndorserKey: endorser(i),
		CommissionBps: 500, SelfStake: stake, Moniker: "new"}
}

func TestCreateValidator(t *testing.T) {
	h := newHarness(t, testGenesis())
	o := del(1) // an account with funds and no validator
	good := createMsg(7, 5000)

	h.rejects(tx.CodeValidatorExists, func() error { return h.CreateValidator(op(1), good) })
	for name, mut := range map[string]func(*tx.CreateValidator){
		"consensus key":                func(m *tx.CreateValidator) { m.ConsensusKey = consKey(0x11) },
		"endorser key":                 func(m *tx.CreateValidator) { m.EndorserKey = endorser(2) },
		"endorser is an operator":      func(m *tx.CreateValidator) { m.EndorserKey = op(2) },
		"endorser equals the operator": func(m *tx.CreateValidator) { m.EndorserKey = o },
	} {
		m := good
		mut(&m)
		h.rejects(tx.CodeKeyInUse, func() error { return h.CreateValidator(o, m) })
		_ = name
	}
	// An existing endorser key cannot become an operator.
	h.rejects(tx.CodeKeyInUse, func() error { return h.CreateValidator(endorser(1), good) })

	m := good
	m.SelfStake = 999
	h.rejects(tx.CodeInvalidAmount, func() error { return h.CreateValidator(o, m) })
	m.SelfStake = 100_001
	h.rejects(tx.CodeInsufficientBalance, func() error { return h.CreateValidator(o, m) })
	m = good
	m.CommissionBps = 10001
	h.rejects(tx.CodeInvalidCommission, func() error { return h.CreateValidator(o, m) })
	m = good
	m.Moniker = "a\nb"
	h.rejects(tx.CodeInvalidMoniker, func() error { return h.CreateValidator(o, m) })
	m = good
	m.ConsensusKey = badEdKey(t)
	h.rejects(tx.CodeInvalidAddress, func() error { return h.CreateValidator(o, m) })

	h.ok(h.CreateValidator(o, good))
	v := h.val(o)
	if v.Tokens != 5000 || v.Shares != 5000 || v.SelfStake != 5000 || v.Jailed || h.balance(o) != 95_000 {
		t.Fatalf("validator %+v, balance %d", v, h.balance(o))
	}
	if got, ok := h.ValidatorByEndorser(endorser(7)); !ok || got.Operator != o {
		t.Fatal("ValidatorByEndorser")
	}
	if got, ok := h.ValidatorByConsensusKey(consKey(0x17)); !ok || got.Operator != o {
		t.Fatal("ValidatorByConsensusKey")
	}
	if _, ok := h.ValidatorByEndorser(o); ok {
		t.Fatal("operator found as endorser")
	}
	// The new endorser key has an account and can sign.
	h.ok(h.CheckAndBumpNonce(endorser(7), 1))
	vs := h.Validators()
	if len(vs) != 4 {
		t.Fatalf("%d validators", len(vs))
	}
	for i := 1; i < len(vs); i++ {
		if string(vs[i-1].Operator[:]) >= string(vs[i].Operator[:]) {
			t.Fatal("validators not sorted")
		}
	}
}

// badEdKey returns 32 bytes that are no canonical ed25519 point.
func badEdKey(t *testing.T) [32]byte {
	for i := 0; i < 256; i++ {
		var k [32]byte
		k[0] = byte(i)
		if !validConsensusKey(k) {
			return k
		}
	}
	t.Fatal("no invalid key found")
	return [32]byte{}
}

func TestConsensusKeyCheck(t *testing.T) {
	for b := 0; b < 64; b++ {
		if k := consKey(byte(b)); !validConsensusKey(k) {
			t.Fatalf("real key %x rejected", k)
		}
	}
	// The identity point (0, 1) is valid; with the sign bit on x = 0 it is
	// a non-canonical encoding.
	id := [32]byte{1}
	if !validConsensusKey(id) {
		t.Fatal("identity rejected")
	}
	id[31] = 0x80
	if validConsensusKey(id) {
		t.Fatal("negative zero x accepted")
	}
	// y = p (non-reduced encoding of 0) is rejected.
	p := [32]byte{0xed}
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	p[31] = 0x7f
	if validConsensusKey(p) {
		t.Fatal("y = p accepted")
	}
	// About half of all y have no x.
	bad := 0
	for i := 0; i < 200; i++ {
		var k [32]byte
		k[0], k[1] = byte(i), 0x5a
		if !validConsensusKey(k) {
			bad++
		}
	}
	if bad < 60 || bad > 140 {
		t.Fatalf("%d of 200 rejected", bad)
	}
}

func TestDelegate(t *testing.T) {
	h := newHarness(t, testGenesis())
	d := del(1)
	h.rejects(tx.CodeUnknownValidator, func() error { return h.Delegate(d, tx.Delegate{Validator: del(2), Amount: 1}) })
	h.rejects(tx.CodeInsufficientBalance, func() error { return h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 100_001}) })
	h.rejects(tx.CodeInvalidAmount, func() error { return h.Delegate(d, tx.Delegate{Validator: op(1)}) })
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 5000}))
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(2), Amount: 1000}))
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 5000}))
	if v := h.val(op(1)); v.Tokens != 20_000 || v.Shares != 20_000 {
		t.Fatalf("validator %+v", v)
	}
	ds := h.DelegationsOf(d)
	if len(ds) != 2 || ds[0].Validator == ds[1].Validator {
		t.Fatalf("delegations %+v", ds)
	}
	if got, _ := h.Delegation(d, op(1)); got.Shares != 10_000 || got.Tokens != 10_000 {
		t.Fatalf("delegation %+v", got)
	}
	if h.balance(d) != 89_000 {
		t.Fatalf("balance %d", h.balance(d))
	}

	// After a slash a share is worth less than a token: a delegation worth
	// less than one share is refused, and shares exceed tokens.
	_, err := h.SlashDoubleSign(consKey(0x11), 1, t0)
	h.ok(err)
	if v := h.val(op(1)); v.Tokens != 19_000 || v.Shares != 20_000 {
		t.Fatalf("after slash %+v", v)
	}
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 1900}))
	if got, _ := h.Delegation(d, op(1)); got.Shares != 12_000 || got.Tokens != 12_000*20_900/22_000 {
		t.Fatalf("delegation %+v", got)
	}

	// Rounding favours the delegations that stay: at 20,900 tokens for
	// 22,000 shares, undelegating 1 token gives up ceil(22,000/20,900) = 2
	// shares, and a share is worth no less afterwards.
	before := h.val(op(1))
	h.ok(h.Undelegate(d, tx.Undelegate{Validator: op(1), Amount: 1}, 1, t0))
	after := h.val(op(1))
	if before.Shares-after.Shares != 2 || before.Tokens-after.Tokens != 1 {
		t.Fatalf("undelegating 1 token took %d shares", before.Shares-after.Shares)
	}
	if after.Tokens*before.Shares < before.Tokens*after.Shares {
		t.Fatal("share value fell")
	}

	// Shares that would not fit 64 bits: forge a nearly worthless share.
	v := h.validators[op(3)]
	v.shares, h.delegations[op(3)][op(3)].shares = math.MaxUint64/2, math.MaxUint64/2
	if err := h.Delegate(d, tx.Delegate{Validator: op(3), Amount: 60_000}); tx.CodeOf(err) != tx.CodeOverflow {
		t.Fatalf("got %v, want Overflow", err)
	}
}

func TestUndelegate(t *testing.T) {
	h := newHarness(t, testGenesis())
	d := del(1)
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 5000}))
	und := func(who, o tx.Address, amount uint64) error {
		return h.Undelegate(who, tx.Undelegate{Validator: o, Amount: amount}, 10, t0)
	}
	h.rejects(tx.CodeUnknownValidator, func() error { return und(d, del(2), 1) })
	h.rejects(tx.CodeNoDelegation, func() error { return und(d, op(2), 1) })
	h.rejects(tx.CodeInsufficientStake, func() error { return und(d, op(1), 5001) })
	h.rejects(tx.CodeInvalidAmount, func() error { return und(d, op(1), 0) })
	h.ok(und(d, op(1), 2000))
	h.ok(und(d, op(1), 3000)) // the rest: the delegation goes away
	if _, ok := h.Delegation(d, op(1)); ok {
		t.Fatal("empty delegation kept")
	}
	ub := h.UnbondingsOf(d)
	if len(ub) != 1 || ub[0].Amount != 5000 || !ub[0].CompletionTime.Equal(t0.Add(100*time.Second)) || ub[0].CreationHeight != 10 {
		t.Fatalf("unbonding %+v (entries of one block and time merge)", ub)
	}
	if v := h.val(op(1)); v.Tokens != 10_000 || v.Jailed {
		t.Fatalf("validator %+v", v)
	}

	// The operator going below min_self_stake jails the validator.
	h.ok(und(op(1), op(1), 9000)) // exactly the minimum is enough
	if v := h.val(op(1)); v.Jailed {
		t.Fatal("jailed at exactly min_self_stake")
	}
	h.ok(und(op(1), op(1), 1))
	v := h.val(op(1))
	if !v.Jailed || !v.JailedUntil.Equal(t0) || v.SelfStake != 999 {
		t.Fatalf("validator %+v", v)
	}
	h.ok(und(op(1), op(1), 999))
	if v := h.val(op(1)); v.Tokens != 0 || v.Shares != 0 {
		t.Fatalf("empty validator %+v", v)
	}
	if h.Power(op(1)) != 0 {
		t.Fatal("empty validator has power")
	}

	// After a slash, undelegating the delegation's value (not its shares)
	// empties it.
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(2), Amount: 333}))
	_, err := h.SlashDoubleSign(consKey(0x12), 100, t0)
	h.ok(err)
	got, _ := h.Delegation(d, op(2))
	h.rejects(tx.CodeInsufficientStake, func() error { return und(d, op(2), got.Tokens+1) })
	h.ok(und(d, op(2), got.Tokens-1))
	// What is left is worth one token, or nothing and went along.
	if got2, ok := h.Delegation(d, op(2)); ok {
		if got2.Tokens != 1 {
			t.Fatalf("left %+v", got2)
		}
		h.ok(und(d, op(2), 1))
	}
	if _, ok := h.Delegation(d, op(2)); ok {
		t.Fatal("delegation not emptied")
	}
	if ub := h.UnbondingsOf(d); len(ub) != 2 || ub[1].Amount != got.Tokens {
		t.Fatalf("unbonding %+v, want %d in all", ub, got.Tokens)
	}
}

func TestUnjail(t *testing.T) {
	h := newHarness(t, testGenesis())
	o := op(2)
	h.rejects(tx.CodeUnknownValidator, func() error { return h.Unjail(del(1), t0) })
	h.rejects(tx.CodeNotJailed, func() error { return h.Unjail(o, t0) })
	for i := 0; i < 3; i++ { // three missed rounds of six: jailed for downtime
		h.round(t0, op(1), op(3))
	}
	h.rejects(tx.CodeJailed, func() error { return h.Unjail(o, t0.Add(10*time.Minute-1)) })
	h.ok(h.Unjail(o, t0.Add(10*time.Minute)))
	if v := h.val(o); v.Jailed || v.Tokens != 19_800 {
		t.Fatalf("validator %+v", v)
	}

	// Jailed for low self-stake: unjail needs the stake back first.
	h.ok(h.Undelegate(o, tx.Undelegate{Validator: o, Amount: 19_300}, 6, t0.Add(2*time.Hour)))
	if v := h.val(o); !v.Jailed || v.SelfStake != 500 {
		t.Fatalf("validator %+v", v)
	}
	h.rejects(tx.CodeInsufficientStake, func() error { return h.Unjail(o, t0.Add(3*time.Hour)) })
	h.ok(h.Delegate(o, tx.Delegate{Validator: o, Amount: 600}))
	h.ok(h.Unjail(o, t0.Add(3*time.Hour)))
}

// TestTombstone: a double sign slashes once and tombstones; further
// evidence changes nothing; the validator is never unjailed, not even
// after its jail time, nor counted in attendance; the flag survives a
// reload.
func TestTombstone(t *testing.T) {
	h := newHarness(t, testGenesis())
	supply := h.Supply()
	burned, err := h.SlashDoubleSign(consKey(0x12), 5, t0)
	h.ok(err)
	if v := h.val(op(2)); burned != 1000 || h.Supply() != supply-1000 || !v.Jailed || !v.Tombstoned || v.Tokens != 19_000 {
		t.Fatalf("burned %d, validator %+v", burned, v)
	}
	for _, height := range []int64{5, 5, 6} { // duplicates, then another infraction
		h.rejects(tx.CodeTombstoned, func() error {
			_, err := h.SlashDoubleSign(consKey(0x12), height, t0.Add(time.Minute))
			return err
		})
	}
	h.rejects(tx.CodeTombstoned, func() error { return h.Unjail(op(2), t0.Add(time.Hour)) })
	h.rejects(tx.CodeTombstoned, func() error { return h.Unjail(op(2), t0.Add(1000*time.Hour)) })
	for i := 0; i < 3; i++ {
		h.round(t0, op(1), op(3))
	}
	if v := h.val(op(2)); v.Missed != 0 || v.Tokens != 19_000 {
		t.Fatalf("a tombstoned validator was counted: %+v", v)
	}
	st := memstore.New()
	commit(t, h.State, st)
	loaded, err := Load(st, testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := loaded.Validator(op(2)); !v.Tombstoned || loaded.Root() != h.Root() {
		t.Fatalf("reloaded %+v", v)
	}
}

func TestWithdrawRejections(t *testing.T) {
	h := newHarness(t, testGenesis())
	h.rejects(tx.CodeUnknownValidator, func() error {
		_, err := h.WithdrawRewards(del(1), tx.WithdrawRewards{Validator: del(2)})
		return err
	})
	h.rejects(tx.CodeNoDelegation, func() error {
		_, err := h.WithdrawRewards(del(1), tx.WithdrawRewards{Validator: op(1)})
		return err
	})
	// With nothing earned, a withdrawal succeeds and pays nothing.
	if n := h.withdraw(op(1), op(1)); n != 0 {
		t.Fatalf("paid %d", n)
	}
}
