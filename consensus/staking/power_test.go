package staking

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

func TestEndorsedThreshold(t *testing.T) {
	for _, c := range []struct {
		endorsed, total int64
		want            bool
	}{
		{66, 100, false}, // 198 < 200
		{67, 100, true},  // 201 ≥ 200
		{2, 3, true},     // exactly two thirds
		{1, 2, false},
		{0, 0, false},
		{0, 1, false},
		{-1, 1, false},
		{1, -1, false},
		{math.MaxInt64, math.MaxInt64, true}, // no overflow
		{math.MaxInt64/3*2 + 1, math.MaxInt64, true},
		{math.MaxInt64 / 3 * 2, math.MaxInt64, false},
	} {
		if got := Endorsed(c.endorsed, c.total); got != c.want {
			t.Errorf("Endorsed(%d, %d) = %v, want %v", c.endorsed, c.total, got, c.want)
		}
	}
}

// twoValidators has A with 66% and B with 34% of the power.
func twoValidators() Genesis {
	g := testGenesis()
	g.Validators = []GenesisValidator{genValidator(1, 6600), genValidator(2, 3400)}
	return g
}

func TestEndorsedByStake(t *testing.T) {
	h := newHarness(t, twoValidators())
	a, b := op(1), op(2)
	if h.Power(a) != 66 || h.Power(b) != 34 || h.TotalPower() != 100 {
		t.Fatalf("powers %d %d of %d", h.Power(a), h.Power(b), h.TotalPower())
	}
	if Endorsed(h.Power(a), h.TotalPower()) {
		t.Fatal("66% endorsed")
	}
	if !Endorsed(h.Power(a)+h.Power(b), h.TotalPower()) {
		t.Fatal("100% not endorsed")
	}
	// One more unit of power for A: 67 of 101 is still short (201 < 202).
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: a, Amount: 100}))
	if h.Power(a) != 67 || h.TotalPower() != 101 || Endorsed(h.Power(a), h.TotalPower()) {
		t.Fatalf("%d of %d", h.Power(a), h.TotalPower())
	}
	// Another: 68 of 102 is exactly two thirds.
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: a, Amount: 100}))
	if !Endorsed(h.Power(a), h.TotalPower()) {
		t.Fatalf("%d of %d not endorsed", h.Power(a), h.TotalPower())
	}
	// Jailing A for downtime (three missed rounds of six) burns 1% of its
	// stake: once out of jail, its lower power undoes the outcome.
	for i := 0; i < 3; i++ {
		h.round(t0, b)
	}
	if h.Power(a) != 0 {
		t.Fatal("jailed validator has power")
	}
	h.ok(h.Unjail(a, t0.Add(10*time.Minute)))
	if h.Power(a) != 67 || Endorsed(h.Power(a), h.TotalPower()) { // 6800 − 1% = 6732
		t.Fatalf("after slash %d of %d", h.Power(a), h.TotalPower())
	}
}

func TestEndBlockUpdates(t *testing.T) {
	h := newHarness(t, testGenesis())
	first := h.EndBlock(t0)
	if len(first) != 3 {
		t.Fatalf("initial updates %+v", first)
	}
	want := map[[32]byte]int64{consKey(0x11): 100, consKey(0x12): 200, consKey(0x13): 300}
	for _, u := range first {
		if want[u.PubKey] != u.Power {
			t.Fatalf("update %+v", u)
		}
	}
	checkSorted(t, first)
	if u := h.EndBlock(t0); len(u) != 0 {
		t.Fatalf("updates without changes: %+v", u)
	}
	h.check()

	// Stake that does not change the integer power sends nothing.
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: op(1), Amount: 99}))
	if u := h.EndBlock(t0); len(u) != 0 {
		t.Fatalf("updates %+v", u)
	}
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: op(1), Amount: 1}))
	if u := h.EndBlock(t0); len(u) != 1 || u[0] != (ValidatorUpdate{consKey(0x11), 101}) {
		t.Fatalf("updates %+v", u)
	}

	// Attendance over a window of 6 rounds, jailed above 2 missed. A
	// fourth validator waits outside the set of three.
	h.ok(h.CreateValidator(del(3), createMsg(4, 5000)))
	if u := h.EndBlock(t0); len(u) != 0 {
		t.Fatalf("a fourth validator entered a set of three: %+v", u)
	}
	now := t0.Add(time.Hour)
	h.round(now, op(1), op(2))        // op 3 misses 1
	h.round(now, op(1), op(2), op(3)) // signs
	if jailed := h.round(now, op(1), op(2), del(3)); len(jailed) != 0 {
		t.Fatal("jailed after two misses") // del 3's validator is not counted: not active
	}
	jailed := h.round(now, op(2))
	if len(jailed) != 1 || jailed[0] != op(3) || h.Power(op(3)) != 0 {
		t.Fatalf("jailed %v", jailed)
	}
	// A jailed validator leaves with a power-0 update and a waiting one
	// takes its place; updates come sorted by key.
	u := h.EndBlock(now)
	wantU := []ValidatorUpdate{{consKey(0x13), 0}, {consKey(0x14), 50}}
	slices.SortFunc(wantU, func(a, b ValidatorUpdate) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	if !slices.Equal(u, wantU) {
		t.Fatalf("updates %+v, want %+v", u, wantU)
	}
	// Downtime slashed 1%: 30,000 → 29,700, and cleared the window.
	if v := h.val(op(3)); v.Tokens != 29_700 || v.Missed != 0 || !v.JailedUntil.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("validator %+v", v)
	}
	if v := h.val(op(1)); v.Missed != 1 {
		t.Fatalf("op 1 missed %d", v.Missed)
	}
	if v := h.val(del(3)); v.Missed != 0 {
		t.Fatalf("the inactive validator missed %d", v.Missed)
	}
	// Back from jail, the slashed validator returns with less power and
	// pushes op 4 out again.
	h.ok(h.Unjail(op(3), now.Add(10*time.Minute)))
	u = h.EndBlock(now.Add(10 * time.Minute))
	wantU = []ValidatorUpdate{{consKey(0x13), 297}, {consKey(0x14), 0}}
	slices.SortFunc(wantU, func(a, b ValidatorUpdate) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	if !slices.Equal(u, wantU) {
		t.Fatalf("updates %+v, want %+v", u, wantU)
	}
	// A double signer leaves for good.
	_, err := h.SlashDoubleSign(consKey(0x12), 1, now)
	h.ok(err)
	if u := h.EndBlock(now.Add(10 * time.Minute)); len(u) != 2 || u[0].Power+u[1].Power != 50 {
		t.Fatalf("updates %+v", u) // op 2 leaves (0), op 4 returns (50)
	}
	h.rejects(tx.CodeUnknownValidator, func() error {
		_, err := h.RecordAttendance([]tx.Address{del(1)}, t0)
		return err
	})
	h.rejects(tx.CodeInternal, func() error {
		_, err := h.RecordAttendance([]tx.Address{op(1), op(1)}, t0)
		return err
	})
}

func checkSorted(t *testing.T, u []ValidatorUpdate) {
	t.Helper()
	if !slices.IsSortedFunc(u, func(a, b ValidatorUpdate) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) }) {
		t.Fatalf("updates not sorted by key: %+v", u)
	}
}

func TestActiveSetTies(t *testing.T) {
	g := testGenesis()
	g.Validators = []GenesisValidator{
		genValidator(1, 5000), genValidator(2, 4000), genValidator(3, 4000),
		genValidator(4, 4000), genValidator(5, 1099),
	}
	h := newHarness(t, g)
	tied := []tx.Address{op(2), op(3), op(4)}
	slices.SortFunc(tied, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
	want := []tx.Address{op(1), tied[0], tied[1]}
	var got []tx.Address
	for _, a := range h.ActiveValidators() {
		got = append(got, a.Operator)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("active %v, want %v", got, want)
	}
	if h.Power(tied[2]) != 0 || h.Power(op(5)) != 0 || h.TotalPower() != 130 {
		t.Fatal("validators outside the set have power")
	}
	u := h.EndBlock(t0)
	checkSorted(t, u)
	if len(u) != 3 {
		t.Fatalf("updates %+v", u)
	}
	// The third of the tie gains one token: it now outranks the other two
	// and the last of them leaves.
	h.ok(h.Delegate(del(1), tx.Delegate{Validator: tied[2], Amount: 1}))
	u = h.EndBlock(t0)
	if len(u) != 2 {
		t.Fatalf("updates %+v", u)
	}
	checkSorted(t, u)
	for _, x := range u {
		v, _ := h.ValidatorByConsensusKey(x.PubKey)
		switch v.Operator {
		case tied[2]:
			if x.Power != 40 {
				t.Fatalf("entering %+v", x)
			}
		case tied[1]:
			if x.Power != 0 {
				t.Fatalf("leaving %+v", x)
			}
		default:
			t.Fatalf("unexpected update %+v", x)
		}
	}
	// Below one unit of power a validator is not active even with room.
	g.Params.MaxValidators = 10
	g.Validators[4].SelfStake = 1000
	g.Params.PowerReduction = 1001
	h2 := newHarness(t, g)
	if h2.Power(op(5)) != 0 || len(h2.ActiveValidators()) != 4 {
		t.Fatal("validator below power_reduction is active")
	}
}
