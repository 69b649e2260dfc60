package staking

import (
	"bytes"
	"math/big"
	"slices"

	"github.com/satnode/satnode/consensus/tx"
)

// Payout says where one Bitcoin block's reward went.
type Payout struct {
	// Minted is the scheduled reward, added to the supply.
	Minted uint64
	// Synchronizer is what the synchronizer's payout address received.
	Synchronizer uint64
	// Validators are the endorsers' shares, in the order given.
	Validators []ValidatorPayout
	// Community is what went to the community pool: the remainder of the
	// pro-rata split, the accumulator's rounding, and the validators'
	// share when no endorser has stake.
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
}

type rewardPlan struct {
	v          *validator
	commission uint64
	credited   uint64
	acc        u256
}

// PayBitcoinBlockReward mints the reward scheduled for the canonical
// Bitcoin block at btcHeight (Params.RewardAt) and distributes it:
// synchronizer_share_bps of it to the payout address of synchronizer (the
// first valid submitter of the header); the rest to endorsers, the
// operators of the validators that endorsed the block in time, pro rata by
// their bonded tokens. Each validator's operator takes its commission and
// the remainder accrues to its delegators through the reward-per-share
// accumulator; nothing loops over delegators. Who qualifies as an endorser
// is the caller's decision: every listed validator shares, jailed or not.
//
// Unregistered synchronizer, unknown or repeated endorsers, a negative
// height or a supply overflow are rejected and change nothing.
func (s *State) PayBitcoinBlockReward(btcHeight int32, synchronizer tx.Address, endorsers []tx.Address) (Payout, error) {
	if btcHeight < 0 {
		return Payout{}, internalf("negative Bitcoin height %d", btcHeight)
	}
	y, ok := s.synchronizers[synchronizer]
	if !ok {
		return Payout{}, reject(tx.CodeUnregisteredSynchronizer, "%s is not a synchronizer", synchronizer)
	}
	sorted := slices.Clone(endorsers)
	slices.SortFunc(sorted, func(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) })
	var weight uint64
	for i, op := range sorted {
		v, ok := s.validators[op]
		if !ok {
			return Payout{}, reject(tx.CodeUnknownValidator, "endorser %s operates no validator", op)
		}
		if i > 0 && sorted[i-1] == op {
			return Payout{}, internalf("endorser %s listed twice", op)
		}
		if weight, ok = add64(weight, v.tokens); !ok {
			return Payout{}, internalf("endorsers' stake exceeds 2^64-1")
		}
	}
	reward := s.params.RewardAt(btcHeight)
	supply, ok := add64(s.supply, reward)
	if !ok {
		return Payout{}, reject(tx.CodeOverflow, "minting %d would take the supply past 2^64-1", reward)
	}

	out := Payout{Minted: reward, Synchronizer: fractionBps(reward, s.params.SynchronizerShareBps)}
	rest := reward - out.Synchronizer
	plans := make([]rewardPlan, 0, len(endorsers))
	var distributed uint64
	for _, op := range endorsers {
		v := s.validators[op]
		var share uint64
		if weight > 0 {
			share, _ = mulDiv(rest, v.tokens, weight) // ≤ rest since tokens ≤ weight
		}
		distributed += share
		pl := rewardPlan{v: v, commission: fractionBps(share, v.commissionBps), acc: v.acc}
		toDelegators := share - pl.commission
		if toDelegators > 0 && v.shares > 0 {
			inc, credited := accumulate(toDelegators, v.shares)
			sum := toBig(v.acc)
			if pl.acc, ok = fromBig(sum.Add(sum, inc)); !ok {
				return Payout{}, reject(tx.CodeOverflow, "reward accumulator of %s exceeds 2^256", op)
			}
			pl.credited = credited
		}
		out.Community += toDelegators - pl.credited
		out.Validators = append(out.Validators, ValidatorPayout{Operator: op, Commission: pl.commission,
			Delegators: pl.credited})
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
