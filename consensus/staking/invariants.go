package staking

import (
	"fmt"
	"math/bits"
	"slices"
)

// u128 sums amounts without overflow, so a broken state is reported, not
// wrapped around.
type u128 struct{ hi, lo uint64 }

func (a *u128) add(x uint64) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, x, 0)
	a.hi += c
}

// CheckInvariants verifies the bookkeeping; tests call it after every
// operation and Load after reading. It walks the whole state, O(records):
//
//   - supply = balances + bonded tokens + unbonding + synchronizer bonds +
//     unclaimed commission + reward pools + community pool, exactly;
//   - a validator's shares are the sum of its delegations' shares, and its
//     tokens are positive exactly when its shares are;
//   - a reward pool covers every pending reward of its delegations, and is
//     empty once the validator has no shares;
//   - an unjailed validator's operator has at least min_self_stake;
//   - the key indexes match the validators, endorser keys are not
//     operators, unbonding entries are sorted and positive;
//   - a tombstoned validator is jailed; signed-blocks windows belong to
//     unjailed validators, fit downtime_window, and count exactly the
//     validators' missed rounds.
func (s *State) CheckInvariants() error {
	if err := s.params.Validate(); err != nil {
		return err
	}
	var total u128
	for _, a := range s.accounts {
		total.add(a.balance)
	}
	for _, y := range s.synchronizers {
		total.add(y.bond)
	}
	shareSum := make(map[[32]byte]u128, len(s.validators))
	pendingSum := make(map[[32]byte]u128, len(s.validators))
	for del, ds := range s.delegations {
		for op, d := range ds {
			v, ok := s.validators[op]
			if !ok {
				return fmt.Errorf("staking: invariant: delegation of %s to unknown validator %s", del, op)
			}
			p, ok := pendingReward(d.shares, v.acc, d.last)
			if d.shares == 0 || !ok {
				return fmt.Errorf("staking: invariant: delegation %s→%s: zero shares or checkpoint ahead of the validator", del, op)
			}
			sum := shareSum[op]
			sum.add(d.shares)
			shareSum[op] = sum
			ps := pendingSum[op]
			ps.add(p)
			pendingSum[op] = ps
		}
	}
	if len(s.byConsensus) != len(s.validators) || len(s.byEndorser) != len(s.validators) {
		return fmt.Errorf("staking: invariant: key indexes out of step with %d validators", len(s.validators))
	}
	for op, v := range s.validators {
		total.add(v.tokens)
		total.add(v.commission)
		total.add(v.pool)
		switch {
		case v.operator != op || s.byConsensus[v.consensusKey] != op || s.byEndorser[v.endorser] != op:
			return fmt.Errorf("staking: invariant: validator %s: indexes disagree", op)
		case hasKey(s.validators, v.endorser):
			return fmt.Errorf("staking: invariant: validator %s: endorser key is an operator", op)
		case shareSum[op] != u128{lo: v.shares}:
			return fmt.Errorf("staking: invariant: validator %s: %d shares, delegations hold %v", op, v.shares, shareSum[op])
		case (v.tokens == 0) != (v.shares == 0):
			return fmt.Errorf("staking: invariant: validator %s: %d tokens for %d shares", op, v.tokens, v.shares)
		case pendingSum[op].hi != 0 || pendingSum[op].lo > v.pool:
			return fmt.Errorf("staking: invariant: validator %s: pool %d below pending %v", op, v.pool, pendingSum[op])
		case v.shares == 0 && v.pool != 0:
			return fmt.Errorf("staking: invariant: validator %s: pool %d without shares", op, v.pool)
		case v.tombstoned && !v.jailed:
			return fmt.Errorf("staking: invariant: validator %s: tombstoned but not jailed", op)
		}
		if !v.jailed {
			self := uint64(0)
			if d := s.delegation(op, op); d != nil {
				self = v.tokenValue(d.shares)
			}
			if self < s.params.MinSelfStake {
				return fmt.Errorf("staking: invariant: unjailed validator %s has self stake %d", op, self)
			}
		}
	}
	if len(s.ubOrder) != len(s.unbonding) || !slices.IsSortedFunc(s.ubOrder, compareUBKey) {
		return fmt.Errorf("staking: invariant: unbonding order out of step")
	}
	for _, k := range s.ubOrder {
		amount, ok := s.unbonding[k]
		if !ok || amount == 0 {
			return fmt.Errorf("staking: invariant: unbonding entry missing or empty")
		}
		total.add(amount)
	}
	if err := s.checkWindows(); err != nil {
		return err
	}
	for pub, p := range s.reported {
		if p <= 0 || !hasKey(s.byConsensus, pub) {
			return fmt.Errorf("staking: invariant: reported power %d for key %x", p, pub[:])
		}
	}
	total.add(s.community)
	if total != (u128{lo: s.supply}) {
		return fmt.Errorf("staking: invariant: holdings %v ≠ supply %d", total, s.supply)
	}
	return nil
}

func invariantf(format string, args ...any) error {
	return fmt.Errorf("staking: invariant: "+format, args...)
}
