package staking

import (
	"bytes"
	"math/bits"
	"slices"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// ValidatorUpdate is one change to CometBFT's validator set: the ed25519
// key and its new power, 0 to remove it. The ABCI layer converts it.
type ValidatorUpdate struct {
	PubKey [32]byte
	Power  int64
}

// ActiveValidator is a member of the active set.
type ActiveValidator struct {
	Operator     tx.Address
	ConsensusKey [32]byte
	Tokens       uint64
	Power        int64
}

// ensureActive recomputes the active set if stake or jail status changed
// since the last computation: the unjailed validators with at least one
// unit of power (tokens ≥ power_reduction; CometBFT removes a validator
// whose power is 0), the max_validators with the most tokens, ties broken
// by operator address bytes ascending.
func (s *State) ensureActive() {
	if s.activeValid {
		return
	}
	s.active = s.active[:0]
	for op, v := range s.validators {
		if v.jailed || v.tokens < s.params.PowerReduction {
			continue
		}
		s.active = append(s.active, ActiveValidator{Operator: op, ConsensusKey: v.consensusKey,
			Tokens: v.tokens, Power: int64(v.tokens / s.params.PowerReduction)})
	}
	slices.SortFunc(s.active, func(a, b ActiveValidator) int {
		switch {
		case a.Tokens > b.Tokens:
			return -1
		case a.Tokens < b.Tokens:
			return 1
		}
		return bytes.Compare(a.Operator[:], b.Operator[:])
	})
	if len(s.active) > int(s.params.MaxValidators) {
		s.active = s.active[:s.params.MaxValidators]
	}
	s.activePower = make(map[tx.Address]int64, len(s.active))
	for _, a := range s.active {
		s.activePower[a.Operator] = a.Power
	}
	s.activeValid = true
}

// ActiveValidators returns the active set in rank order (most tokens
// first), as it stands now; InitChain can report it as the initial set.
func (s *State) ActiveValidators() []ActiveValidator {
	s.ensureActive()
	return slices.Clone(s.active)
}

// Power returns the voting power of op's validator: tokens /
// power_reduction if it is in the active set, else 0. It reflects the state
// now, not what CometBFT was last told: endorsements are weighed by the
// stake at counting time.
func (s *State) Power(op tx.Address) int64 {
	s.ensureActive()
	return s.activePower[op]
}

// TotalPower returns the sum of the active set's powers, at most 2^60 − 1
// (MinPowerReduction).
func (s *State) TotalPower() int64 {
	s.ensureActive()
	var t int64
	for _, a := range s.active {
		t += a.Power
	}
	return t
}

// Endorsed reports whether endorsedPower is at least two thirds of
// totalPower: 3 × endorsed ≥ 2 × total, in 128-bit arithmetic so that no
// input overflows. Nothing is endorsed when the total is not positive, and
// a negative endorsed power endorses nothing.
func Endorsed(endorsedPower, totalPower int64) bool {
	if totalPower <= 0 || endorsedPower < 0 {
		return false
	}
	lh, ll := bits.Mul64(3, uint64(endorsedPower))
	rh, rl := bits.Mul64(2, uint64(totalPower))
	return lh > rh || lh == rh && ll >= rl
}

// EndBlock ends a CometBFT block at block time now: it pays out the
// unbonding entries whose completion time is at or before now, then returns
// the validator updates that take CometBFT from the set it was last told
// of to the current active set: new members and changed powers, and power
// 0 for those that left. Updates are sorted by public key bytes.
func (s *State) EndBlock(now time.Time) []ValidatorUpdate {
	s.matureUnbondings(nanos(now))
	s.ensureActive()
	next := make(map[[32]byte]int64, len(s.active))
	for _, a := range s.active {
		next[a.ConsensusKey] = a.Power
	}
	var updates []ValidatorUpdate
	for pub, p := range next {
		if s.reported[pub] != p {
			updates = append(updates, ValidatorUpdate{PubKey: pub, Power: p})
		}
	}
	for pub := range s.reported {
		if _, ok := next[pub]; !ok {
			updates = append(updates, ValidatorUpdate{PubKey: pub})
		}
	}
	slices.SortFunc(updates, func(a, b ValidatorUpdate) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	for _, u := range updates {
		if u.Power == 0 {
			delete(s.reported, u.PubKey)
		} else {
			s.reported[u.PubKey] = u.Power
		}
		s.rec.touch(powerKey(u.PubKey))
	}
	return updates
}

// matureUnbondings returns to their delegators the entries completing at
// or before now. The entries are sorted by completion time, so this stops
// at the first one still running.
func (s *State) matureUnbondings(now int64) {
	for len(s.ubOrder) > 0 && s.ubOrder[0].completion <= now {
		k := s.ubOrder[0]
		s.credit(k.delegator, s.unbonding[k])
		s.setUnbonding(k, 0)
	}
}
