package staking

import (
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// Shares. A validator's Tokens are owned by its delegations in proportion
// to their shares. Slashing lowers tokens and leaves shares alone, so one
// slash reaches every delegator at once. Every conversion rounds in favour
// of the delegations that stay: a new delegation gets floor(amount ×
// shares / tokens) shares, an undelegation gives up ceil(amount × shares /
// tokens). The token value of a share therefore never falls except by
// slashing, and because slash fractions are below 100%, tokens are
// positive exactly when shares are.

// checkNewValidator applies CreateValidator's rules but the balance, for
// the transaction and for genesis.
func (s *State) checkNewValidator(op tx.Address, m tx.CreateValidator) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	if !validConsensusKey(m.ConsensusKey) {
		return reject(tx.CodeInvalidAddress, "consensus key %x is not a canonical ed25519 point", m.ConsensusKey[:])
	}
	if _, ok := s.validators[op]; ok {
		return reject(tx.CodeValidatorExists, "%s already operates a validator", op)
	}
	switch {
	case hasKey(s.byConsensus, m.ConsensusKey):
		return reject(tx.CodeKeyInUse, "consensus key %x is in use", m.ConsensusKey[:])
	case m.EndorserKey == op:
		return reject(tx.CodeKeyInUse, "endorser key equals the operator")
	case hasKey(s.byEndorser, m.EndorserKey):
		return reject(tx.CodeKeyInUse, "endorser key %s is in use", m.EndorserKey)
	case hasKey(s.validators, m.EndorserKey):
		return reject(tx.CodeKeyInUse, "endorser key %s operates a validator", m.EndorserKey)
	case hasKey(s.byEndorser, op):
		return reject(tx.CodeKeyInUse, "operator %s is another validator's endorser key", op)
	}
	if m.SelfStake < s.params.MinSelfStake {
		return reject(tx.CodeInvalidAmount, "self stake %d below the minimum %d", m.SelfStake, s.params.MinSelfStake)
	}
	return nil
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// addValidator creates a validator whose operator has delegated stake to
// it, and the accounts of operator and endorser key.
func (s *State) addValidator(op tx.Address, ck [32]byte, ek tx.Address, bps uint16, moniker string, stake uint64) {
	v := &validator{operator: op, consensusKey: ck, endorser: ek, commissionBps: bps,
		moniker: moniker, tokens: stake, shares: stake}
	s.validators[op] = v
	s.byConsensus[ck] = op
	s.byEndorser[ek] = op
	s.setDelegation(op, op, &delegation{shares: stake, last: v.acc})
	s.ensureAccount(op)
	s.ensureAccount(ek)
	s.touchValidator(v)
	s.activeValid = false
}

// CreateValidator makes op a validator operator, bonding m.SelfStake (at
// least min_self_stake) from its balance as its own delegation. The
// consensus key must be a canonical ed25519 point; consensus and endorser
// keys must be unused, the endorser key may not be an operator (nor the
// operator someone's endorser key).
func (s *State) CreateValidator(op tx.Address, m tx.CreateValidator) error {
	if err := s.checkNewValidator(op, m); err != nil {
		return err
	}
	if bal := s.balance(op); bal < m.SelfStake {
		return reject(tx.CodeInsufficientBalance, "balance %d below self stake %d", bal, m.SelfStake)
	}
	s.debit(op, m.SelfStake)
	s.addValidator(op, m.ConsensusKey, m.EndorserKey, m.CommissionBps, m.Moniker, m.SelfStake)
	return nil
}

// pending returns what delegation d has earned since its last settlement.
func (s *State) pending(v *validator, d *delegation) (uint64, error) {
	if d == nil {
		return 0, nil
	}
	p, ok := pendingReward(d.shares, v.acc, d.last)
	if !ok || p > v.pool {
		return 0, internalf("delegation reward of validator %s exceeds its pool", v.operator)
	}
	return p, nil
}

// settle pays a delegation's pending reward p to the delegator and moves
// its checkpoint to the validator's current ratio. The fraction of a unit
// that floor() left out stays in the pool (see doc.go, "Rewards").
func (s *State) settle(v *validator, delegator tx.Address, d *delegation, p uint64) {
	v.pool -= p
	s.credit(delegator, p)
	d.last = v.acc
	s.touchValidator(v)
}

// Delegate bonds m.Amount of delegator's balance to the validator operated
// by m.Validator, jailed or not. Rewards pending on an existing delegation
// are paid to the balance first. An amount worth less than one share is
// CodeInvalidAmount.
func (s *State) Delegate(delegator tx.Address, m tx.Delegate) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	v, ok := s.validators[m.Validator]
	if !ok {
		return reject(tx.CodeUnknownValidator, "no validator %s", m.Validator)
	}
	if bal := s.balance(delegator); bal < m.Amount {
		return reject(tx.CodeInsufficientBalance, "balance %d below %d", bal, m.Amount)
	}
	newShares := m.Amount
	if v.shares > 0 {
		if newShares, ok = mulDiv(m.Amount, v.shares, v.tokens); !ok {
			return reject(tx.CodeOverflow, "shares for %d tokens exceed 2^64-1", m.Amount)
		}
		if newShares == 0 {
			return reject(tx.CodeInvalidAmount, "%d tokens are worth less than one share", m.Amount)
		}
	}
	tokens, ok1 := add64(v.tokens, m.Amount)
	shares, ok2 := add64(v.shares, newShares)
	if !ok1 || !ok2 {
		return reject(tx.CodeOverflow, "validator stake would exceed 2^64-1")
	}
	d := s.delegation(delegator, m.Validator)
	p, err := s.pending(v, d)
	if err != nil {
		return err
	}

	s.debit(delegator, m.Amount)
	if d == nil {
		d = &delegation{}
	}
	s.settle(v, delegator, d, p)
	d.shares += newShares // ≤ v.shares, checked above
	v.tokens, v.shares = tokens, shares
	s.setDelegation(delegator, m.Validator, d)
	s.activeValid = false
	return nil
}

// Undelegate starts unbonding m.Amount tokens of delegator's delegation to
// m.Validator: they leave the validator now and return to the balance at
// the first EndBlock at or after now + unbonding_period. Until then they
// can be slashed for a double sign at or before height (SlashDoubleSign).
// Pending rewards are paid first. Undelegating the delegation's whole value
// removes it; an amount above its value is CodeInsufficientStake. Entries
// with the same delegator, validator, height and completion time are one
// entry: they are slashed and paid out together anyway.
//
// If the delegator is the operator and its remaining self-stake is below
// min_self_stake, the validator is jailed (until now, so Unjail works as
// soon as the self-stake is topped up): a validator must keep its
// operator's own stake at risk. When the last share leaves a validator,
// its reward pool holds only rounding dust, which moves to the community
// pool.
func (s *State) Undelegate(delegator tx.Address, m tx.Undelegate, height int64, now time.Time) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	v, ok := s.validators[m.Validator]
	if !ok {
		return reject(tx.CodeUnknownValidator, "no validator %s", m.Validator)
	}
	d := s.delegation(delegator, m.Validator)
	if d == nil {
		return reject(tx.CodeNoDelegation, "%s has no delegation to %s", delegator, m.Validator)
	}
	value := v.tokenValue(d.shares)
	if m.Amount > value {
		return reject(tx.CodeInsufficientStake, "undelegating %d of a delegation worth %d", m.Amount, value)
	}
	sharesOut := d.shares
	if m.Amount < value {
		if sharesOut, ok = mulDivCeil(m.Amount, v.shares, v.tokens); !ok || sharesOut > d.shares {
			return internalf("share conversion of %d tokens out of range", m.Amount)
		}
	}
	if sharesOut < d.shares {
		// Shares left worth less than a token could never be undelegated
		// (amounts are positive): take them too.
		if rest, _ := mulDiv(d.shares-sharesOut, v.tokens-m.Amount, v.shares-sharesOut); rest == 0 {
			sharesOut = d.shares
		}
	}
	tokensOut := m.Amount
	if sharesOut == d.shares {
		// Every share goes: the delegator gets the full value (above the
		// amount by less than one share's worth, or by what was too small
		// to undelegate), which empties the validator if this was its last
		// delegation.
		tokensOut = value
	}
	p, err := s.pending(v, d)
	if err != nil {
		return err
	}
	completion, ok := addTime(nanos(now), s.params.UnbondingPeriod)
	if !ok {
		return reject(tx.CodeOverflow, "completion time out of range")
	}
	k := ubKey{completion: completion, delegator: delegator, validator: m.Validator, height: height}
	entry, ok := add64(s.unbonding[k], tokensOut)
	if !ok {
		return reject(tx.CodeOverflow, "unbonding entry would exceed 2^64-1")
	}

	s.settle(v, delegator, d, p)
	d.shares -= sharesOut
	v.tokens -= tokensOut
	v.shares -= sharesOut
	s.setDelegation(delegator, m.Validator, d)
	s.setUnbonding(k, entry)
	if v.shares == 0 && v.pool > 0 {
		s.setSupply(s.supply, mustAdd(s.community, v.pool))
		v.pool = 0
	}
	if delegator == v.operator && !v.jailed && v.tokenValue(d.shares) < s.params.MinSelfStake {
		s.jail(v, nanos(now))
	}
	s.activeValid = false
	return nil
}

// jail takes v out of the active set until at least until (nanoseconds)
// and clears its signed-blocks window, as x/slashing does: a jailed
// validator takes no attendance, and comes back with a clean window.
func (s *State) jail(v *validator, until int64) {
	v.jailed = true
	v.jailedUntil = max(v.jailedUntil, until)
	s.resetWindow(v)
	s.touchValidator(v)
	s.activeValid = false
}

// Unjail releases op's validator: it must be jailed, not tombstoned, its
// jail time over (now ≥ jailed-until), and its operator's self-stake at
// least min_self_stake.
func (s *State) Unjail(op tx.Address, now time.Time) error {
	v, ok := s.validators[op]
	if !ok {
		return reject(tx.CodeUnknownValidator, "%s operates no validator", op)
	}
	if !v.jailed {
		return reject(tx.CodeNotJailed, "validator %s is not jailed", op)
	}
	if v.tombstoned {
		return reject(tx.CodeTombstoned, "validator %s double-signed and is tombstoned: it can never be unjailed", op)
	}
	if nanos(now) < v.jailedUntil {
		return reject(tx.CodeJailed, "validator %s is jailed until %s", op, fromNanos(v.jailedUntil))
	}
	self := uint64(0)
	if d := s.delegation(op, op); d != nil {
		self = v.tokenValue(d.shares)
	}
	if self < s.params.MinSelfStake {
		return reject(tx.CodeInsufficientStake, "self stake %d below the minimum %d", self, s.params.MinSelfStake)
	}
	v.jailed = false
	s.touchValidator(v)
	s.activeValid = false
	return nil
}

// WithdrawRewards pays delegator's pending reward from its delegation to
// m.Validator and, if delegator is the operator, the unclaimed commission.
// It returns the amount paid; a second call with nothing new pays 0.
func (s *State) WithdrawRewards(delegator tx.Address, m tx.WithdrawRewards) (uint64, error) {
	if err := m.ValidateBasic(); err != nil {
		return 0, err
	}
	v, ok := s.validators[m.Validator]
	if !ok {
		return 0, reject(tx.CodeUnknownValidator, "no validator %s", m.Validator)
	}
	d := s.delegation(delegator, m.Validator)
	isOp := delegator == v.operator
	if d == nil && !isOp {
		return 0, reject(tx.CodeNoDelegation, "%s has no delegation to %s", delegator, m.Validator)
	}
	p, err := s.pending(v, d)
	if err != nil {
		return 0, err
	}
	total := p
	if isOp {
		if total, ok = add64(total, v.commission); !ok {
			return 0, internalf("rewards of %s exceed 2^64-1", delegator)
		}
	}
	if d != nil {
		s.settle(v, delegator, d, p)
		s.setDelegation(delegator, m.Validator, d)
	}
	if isOp && v.commission > 0 {
		s.credit(delegator, v.commission)
		v.commission = 0
		s.touchValidator(v)
	}
	return total, nil
}
