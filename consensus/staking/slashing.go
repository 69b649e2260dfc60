package staking

import (
	"math"
	"time"

	"github.com/satnode/satnode/consensus/tx"
)

// jailEnd is now + d, saturating: a jail that would end after 2262 ends
// never, rather than failing a punishment.
func jailEnd(now time.Time, d time.Duration) int64 {
	if t, ok := addTime(nanos(now), d); ok {
		return t
	}
	return math.MaxInt64
}

// SlashDoubleSign punishes the validator with consensus key key for a
// double sign at CometBFT height infractionHeight (from CometBFT evidence):
// it burns double_sign_slash_bps of its bonded tokens and of every
// unbonding entry from it created at or after infractionHeight, jails it
// (jailed-until now + double_sign_jail_duration) and tombstones it: it can
// never be unjailed. This is the Cosmos SDK rule: stake that began
// unbonding before the infraction did not back the offending vote; stake
// undelegated at the infraction height itself still did (power changes
// take effect blocks later), so it is included. The burn lowers the
// supply.
//
// A validator is slashed once: evidence against a tombstoned validator,
// the same infraction reported again or another one, is refused with
// tx.CodeTombstoned and changes nothing, as x/evidence ignores evidence
// against tombstoned validators. An unknown key is CodeUnknownValidator
// and changes nothing. The caller logs both.
func (s *State) SlashDoubleSign(key [32]byte, infractionHeight int64, now time.Time) (burned uint64, err error) {
	op, ok := s.byConsensus[key]
	if !ok {
		return 0, reject(tx.CodeUnknownValidator, "no validator has consensus key %x", key[:])
	}
	if s.validators[op].tombstoned {
		return 0, reject(tx.CodeTombstoned, "validator %s is already tombstoned", op)
	}
	v := s.validators[op]
	bps := s.params.DoubleSignSlashBps
	burned = fractionBps(v.tokens, bps)
	v.tokens -= burned
	var hit []ubKey
	for _, k := range s.ubOrder {
		if k.validator == op && k.height >= infractionHeight {
			hit = append(hit, k)
		}
	}
	for _, k := range hit {
		amount := s.unbonding[k]
		cut := fractionBps(amount, bps)
		s.setUnbonding(k, amount-cut)
		burned += cut
	}
	s.jail(v, jailEnd(now, s.params.DoubleSignJailDuration))
	v.tombstoned = true
	s.setSupply(s.supply-burned, s.community)
	return burned, nil
}
