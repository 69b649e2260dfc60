package staking

import (
	"bytes"
	"math"
	"slices"
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
// unbonding entry from it created at or after infractionHeight, and jails
// it until now + double_sign_jail_duration. This is the Cosmos SDK rule:
// stake that began unbonding before the infraction did not back the
// offending vote; stake undelegated at the infraction height itself still
// did (power changes take effect blocks later), so it is included. The
// burn lowers the supply. An unknown key is CodeUnknownValidator and
// changes nothing; the caller logs it. There is no tombstone: each piece of
// evidence slashes again.
func (s *State) SlashDoubleSign(key [32]byte, infractionHeight int64, now time.Time) (burned uint64, err error) {
	op, ok := s.byConsensus[key]
	if !ok {
		return 0, reject(tx.CodeUnknownValidator, "no validator has consensus key %x", key[:])
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
	s.setSupply(s.supply-burned, s.community)
	return burned, nil
}

// RecordEndorsements updates the downtime counters after an endorsement
// round: endorsed and missed are operators of validators that did and did
// not endorse in time. An endorsement resets the counter; a miss raises
// it, and at downtime_max_missed consecutive misses the validator is
// jailed until now + downtime_jail_duration and downtime_slash_bps of its
// bonded tokens is burned (unbonding entries are not touched: a liveness
// fault endangers no one's funds). Jailed validators do not count misses.
// It returns the newly jailed operators in address order. Unknown or
// repeated operators are rejected and change nothing.
func (s *State) RecordEndorsements(endorsed, missed []tx.Address, now time.Time) ([]tx.Address, error) {
	seen := make(map[tx.Address]struct{}, len(endorsed)+len(missed))
	for _, list := range [][]tx.Address{endorsed, missed} {
		for _, op := range list {
			if _, ok := s.validators[op]; !ok {
				return nil, reject(tx.CodeUnknownValidator, "%s operates no validator", op)
			}
			if _, dup := seen[op]; dup {
				return nil, internalf("operator %s listed twice", op)
			}
			seen[op] = struct{}{}
		}
	}
	for _, op := range endorsed {
		if v := s.validators[op]; v.missed != 0 {
			v.missed = 0
			s.touchValidator(v)
		}
	}
	var jailed []tx.Address
	until := jailEnd(now, s.params.DowntimeJailDuration)
	for _, op := range missed {
		v := s.validators[op]
		if v.jailed {
			continue
		}
		v.missed++
		s.touchValidator(v)
		if v.missed < s.params.DowntimeMaxMissed {
			continue
		}
		burned := fractionBps(v.tokens, s.params.DowntimeSlashBps)
		v.tokens -= burned
		s.setSupply(s.supply-burned, s.community)
		s.jail(v, until)
		jailed = append(jailed, op)
	}
	slices.SortFunc(jailed, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
	return jailed, nil
}
