package staking

import (
	"github.com/satnode/satnode/consensus/tx"
)

// CheckAndBumpNonce checks that nonce is the account's last nonce plus one
// and records it. Nonces start at 1 and have no gaps: a reused nonce (a
// replay) and a skipped one (a transaction that would wait for a missing
// predecessor) are both CodeBadNonce, so a transaction can be included only
// in its sender's order. The signer must have an account (CodeUnknownAccount):
// accounts exist once they have held funds, or were named at genesis or as
// a validator's operator or endorser key, so a fresh key cannot make the
// state grow by signing transactions that do nothing.
//
// The caller decides whether a transaction whose message is then rejected
// keeps its nonce bump (Cosmos SDK does; it makes the rejection final).
func (s *State) CheckAndBumpNonce(addr tx.Address, nonce uint64) error {
	return s.BeginTx(addr, nonce, 0)
}

func (s *State) balance(addr tx.Address) uint64 {
	if a, ok := s.accounts[addr]; ok {
		return a.balance
	}
	return 0
}

// Transfer moves m.Amount from from's balance to m.To, creating m.To's
// account.
func (s *State) Transfer(from tx.Address, m tx.Transfer) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	if bal := s.balance(from); bal < m.Amount {
		return reject(tx.CodeInsufficientBalance, "balance %d below %d", bal, m.Amount)
	}
	if from != m.To {
		if _, ok := add64(s.balance(m.To), m.Amount); !ok {
			return reject(tx.CodeOverflow, "balance of %s would exceed 2^64-1", m.To)
		}
	}
	s.debit(from, m.Amount)
	s.credit(m.To, m.Amount)
	return nil
}

// checkNewSynchronizer applies RegisterSynchronizer's rules but the
// balance, for the transaction and for genesis.
func (s *State) checkNewSynchronizer(addr tx.Address, m tx.RegisterSynchronizer) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	if _, ok := s.synchronizers[addr]; ok {
		return reject(tx.CodeSynchronizerExists, "%s is already a synchronizer", addr)
	}
	if m.Bond < s.params.MinSynchronizerBond {
		return reject(tx.CodeInvalidAmount, "bond %d below the minimum %d", m.Bond, s.params.MinSynchronizerBond)
	}
	return nil
}

// RegisterSynchronizer makes addr a synchronizer, moving m.Bond from its
// balance into the bond. Registration is once per address and bonds are not
// returned or slashed: neither is specified yet.
func (s *State) RegisterSynchronizer(addr tx.Address, m tx.RegisterSynchronizer) error {
	if err := s.checkNewSynchronizer(addr, m); err != nil {
		return err
	}
	if bal := s.balance(addr); bal < m.Bond {
		return reject(tx.CodeInsufficientBalance, "balance %d below bond %d", bal, m.Bond)
	}
	s.debit(addr, m.Bond)
	s.synchronizers[addr] = &synchronizer{bond: m.Bond, payout: m.Payout}
	s.rec.touch(synchronizerKey(addr))
	return nil
}
