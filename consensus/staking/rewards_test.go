package staking

import (
	"errors"
	"math"
	"testing"

	"github.com/satnode/satnode/consensus/tx"
)

func TestRewardSchedule(t *testing.T) {
	p := testParams() // 5000, halving every 10 blocks
	for _, c := range []struct {
		h    int32
		want uint64
	}{
		{0, 5000}, {9, 5000}, {10, 2500}, {19, 2500}, {20, 1250}, {29, 1250}, {30, 625},
		{40, 312}, {120, 1}, {129, 1}, {130, 0}, {-1, 0}, {math.MaxInt32, 0},
	} {
		if got := p.RewardAt(c.h); got != c.want {
			t.Errorf("RewardAt(%d) = %d, want %d", c.h, got, c.want)
		}
	}
	p.InitialReward = math.MaxUint64
	p.HalvingInterval = 210_000
	for _, c := range []struct {
		h    int32
		want uint64
	}{
		{209_999, math.MaxUint64}, {210_000, math.MaxUint64 >> 1},
		{63*210_000 - 1, 3}, {63 * 210_000, 1}, {64*210_000 - 1, 1}, {64 * 210_000, 0},
	} {
		if got := p.RewardAt(c.h); got != c.want {
			t.Errorf("RewardAt(%d) = %d, want %d", c.h, got, c.want)
		}
	}
}

func TestRewardSplit(t *testing.T) {
	h := newHarness(t, testGenesis())
	supply := h.Supply()
	// Height 0: 5000; 10% (500) to the synchronizer's payout address; 4500
	// split between op 1 (10,000 tokens) and op 3 (30,000): 1125 and 3375.
	// Commission 10%, rounded down: 112 and 337.
	p := h.pay(0, op(1), op(3))
	if p.Minted != 5000 || p.Synchronizer != 500 || p.Community != 0 || len(p.Validators) != 2 ||
		p.Validators[0] != (ValidatorPayout{op(1), 112, 1013, false}) || p.Validators[1] != (ValidatorPayout{op(3), 337, 3038, false}) {
		t.Fatalf("payout %+v", p)
	}
	if h.Supply() != supply+5000 || h.balance(payout(1)) != 500 {
		t.Fatalf("supply %d, payout balance %d", h.Supply(), h.balance(payout(1)))
	}
	if v := h.val(op(2)); v.Commission != 0 || v.RewardPool != 0 {
		t.Fatal("a validator that did not endorse was paid")
	}
	bal := h.balance(op(1))
	if n := h.withdraw(op(1), op(1)); n != 1125 || h.balance(op(1)) != bal+1125 {
		t.Fatalf("op 1 withdrew %d", n)
	}
	if n := h.withdraw(op(1), op(1)); n != 0 {
		t.Fatalf("second withdrawal paid %d", n)
	}
	// 3038 over 30,000 shares is 0.10126666… per share, stored rounded
	// down; the delegation's claim rounds down to 3037 and 1 stays in the
	// pool.
	if n := h.withdraw(op(3), op(3)); n != 337+3037 {
		t.Fatalf("op 3 withdrew %d", n)
	}
	if v := h.val(op(3)); v.RewardPool != 1 || v.Commission != 0 {
		t.Fatalf("op 3 %+v", v)
	}
	if n := h.withdraw(op(3), op(3)); n != 0 {
		t.Fatalf("second withdrawal paid %d", n)
	}

	// An uneven split: the remainder goes to the community pool.
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: op(1), Amount: 1}))
	p = h.pay(10, op(3), op(2), op(1)) // 2500: 250, then 2250 over 60,001 tokens
	if p.Validators[0].Operator != op(3) || p.Validators[2].Operator != op(1) {
		t.Fatal("payout not in the order given")
	}
	for i, want := range []uint64{1124, 749, 375} {
		if got := p.Validators[i].Commission + p.Validators[i].Delegators; got != want {
			t.Fatalf("validator %d got %d, want %d", i, got, want)
		}
	}
	if p.Community != 2 || h.CommunityPool() != 2 {
		t.Fatalf("community %d / %d", p.Community, h.CommunityPool())
	}

	// With no endorser stake, the validators' share has nowhere to go.
	p = h.pay(20)
	if p.Synchronizer != 125 || p.Community != 1125 || h.CommunityPool() != 1127 {
		t.Fatalf("payout %+v", p)
	}

	// Rejections.
	h.rejects(tx.CodeUnregisteredSynchronizer, func() error {
		_, err := h.PayBitcoinBlockReward(0, del(1), []tx.Address{op(1)}, nil)
		return err
	})
	h.rejects(tx.CodeUnknownValidator, func() error {
		_, err := h.PayBitcoinBlockReward(0, syncer(1), []tx.Address{op(1)}, []tx.Address{del(1)})
		return err
	})
	h.rejects(tx.CodeInternal, func() error {
		_, err := h.PayBitcoinBlockReward(0, syncer(1), []tx.Address{op(1), op(2), op(1)}, nil)
		return err
	})
	h.rejects(tx.CodeInternal, func() error {
		_, err := h.PayBitcoinBlockReward(0, syncer(1), []tx.Address{op(1)}, []tx.Address{op(2), op(1)})
		return err
	})
	h.rejects(tx.CodeInternal, func() error {
		_, err := h.PayBitcoinBlockReward(-1, syncer(1), []tx.Address{op(1)}, nil)
		return err
	})
}

// TestRewardOverflow: genesis refuses a schedule that could take the
// supply past 2^64-1; a state that got there anyway (built directly here)
// refuses to mint rather than wrap around.
func TestRewardOverflow(t *testing.T) {
	g := testGenesis()
	mint, _ := g.Params.MaxMinted()
	g.Accounts[0].Balance = math.MaxUint64 - h0Supply(g) + g.Accounts[0].Balance - mint + 1
	if _, err := InitGenesis(g, testPrefix); !errors.Is(err, ErrInvalidGenesis) {
		t.Fatalf("genesis one unit short of overflow: %v", err)
	}
	g.Accounts[0].Balance--
	h := newHarness(t, g)
	// Fill the supply to 4999 short of 2^64 behind the schedule's back.
	extra := math.MaxUint64 - 4999 - h.Supply()
	h.credit(op(1), extra)
	h.setSupply(h.Supply()+extra, h.CommunityPool())
	h.check()
	h.rejects(tx.CodeOverflow, func() error {
		_, err := h.PayBitcoinBlockReward(0, syncer(1), []tx.Address{op(1)}, nil)
		return err
	})
	h.pay(10, op(1)) // 2500 still fits
}

func h0Supply(g Genesis) uint64 {
	var s uint64
	for _, a := range g.Accounts {
		s += a.Balance
	}
	for _, v := range g.Validators {
		s += v.SelfStake
	}
	for _, y := range g.Synchronizers {
		s += y.Bond
	}
	return s
}

// Two delegators joining at different times earn exactly the blocks they
// were delegated for.
func TestRewardsOverTime(t *testing.T) {
	g := testGenesis()
	g.Validators = g.Validators[:1] // op 1 alone, 10,000 self-stake
	h := newHarness(t, g)
	o, a, b := op(1), del(1), del(2)

	h.pay(0, o) // 4500 to op 1: 450 commission, 4050 over 10,000 shares
	h.ok(h.Delegate(a, tx.Delegate{Validator: o, Amount: 10_000}))
	if d, _ := h.Delegation(a, o); d.PendingReward != 0 || d.Shares != 10_000 {
		t.Fatalf("new delegation %+v", d)
	}
	h.pay(1, o) // 4050 over 20,000 shares: 2025 each
	h.ok(h.Delegate(b, tx.Delegate{Validator: o, Amount: 20_000}))
	h.pay(2, o) // 4050 over 40,000 shares: 1012.5, 2025, 1012.5

	want := map[tx.Address]uint64{a: 3037, b: 2025, o: 7087}
	for who, w := range want {
		if d, _ := h.Delegation(who, o); d.PendingReward != w {
			t.Fatalf("%s pending %d, want %d", who, d.PendingReward, w)
		}
	}
	// Changing a delegation settles it: a's pending reward is paid out
	// when it delegates more.
	balA := h.balance(a)
	h.ok(h.Delegate(a, tx.Delegate{Validator: o, Amount: 1000}))
	if h.balance(a) != balA-1000+3037 {
		t.Fatalf("a's balance %d, want %d", h.balance(a), balA-1000+3037)
	}
	if n := h.withdraw(b, o); n != 2025 {
		t.Fatalf("b withdrew %d", n)
	}
	if n := h.withdraw(b, o); n != 0 {
		t.Fatalf("b withdrew %d twice", n)
	}
	if n := h.withdraw(o, o); n != 7087+3*450 {
		t.Fatalf("op withdrew %d", n)
	}
	// 3 × 4050 credited, 3037 + 2025 + 7087 paid: 1 unit of dust stays in
	// the pool until the last share leaves.
	if v := h.val(o); v.RewardPool != 1 {
		t.Fatalf("pool %d", v.RewardPool)
	}
	// Height 3: 4050 over 41,000 shares (a has 11,000 now): 1086.58…,
	// 1975.60…, 987.80… are paid below, rounded down; 2 more units of dust.
	h.pay(3, o) // pending again, paid out by the undelegations below
	und := func(who tx.Address) {
		d, _ := h.Delegation(who, o)
		bal := h.balance(who)
		h.ok(h.Undelegate(who, tx.Undelegate{Validator: o, Amount: d.Tokens}, 5, t0))
		if d.PendingReward == 0 || h.balance(who) != bal+d.PendingReward {
			t.Fatalf("undelegating did not pay the pending %d", d.PendingReward)
		}
	}
	und(a)
	und(b)
	if h.CommunityPool() != 0 {
		t.Fatal("dust swept while shares remain")
	}
	und(o)
	if v := h.val(o); v.RewardPool != 0 || v.Shares != 0 || h.CommunityPool() != 3 {
		t.Fatalf("dust not swept: pool %d, community %d", v.RewardPool, h.CommunityPool())
	}
}

// With 10^18 shares or more, the accumulator's own rounding is a unit or
// more per block; it goes to the community pool at once.
func TestAccumulatorRounding(t *testing.T) {
	g := testGenesis()
	g.Params.InitialReward = 5001
	g.Params.PowerReduction = 1_000_000
	g.Validators = []GenesisValidator{genValidator(1, 3_000_000_000_000_000_000)}
	h := newHarness(t, g)
	// 5001: 500 to the synchronizer, 4501 to op 1, 450 commission, 4051 to
	// 3e18 shares: 1350 per 10^18 shares, 4050 credited, 1 left over.
	p := h.pay(0, op(1))
	if p.Validators[0].Delegators != 4050 || p.Community != 1 {
		t.Fatalf("payout %+v", p)
	}
	if d, _ := h.Delegation(op(1), op(1)); d.PendingReward != 4050 {
		t.Fatalf("pending %d", d.PendingReward)
	}
}

// TestLateAndIneligible: a late endorser is paid late_reward_bps of its
// pro-rata share and the cut goes to the community pool; a jailed
// endorser is paid nothing and does not dilute the others.
func TestLateAndIneligible(t *testing.T) {
	h := newHarness(t, testGenesis())
	// Height 0: 5000, 500 to the synchronizer; 4500 over op 1 (10,000
	// tokens, on time) and op 3 (30,000, late): shares 1125 and 3375; op 3
	// is paid 50%, 1687, and 1688 goes to the community pool.
	p, err := h.PayBitcoinBlockReward(0, syncer(1), []tx.Address{op(1)}, []tx.Address{op(3)})
	h.ok(err)
	want := []ValidatorPayout{{op(1), 112, 1013, false}, {op(3), 168, 1519, true}}
	if p.Synchronizer != 500 || len(p.Validators) != 2 || p.Validators[0] != want[0] || p.Validators[1] != want[1] ||
		p.Community != 1688 || h.CommunityPool() != 1688 {
		t.Fatalf("payout %+v", p)
	}
	// Jail op 2 (three missed rounds); its endorsement earns nothing and
	// op 1 takes the whole 4500.
	for i := 0; i < 3; i++ {
		h.round(t0, op(1), op(3))
	}
	if h.Power(op(2)) != 0 {
		t.Fatal("op 2 not jailed")
	}
	before := h.val(op(2))
	p, err = h.PayBitcoinBlockReward(1, syncer(1), []tx.Address{op(2), op(1)}, nil)
	h.ok(err)
	if len(p.Validators) != 1 || p.Validators[0] != (ValidatorPayout{op(1), 450, 4050, false}) || p.Community != 0 {
		t.Fatalf("payout %+v", p)
	}
	if after := h.val(op(2)); after.Commission != before.Commission || after.RewardPool != before.RewardPool {
		t.Fatal("a jailed endorser was paid")
	}
	// Nobody eligible: the validators' part goes to the community pool.
	p, err = h.PayBitcoinBlockReward(2, syncer(1), nil, []tx.Address{op(2)})
	h.ok(err)
	if len(p.Validators) != 0 || p.Community != 4500 {
		t.Fatalf("payout %+v", p)
	}
}
