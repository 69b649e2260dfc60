package staking

import (
	"errors"
	"fmt"
	"math"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// BeginTx starts a transaction of the signer addr: it checks that nonce is
// the account's next one (CheckAndBumpNonce's rule) and that the balance
// can pay fee, then uses the nonce and moves the fee from the balance to
// the community pool. The fee is paid whatever the message then does, so a
// rejected transaction still costs its sender, as in the Cosmos SDK's ante
// handler. A transaction that cannot pay (CodeInsufficientFee) changes
// nothing, not even its nonce: it was not the sender's to make.
func (s *State) BeginTx(addr tx.Address, nonce, fee uint64) error {
	a, ok := s.accounts[addr]
	if !ok {
		return reject(tx.CodeUnknownAccount, "no account %s", addr)
	}
	if a.nonce == math.MaxUint64 {
		return reject(tx.CodeOverflow, "account %s has used every nonce", addr)
	}
	if nonce != a.nonce+1 {
		return reject(tx.CodeBadNonce, "nonce %d, want %d", nonce, a.nonce+1)
	}
	if a.balance < fee {
		return reject(tx.CodeInsufficientFee, "balance %d cannot pay the fee %d", a.balance, fee)
	}
	a.nonce = nonce
	s.rec.touch(accountKey(addr))
	if fee > 0 {
		s.debit(addr, fee)
		// Balances are part of the supply, so the pool cannot overflow.
		s.setSupply(s.supply, mustAdd(s.community, fee))
	}
	return nil
}

// ReadAccount reads addr's account from a store that holds a committed
// state under prefix (such as a snapshot of the store), without loading
// the whole state: what the mempool checks against while FinalizeBlock
// changes the live State.
func ReadAccount(r utxo.KVReader, prefix byte, addr tx.Address) (Account, bool, error) {
	k := append([]byte{prefix}, accountKey(addr)...)
	v, err := r.Get(k)
	if errors.Is(err, utxo.ErrNotFound) {
		return Account{Address: addr}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("staking: reading account %s: %w", addr, err)
	}
	a, err := decodeAccount(v)
	if err != nil {
		return Account{}, false, err
	}
	return Account{Address: addr, Balance: a.balance, Nonce: a.nonce}, true, nil
}
