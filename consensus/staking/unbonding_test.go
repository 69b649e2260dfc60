package staking

import (
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

func TestUnbondingMatures(t *testing.T) {
	h := newHarness(t, testGenesis())
	d := del(1)
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(1), Amount: 6000}))
	bal := h.balance(d)
	h.ok(h.Undelegate(d, tx.Undelegate{Validator: op(1), Amount: 2000}, 7, t0))
	h.ok(h.Undelegate(d, tx.Undelegate{Validator: op(1), Amount: 1000}, 8, t0.Add(time.Second)))
	done := t0.Add(100 * time.Second)

	h.EndBlock(done.Add(-1)) // one nanosecond early
	h.check()
	if h.balance(d) != bal || len(h.UnbondingsOf(d)) != 2 {
		t.Fatal("unbonding paid before its completion time")
	}
	h.EndBlock(done)
	h.check()
	if h.balance(d) != bal+2000 || len(h.UnbondingsOf(d)) != 1 {
		t.Fatalf("balance %d at completion", h.balance(d))
	}
	h.EndBlock(done.Add(time.Hour))
	h.check()
	if h.balance(d) != bal+3000 || len(h.Unbondings()) != 0 {
		t.Fatalf("balance %d", h.balance(d))
	}
}

func TestSlashUnbonding(t *testing.T) {
	h := newHarness(t, testGenesis())
	d := del(1)
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(2), Amount: 30_000}))
	h.ok(h.Delegate(d, tx.Delegate{Validator: op(3), Amount: 10_000}))
	und := func(o tx.Address, amount uint64, height int64) {
		h.ok(h.Undelegate(d, tx.Undelegate{Validator: o, Amount: amount}, height, t0))
	}
	und(op(2), 10_000, 99)  // before the infraction: not slashed
	und(op(2), 10_000, 100) // at the infraction height: slashed
	und(op(2), 2_000, 101)  // after: slashed
	und(op(3), 4_000, 101)  // another validator: not slashed
	supply := h.Supply()

	burned, err := h.SlashDoubleSign(consKey(0x12), 100, t0.Add(time.Second))
	h.ok(err)
	// 5%: of 20,000 + 8,000 bonded → 1400, of 10,000 → 500, of 2000 → 100.
	if burned != 2000 || h.Supply() != supply-2000 {
		t.Fatalf("burned %d, supply %d → %d", burned, supply, h.Supply())
	}
	got := map[int64]uint64{}
	for _, u := range h.UnbondingsOf(d) {
		if u.Validator == op(2) {
			got[u.CreationHeight] = u.Amount
		} else if u.Amount != 4000 {
			t.Fatalf("other validator's entry slashed: %+v", u)
		}
	}
	if got[99] != 10_000 || got[100] != 9_500 || got[101] != 1_900 {
		t.Fatalf("entries %v", got)
	}
	v := h.val(op(2))
	if v.Tokens != 26_600 || !v.Jailed || !v.JailedUntil.Equal(t0.Add(time.Second+time.Hour)) {
		t.Fatalf("validator %+v", v)
	}
	// Everyone lost 5%: d's 8,000 shares are worth 7,600 now.
	if dd, _ := h.Delegation(d, op(2)); dd.Tokens != 7_600 {
		t.Fatalf("delegation %+v", dd)
	}
	// The slashed amounts come back at completion time.
	bal := h.balance(d)
	h.EndBlock(t0.Add(100 * time.Second))
	h.check()
	if h.balance(d) != bal+10_000+9_500+1_900+4_000 {
		t.Fatalf("balance %d", h.balance(d))
	}

	h.rejects(tx.CodeUnknownValidator, func() error {
		_, err := h.SlashDoubleSign(consKey(0x77), 1, t0)
		return err
	})
	// A second piece of evidence, for the same infraction or another, is
	// refused: the validator is tombstoned, slashed once.
	h.rejects(tx.CodeTombstoned, func() error {
		_, err := h.SlashDoubleSign(consKey(0x12), 100, t0)
		return err
	})
	h.rejects(tx.CodeTombstoned, func() error {
		_, err := h.SlashDoubleSign(consKey(0x12), 150, t0.Add(time.Hour))
		return err
	})
	if v := h.val(op(2)); v.Tokens != 26_600 || !v.Tombstoned || !v.JailedUntil.Equal(t0.Add(time.Second+time.Hour)) {
		t.Fatalf("validator %+v", v)
	}
}
