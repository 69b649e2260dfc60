package staking

import (
	"math/bits"
	"time"
)

// Params are the staking rules, fixed at genesis. Every node must use the
// same values: they decide balances, powers and validator updates.
type Params struct {
	// MaxValidators is the size of the active set (1..MaxActiveSet).
	MaxValidators uint32
	// UnbondingPeriod is how long undelegated stake stays slashable before
	// it returns to the balance, measured in CometBFT block time (> 0).
	UnbondingPeriod time.Duration
	// MinSelfStake is the least an operator must keep delegated to its own
	// validator to create it and to stay or get out of jail (> 0).
	MinSelfStake uint64
	// MinSynchronizerBond is the least bond RegisterSynchronizer takes (> 0).
	MinSynchronizerBond uint64
	// PowerReduction is the number of tokens per unit of CometBFT voting
	// power (≥ MinPowerReduction).
	PowerReduction uint64
	// InitialReward is minted for each canonical Bitcoin block below the
	// first halving.
	InitialReward uint64
	// HalvingInterval is the number of Bitcoin blocks between halvings
	// (> 0): the reward at height h is InitialReward >> (h / HalvingInterval).
	HalvingInterval uint32
	// SynchronizerShareBps is the synchronizer's share of each block
	// reward, in basis points (≤ 10000).
	SynchronizerShareBps uint16
	// DoubleSignSlashBps is the fraction of stake burned for double
	// signing, in basis points (< 10000).
	DoubleSignSlashBps uint16
	// DoubleSignJailDuration sets a double signer's jailed-until: now +
	// this (≥ 0). A double signer is also tombstoned, so it stays jailed
	// after that time too; the value only shows when the jail began.
	DoubleSignJailDuration time.Duration
	// DowntimeWindow is the number of attendance rounds (canonical Bitcoin
	// blocks) over which missed endorsements are counted, like x/slashing's
	// signed-blocks window (1..MaxDowntimeWindow).
	DowntimeWindow uint32
	// DowntimeMaxMissed: a validator that missed more than this many of
	// the last DowntimeWindow rounds is jailed (< DowntimeWindow).
	DowntimeMaxMissed uint32
	// DowntimeJailDuration is how long a validator jailed for downtime stays
	// jailed (≥ 0).
	DowntimeJailDuration time.Duration
	// DowntimeSlashBps is the fraction of stake burned for downtime, in
	// basis points (< 10000, may be 0).
	DowntimeSlashBps uint16
	// LateRewardBps is the part of its on-time share a late endorser is
	// paid, in basis points (≤ 10000): an endorsement made after the block
	// became canonical but within the attendance window. The rest goes to
	// the community pool.
	LateRewardBps uint16
}

const (
	// MaxActiveSet bounds MaxValidators, and so the size of one EndBlock's
	// validator updates.
	MaxActiveSet = 10000
	// MinPowerReduction keeps the total voting power within CometBFT's
	// limit (MaxTotalVotingPower = 2^63/8 = 2^60) whatever the supply:
	// (2^64 − 1) / 16 < 2^60.
	MinPowerReduction = 16
	// MaxDowntimeWindow bounds DowntimeWindow, and so each validator's
	// attendance bitmap (window / 8 bytes).
	MaxDowntimeWindow = 1 << 16
)

// Validate checks every range documented on the fields. Slash fractions
// must stay below 100% so that a slashed validator keeps at least one
// token per outstanding share holder: the share arithmetic relies on
// tokens being positive while shares are.
func (p Params) Validate() error {
	switch {
	case p.MaxValidators == 0 || p.MaxValidators > MaxActiveSet:
		return paramsf("max_validators %d not in 1..%d", p.MaxValidators, MaxActiveSet)
	case p.UnbondingPeriod <= 0:
		return paramsf("unbonding_period %v must be positive", p.UnbondingPeriod)
	case p.MinSelfStake == 0:
		return paramsf("min_self_stake must be positive")
	case p.MinSynchronizerBond == 0:
		return paramsf("min_synchronizer_bond must be positive")
	case p.PowerReduction < MinPowerReduction:
		return paramsf("power_reduction %d below %d", p.PowerReduction, MinPowerReduction)
	case p.HalvingInterval == 0:
		return paramsf("halving_interval must be positive")
	case p.SynchronizerShareBps > bpsDenominator:
		return paramsf("synchronizer_share_bps %d above %d", p.SynchronizerShareBps, bpsDenominator)
	case p.DoubleSignSlashBps >= bpsDenominator:
		return paramsf("double_sign_slash_bps %d not below %d", p.DoubleSignSlashBps, bpsDenominator)
	case p.DoubleSignJailDuration < 0:
		return paramsf("double_sign_jail_duration %v is negative", p.DoubleSignJailDuration)
	case p.DowntimeWindow == 0 || p.DowntimeWindow > MaxDowntimeWindow:
		return paramsf("downtime_window %d not in 1..%d", p.DowntimeWindow, MaxDowntimeWindow)
	case p.DowntimeMaxMissed >= p.DowntimeWindow:
		return paramsf("downtime_max_missed %d not below downtime_window %d", p.DowntimeMaxMissed, p.DowntimeWindow)
	case p.DowntimeJailDuration < 0:
		return paramsf("downtime_jail_duration %v is negative", p.DowntimeJailDuration)
	case p.DowntimeSlashBps >= bpsDenominator:
		return paramsf("downtime_slash_bps %d not below %d", p.DowntimeSlashBps, bpsDenominator)
	case !p.mintFits():
		return paramsf("the reward schedule (initial_reward %d, halving_interval %d) can mint more than 2^64-1",
			p.InitialReward, p.HalvingInterval)
	case p.LateRewardBps > bpsDenominator:
		return paramsf("late_reward_bps %d above %d", p.LateRewardBps, bpsDenominator)
	}
	return nil
}

// RewardAt returns the reward scheduled for the canonical Bitcoin block at
// btcHeight: InitialReward halved (right shift, as Bitcoin's subsidy) once
// per completed HalvingInterval, zero after 64 halvings and for negative
// heights.
func (p Params) RewardAt(btcHeight int32) uint64 {
	if btcHeight < 0 || p.HalvingInterval == 0 {
		return 0
	}
	halvings := uint32(btcHeight) / p.HalvingInterval
	if halvings >= 64 {
		return 0
	}
	return p.InitialReward >> halvings
}

// MaxMinted returns the most the reward schedule can ever mint: each of
// the 64 reward eras (the reward halves between them, and is zero after)
// lasts HalvingInterval Bitcoin blocks, so the sum is HalvingInterval ×
// Σ InitialReward >> k. Slashing and fees only lower the supply, so a
// genesis supply plus MaxMinted that fits in 64 bits proves that minting
// can never overflow and halt the chain. ok is false if the sum itself
// does not fit.
func (p Params) MaxMinted() (total uint64, ok bool) {
	for k := uint(0); k < 64; k++ {
		hi, era := bits.Mul64(p.InitialReward>>k, uint64(p.HalvingInterval))
		if hi != 0 {
			return 0, false
		}
		if total, ok = add64(total, era); !ok {
			return 0, false
		}
	}
	return total, true
}

func (p Params) mintFits() bool { _, ok := p.MaxMinted(); return ok }
