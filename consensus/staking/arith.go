package staking

import (
	"math"
	"math/big"
	"math/bits"
	"time"
)

// Integer helpers. Every amount is a uint64 of the smallest unit; products
// are taken in 128 bits (math/bits) so that a ratio such as
// amount × shares / tokens is exact before it is rounded, and the reward
// accumulator is a 256-bit fixed-point number (big.Int while computing,
// 32 big-endian bytes when stored).

const bpsDenominator = 10000

// add64 returns a+b and whether it fits.
func add64(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// mulDiv returns floor(a*b/d) and whether it is defined and fits in 64 bits.
func mulDiv(a, b, d uint64) (uint64, bool) {
	if d == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, d)
	return q, true
}

// mulDivCeil returns ceil(a*b/d) and whether it is defined and fits.
func mulDivCeil(a, b, d uint64) (uint64, bool) {
	if d == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, d)
	if r != 0 {
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	return q, true
}

// fractionBps returns floor(amount × bps / 10000), which never exceeds
// amount for bps ≤ 10000. Rounding down favours whoever is left with the
// remainder: the slashed validator, the delegators after commission.
func fractionBps(amount uint64, bps uint16) uint64 {
	q, _ := mulDiv(amount, uint64(bps), bpsDenominator)
	return q
}

// Fixed point for the reward accumulator: rewards per share × 10^18.
const rewardScale = 1_000_000_000_000_000_000

// u256 is an unsigned 256-bit integer as stored: 32 bytes, big-endian.
type u256 = [32]byte

func toBig(x u256) *big.Int { return new(big.Int).SetBytes(x[:]) }

// fromBig converts a non-negative integer below 2^256.
func fromBig(b *big.Int) (u256, bool) {
	var out u256
	if b.Sign() < 0 || b.BitLen() > 256 {
		return out, false
	}
	b.FillBytes(out[:])
	return out, true
}

// pendingReward is floor(shares × (acc − last) / 10^18): what a delegation
// of shares earned since its last settlement at ratio last. ok is false if
// last is above acc or the result does not fit in 64 bits, both signs of a
// broken invariant.
func pendingReward(shares uint64, acc, last u256) (uint64, bool) {
	d := toBig(acc)
	d.Sub(d, toBig(last))
	if d.Sign() < 0 {
		return 0, false
	}
	d.Mul(d, new(big.Int).SetUint64(shares))
	d.Quo(d, new(big.Int).SetUint64(rewardScale))
	if !d.IsUint64() {
		return 0, false
	}
	return d.Uint64(), true
}

// Times are int64 nanoseconds since the Unix epoch (CometBFT block times
// are nanosecond-precise), which covers the years 1678 to 2262.

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// addTime returns ns + d and whether it fits in an int64.
func addTime(ns int64, d time.Duration) (int64, bool) {
	s := ns + int64(d)
	if (d > 0 && s < ns) || (d < 0 && s > ns) {
		return 0, false
	}
	return s, true
}
