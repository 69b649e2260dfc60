package staking

import (
	"math"
	"testing"

	"github.com/satnode/satnode/consensus/tx"
)

func TestNonce(t *testing.T) {
	h := newHarness(t, testGenesis())
	a := del(1)
	h.ok(h.CheckAndBumpNonce(a, 1))
	h.ok(h.CheckAndBumpNonce(a, 2))
	h.rejects(tx.CodeBadNonce, func() error { return h.CheckAndBumpNonce(a, 2) }) // reused
	h.rejects(tx.CodeBadNonce, func() error { return h.CheckAndBumpNonce(a, 1) }) // older
	h.rejects(tx.CodeBadNonce, func() error { return h.CheckAndBumpNonce(a, 4) }) // gap
	h.rejects(tx.CodeBadNonce, func() error { return h.CheckAndBumpNonce(a, 0) })
	h.ok(h.CheckAndBumpNonce(a, 3))
	if acct, _ := h.Account(a); acct.Nonce != 3 {
		t.Fatalf("nonce %d, want 3", acct.Nonce)
	}

	// A key that never held funds has no account.
	h.rejects(tx.CodeUnknownAccount, func() error { return h.CheckAndBumpNonce(addrOf(0x99), 1) })
	// Endorser keys get an account at genesis, so they can sign Endorse.
	h.ok(h.CheckAndBumpNonce(endorser(1), 1))

	h.accounts[a].nonce = math.MaxUint64
	h.rejects(tx.CodeOverflow, func() error { return h.CheckAndBumpNonce(a, 0) })
}

func TestTransfer(t *testing.T) {
	h := newHarness(t, testGenesis())
	from, to := del(1), addrOf(0x99)
	h.ok(h.Transfer(from, tx.Transfer{To: to, Amount: 40_000}))
	if h.balance(from) != 60_000 || h.balance(to) != 40_000 {
		t.Fatalf("balances %d, %d", h.balance(from), h.balance(to))
	}
	// The receiver now has an account and can sign.
	h.ok(h.CheckAndBumpNonce(to, 1))
	h.ok(h.Transfer(to, tx.Transfer{To: to, Amount: 40_000})) // to self: no change
	if h.balance(to) != 40_000 {
		t.Fatal("self transfer changed the balance")
	}
	h.rejects(tx.CodeInsufficientBalance, func() error { return h.Transfer(from, tx.Transfer{To: to, Amount: 60_001}) })
	h.rejects(tx.CodeInsufficientBalance, func() error { return h.Transfer(addrOf(0x98), tx.Transfer{To: to, Amount: 1}) })
	h.rejects(tx.CodeInvalidAmount, func() error { return h.Transfer(from, tx.Transfer{To: to}) })
	var offCurve tx.Address
	for i := 0; offCurve.Validate() == nil; i++ {
		offCurve[31] = byte(i)
	}
	h.rejects(tx.CodeInvalidAddress, func() error { return h.Transfer(from, tx.Transfer{To: offCurve, Amount: 1}) })

	// A balance can never overflow while the supply does not, but the
	// check is there: forge a state where it would.
	h.accounts[to].balance = math.MaxUint64
	if err := h.Transfer(from, tx.Transfer{To: to, Amount: 1}); tx.CodeOf(err) != tx.CodeOverflow {
		t.Fatalf("got %v, want Overflow", err)
	}
	if h.balance(from) != 60_000 {
		t.Fatal("rejected transfer debited")
	}
}

func TestRegisterSynchronizer(t *testing.T) {
	h := newHarness(t, testGenesis())
	a := del(1)
	h.rejects(tx.CodeInvalidAmount, func() error {
		return h.RegisterSynchronizer(a, tx.RegisterSynchronizer{Bond: 499, Payout: payout(2)})
	})
	h.rejects(tx.CodeInvalidAmount, func() error { return h.RegisterSynchronizer(a, tx.RegisterSynchronizer{Payout: payout(2)}) })
	h.rejects(tx.CodeInsufficientBalance, func() error {
		return h.RegisterSynchronizer(a, tx.RegisterSynchronizer{Bond: 100_001, Payout: payout(2)})
	})
	h.ok(h.RegisterSynchronizer(a, tx.RegisterSynchronizer{Bond: 500, Payout: payout(2)}))
	if !h.IsSynchronizer(a) || h.balance(a) != 99_500 {
		t.Fatal("registration did not bond")
	}
	h.rejects(tx.CodeSynchronizerExists, func() error {
		return h.RegisterSynchronizer(a, tx.RegisterSynchronizer{Bond: 500, Payout: payout(2)})
	})
	got := h.Synchronizers()
	if len(got) != 2 || got[0].Address != a && got[1].Address != a {
		t.Fatalf("synchronizers %+v", got)
	}
	for i := 1; i < len(got); i++ {
		if string(got[i-1].Address[:]) >= string(got[i].Address[:]) {
			t.Fatal("synchronizers not sorted")
		}
	}
	if h.IsSynchronizer(del(2)) {
		t.Fatal("unregistered address is a synchronizer")
	}
}

// TestBeginTx: the fee moves from the balance to the community pool with
// the nonce; a fee the balance cannot pay changes nothing, nonce included.
func TestBeginTx(t *testing.T) {
	h := newHarness(t, testGenesis())
	a := del(1)
	before, _ := h.Account(a)
	pool, supply := h.CommunityPool(), h.Supply()
	h.ok(h.BeginTx(a, 1, 700))
	after, _ := h.Account(a)
	if after.Balance != before.Balance-700 || after.Nonce != 1 || h.CommunityPool() != pool+700 || h.Supply() != supply {
		t.Fatalf("after a fee of 700: %+v (was %+v), pool %d (was %d), supply %d (was %d)", after, before,
			h.CommunityPool(), pool, h.Supply(), supply)
	}
	h.rejects(tx.CodeInsufficientFee, func() error { return h.BeginTx(a, 2, after.Balance+1) })
	if again, _ := h.Account(a); again != after {
		t.Fatalf("a refused fee changed the account: %+v -> %+v", after, again)
	}
	h.rejects(tx.CodeBadNonce, func() error { return h.BeginTx(a, 1, 0) })
}
