package app

import (
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
)

// MempoolNonceWindow is how far ahead of an account's last committed nonce
// CheckTx admits a transaction: nonces last+1 … last+16. A sender may
// keep that many transactions in flight (they may reach a node out of
// order through different peers), and no more: a transaction that could
// only execute after a hole is filled cannot park in the mempool.
const MempoolNonceWindow = 16

// Fee returns the fee the schedule asks of a transaction of size bytes:
// fee_base + fee_per_byte × size, saturating at 2^64−1 (which no balance
// can pay).
func (p Params) Fee(size int) uint64 {
	hi, lo := bits.Mul64(p.FeePerByte, uint64(size))
	sum, carry := bits.Add64(lo, p.FeeBase, 0)
	if hi != 0 || carry != 0 {
		return math.MaxUint64
	}
	return sum
}

// debitOf is what a message takes from its signer's balance besides the
// fee, when it succeeds: the mempool and the proposal checks reserve it so
// that a sender's later fees stay payable.
func debitOf(m tx.Msg) uint64 {
	switch m := m.(type) {
	case tx.Transfer:
		return m.Amount
	case tx.Delegate:
		return m.Amount
	case tx.CreateValidator:
		return m.SelfStake
	case tx.RegisterSynchronizer:
		return m.Bond
	}
	return 0
}

// isRole reports whether a message is a role transaction: the headers and
// endorsements the chain exists for, which proposals put first.
func isRole(m tx.Msg) bool {
	switch m.(type) {
	case tx.SubmitHeaders, tx.Endorse:
		return true
	}
	return false
}

// spender is one account's position within a sequence of transactions
// checked against a committed state: the nonce its next transaction must
// carry, and a lower bound on its balance.
type spender struct {
	next    uint64
	balance uint64
}

// ledger checks a sequence of transactions against committed accounts,
// without executing them: each must carry its signer's next nonce and be
// able to pay its fee from what the ones before it left. A debit (a
// transfer's amount, a bond) is taken off the balance when it fits, so the
// balance stays a lower bound on the real one whatever the message does:
// a message that fails leaves more, and nothing in a block debits a
// balance except a transaction of its own account. Every transaction a
// ledger passes can therefore pay its fee when executed.
type ledger struct {
	params  *Params
	lookup  func(tx.Address) (staking.Account, bool, error)
	signers map[tx.Address]*spender
}

func newLedger(p *Params, lookup func(tx.Address) (staking.Account, bool, error)) *ledger {
	return &ledger{params: p, lookup: lookup, signers: make(map[tx.Address]*spender)}
}

// admit checks one transaction of size bytes and, if it passes, takes its
// nonce, fee and debit. nonceAhead is how far beyond the next nonce it
// may be (0 in proposals, which must be gapless).
func (l *ledger) admit(env *tx.Envelope, m tx.Msg, size int, nonceAhead uint64) (fee uint64, err error) {
	sp, err := l.spender(env.Signer)
	if err != nil {
		return 0, err
	}
	switch {
	case env.Nonce < sp.next:
		return 0, &tx.Error{Code: tx.CodeBadNonce, Msg: fmt.Sprintf("nonce %d is used or taken: the next is %d", env.Nonce, sp.next)}
	case env.Nonce-sp.next > nonceAhead:
		return 0, &tx.Error{Code: tx.CodeNonceGap, Msg: fmt.Sprintf("nonce %d is beyond the next one, %d (window %d)", env.Nonce, sp.next, nonceAhead)}
	}
	fee = l.params.Fee(size)
	if sp.balance < fee {
		return 0, &tx.Error{Code: tx.CodeInsufficientFee, Msg: fmt.Sprintf("fee %d (%d bytes) above the balance %d left after the account's earlier transactions",
			fee, size, sp.balance)}
	}
	sp.balance -= fee
	if d := debitOf(m); d <= sp.balance {
		sp.balance -= d
	}
	sp.next = env.Nonce + 1
	return fee, nil
}

func (l *ledger) spender(addr tx.Address) (*spender, error) {
	if sp, ok := l.signers[addr]; ok {
		return sp, nil
	}
	a, ok, err := l.lookup(addr)
	if err != nil {
		return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
	}
	if !ok {
		return nil, &tx.Error{Code: tx.CodeUnknownAccount, Msg: fmt.Sprintf("no account %s", addr)}
	}
	if a.Nonce == math.MaxUint64 {
		return nil, &tx.Error{Code: tx.CodeOverflow, Msg: fmt.Sprintf("account %s has used every nonce", addr)}
	}
	sp := &spender{next: a.Nonce + 1, balance: a.Balance}
	l.signers[addr] = sp
	return sp, nil
}

// mempool is CheckTx's state: the committed accounts (read from the
// latest view, never from the state FinalizeBlock is changing) and what
// the transactions admitted since the last commit have taken from them.
// Commit clears it, and CometBFT then re-runs CheckTx on every
// transaction still in the mempool, in order, which rebuilds it.
type mempool struct {
	mu sync.Mutex
	// admitted holds, per account, the nonces admitted since the last
	// commit with the fee and debit each reserved.
	admitted map[tx.Address]map[uint64]reservation
}

type reservation struct{ fee, debit uint64 }

func (mp *mempool) reset() {
	mp.mu.Lock()
	mp.admitted = nil
	mp.mu.Unlock()
}

// check admits env if its nonce is one of the account's next
// MempoolNonceWindow, not already admitted, and the balance covers its fee
// and every reservation made before it.
//
// A recheck (after a commit, over the mempool in its order) is stricter: a
// transaction must follow on from the committed nonce or from one admitted
// before it in this pass. A new transaction may arrive ahead of its
// predecessor, which another peer may still be relaying; but one that is
// still waiting for it a block later is dropped, so that accounts cannot
// park transactions that never execute, and so never pay, in the mempool.
func (mp *mempool) check(p *Params, acct staking.Account, env *tx.Envelope, m tx.Msg, size int, recheck bool) (uint64, error) {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	switch {
	case env.Nonce <= acct.Nonce:
		return 0, &tx.Error{Code: tx.CodeBadNonce, Msg: fmt.Sprintf("nonce %d is used: the account's last is %d", env.Nonce, acct.Nonce)}
	case env.Nonce-acct.Nonce > MempoolNonceWindow:
		return 0, &tx.Error{Code: tx.CodeNonceGap, Msg: fmt.Sprintf("nonce %d is more than %d beyond the account's last, %d",
			env.Nonce, MempoolNonceWindow, acct.Nonce)}
	}
	mine := mp.admitted[env.Signer]
	if _, dup := mine[env.Nonce]; dup {
		return 0, &tx.Error{Code: tx.CodeBadNonce, Msg: fmt.Sprintf("nonce %d is taken by a transaction already in the mempool", env.Nonce)}
	}
	if _, prev := mine[env.Nonce-1]; recheck && env.Nonce > acct.Nonce+1 && !prev {
		return 0, &tx.Error{Code: tx.CodeNonceGap, Msg: fmt.Sprintf("nonce %d still waits for nonce %d after a block: dropped",
			env.Nonce, env.Nonce-1)}
	}
	var reserved uint64
	for _, r := range mine {
		reserved = satAdd(reserved, satAdd(r.fee, r.debit))
	}
	fee := p.Fee(size)
	if acct.Balance < reserved || acct.Balance-reserved < fee {
		return 0, &tx.Error{Code: tx.CodeInsufficientFee, Msg: fmt.Sprintf("fee %d (%d bytes) above the balance %d less %d reserved by the account's transactions in the mempool",
			fee, size, acct.Balance, reserved)}
	}
	if mp.admitted == nil {
		mp.admitted = make(map[tx.Address]map[uint64]reservation)
	}
	if mine == nil {
		mine = make(map[uint64]reservation)
		mp.admitted[env.Signer] = mine
	}
	mine[env.Nonce] = reservation{fee: fee, debit: debitOf(m)}
	return fee, nil
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}
