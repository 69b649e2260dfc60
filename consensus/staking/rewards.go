package staking

import (
	"math/big"

	"github.com/satnode/satnode/consensus/tx"
)

// Payout says where one Bitcoin block's reward went.
type Payout struct {
	// Minted is the scheduled reward, added to the supply.
	Minted uint64
	// Synchronizer is what the synchronizer's payout address received.
	Synchronizer uint64
	// Validators are the eligible endorsers' parts: the on-time ones in the
	// order given, then the late ones in the order given.
	Validators []ValidatorPayout
	// Community is what went to the community pool: the remainder of the
	// pro-rata split, the late endorsers' cuts, the accumulator's
	// rounding, and the validators' share when no eligible endorser has
	// stake.
	Community uint64
}

// ValidatorPayout is one endorsing validator's part of a reward.
type ValidatorPayout struct {
	Operator tx.Address
	// Commission went to the operator's unclaimed commission.
	Commission uint64
	// Delegators went to the validator's reward pool, claimable by its
	// delegations in proportion to their shares.
	Delegators uint64
	// Late: it endorsed after the block became canonical, and was paid
	// late_reward_bps of its pro-rata share.
	Late bool
}

type rewardPlan struct {
	v          *validator
	commission uint64
	credited   uint64
	acc        u256
}

// PayBitcoinBlockReward mints the reward scheduled for the canonical
// Bitcoin block at btcHeight (Params.RewardAt) and distributes it, when
// the block's attendance window closes:
//
//   - synchronizer_share_bps of it, rounded down, to the payout address of
//     synchronizer (the first valid submitter of the header);
//   - the rest R to the eligible endorsers: the validators listed in onTime
//     (endorsed before the block became canonical) or late (endorsed within
//     the attendance window after) that are in the active set now (Power >
//     0: bonded, unjailed, ranked within max_validators). Jailed or inactive
//     endorsers get nothing, and their stake does not dilute the others.
//     Each eligible endorser's share is floor(R × tokens / W), W the tokens
//     of all eligible endorsers, on time and late alike; an on-time endorser
//     is paid its share, a late one floor(share × late_reward_bps / 10^4),
//     and the late cut goes to the community pool;
//   - of what a validator is paid, its operator takes floor(paid ×
//     commission_bps / 10^4) as commission and the remainder accrues to its
//     delegators through the reward-per-share accumulator; nothing loops
//     over delegators.
//
// R − Σ shares (rounding, or all of R when no endorser is eligible) goes to
// the community pool. An unregistered synchronizer, an unknown operator,
// one listed twice (in either list or both), a negative height or a supply
// overflow are rejected and change nothing.
func (s *State) PayBitcoinBlockReward(btcHeight int32, synchronizer tx.Address, onTime, late []tx.Address) (Payout, error) {
	if btcHeight < 0 {
		return Payout{}, internalf("negative Bitcoin height %d", btcHeight)
	}
	y, ok := s.synchronizers[synchronizer]
	if !ok {
		return Payout{}, reject(tx.CodeUnregisteredSynchronizer, "%s is not a synchronizer", synchronizer)
	}
	type endorser struct {
		op   tx.Address
		late bool
	}
	var eligible []endorser
	seen := make(map[tx.Address]struct{}, len(onTime)+len(late))
	var weight uint64
	for i, list := range [][]tx.Address{onTime, late} {
		for _, op := range list {
			v, ok := s.validators[op]
			if !ok {
				return Payout{}, reject(tx.CodeUnknownValidator, "endorser %s operates no validator", op)
			}
			if _, dup := seen[op]; dup {
				return Payout{}, internalf("endorser %s listed twice", op)
			}
			seen[op] = struct{}{}
			if s.Power(op) == 0 {
				continue
			}
			eligible = append(eligible, endorser{op: op, late: i == 1})
			if weight, ok = add64(weight, v.tokens); !ok {
				return Payout{}, internalf("endorsers' stake exceeds 2^64-1")
			}
		}
	}
	reward := s.params.RewardAt(btcHeight)
	supply, ok := add64(s.supply, reward)
	if !ok {
		return Payout{}, reject(tx.CodeOverflow, "minting %d would take the supply past 2^64-1", reward)
	}

	out := Payout{Minted: reward, Synchronizer: fractionBps(reward, s.params.SynchronizerShareBps)}
	rest := reward - out.Synchronizer
	plans := make([]rewardPlan, 0, len(eligible))
	var distributed uint64
	for _, e := range eligible {
		v := s.validators[e.op]
		share, _ := mulDiv(rest, v.tokens, weight) // ≤ rest since tokens ≤ weight > 0
		distributed += share
		paid := share
		if e.late {
			paid = fractionBps(share, s.params.LateRewardBps)
			out.Community += share - paid
		}
		pl := rewardPlan{v: v, commission: fractionBps(paid, v.commissionBps), acc: v.acc}
		toDelegators := paid - pl.commission
		if toDelegators > 0 && v.shares > 0 {
			inc, credited := accumulate(toDelegators, v.shares)
			sum := toBig(v.acc)
			if pl.acc, ok = fromBig(sum.Add(sum, inc)); !ok {
				return Payout{}, reject(tx.CodeOverflow, "reward accumulator of %s exceeds 2^256", e.op)
			}
			pl.credited = credited
		}
		out.Community += toDelegators - pl.credited
		out.Validators = append(out.Validators, ValidatorPayout{Operator: e.op, Commission: pl.commission,
			Delegators: pl.credited, Late: e.late})
		plans = append(plans, pl)
	}
	out.Community += rest - distributed

	s.credit(y.payout, out.Synchronizer)
	for _, pl := range plans {
		pl.v.commission = mustAdd(pl.v.commission, pl.commission)
		pl.v.pool = mustAdd(pl.v.pool, pl.credited)
		pl.v.acc = pl.acc
		s.touchValidator(pl.v)
	}
	s.setSupply(supply, mustAdd(s.community, out.Community))
	return out, nil
}

// accumulate spreads amount over shares: the accumulator grows by
// inc = floor(amount × 10^18 / shares), and the pool is credited
// ceil(inc × shares / 10^18) ≤ amount, an upper bound on what the shares
// can ever claim for inc. The difference is below shares / 10^18 units,
// so zero unless a validator has 10^18 shares or more.
func accumulate(amount, shares uint64) (inc *big.Int, credited uint64) {
	scale := new(big.Int).SetUint64(rewardScale)
	sh := new(big.Int).SetUint64(shares)
	inc = new(big.Int).SetUint64(amount)
	inc.Mul(inc, scale)
	inc.Quo(inc, sh)
	c := new(big.Int).Mul(inc, sh)
	c.Add(c, new(big.Int).Sub(scale, big.NewInt(1)))
	c.Quo(c, scale)
	return inc, c.Uint64() // ≤ amount
}
