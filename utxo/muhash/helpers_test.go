package muhash

import (
	"math/big"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// This file holds the independent reference the tests compare against: plain
// math/big arithmetic (Mul then Mod, ModInverse) on big.Int copies of the
// words, never through the package's own byte conversion or reduction.

// refP is the modulus, built from its definition rather than from modulus().
func refP() *big.Int {
	p := new(big.Int).Lsh(big.NewInt(1), 3072)
	return p.Sub(p, big.NewInt(1103717))
}

// toBig returns the raw (possibly unreduced) value of n. It reads the words
// directly, so putRaw/setRaw are checked against it rather than used by it.
func toBig(n *Num3072) *big.Int {
	return new(big.Int).SetBits(slices.Clone(n.w[:]))
}

// fromBig returns a Num3072 holding x verbatim; x must be in [0, 2^3072).
func fromBig(t testing.TB, x *big.Int) Num3072 {
	t.Helper()
	if x.Sign() < 0 || x.BitLen() > 3072 {
		t.Fatalf("fromBig: %v out of range", x)
	}
	var n Num3072
	copy(n.w[:], x.Bits())
	return n
}

func refMul(a, b *big.Int) *big.Int {
	r := new(big.Int).Mul(a, b)
	return r.Mod(r, refP())
}

// refInv returns a⁻¹ mod p, or 0 for a ≡ 0 (Core's convention).
func refInv(a *big.Int) *big.Int {
	r := new(big.Int).ModInverse(new(big.Int).Mod(a, refP()), refP())
	if r == nil {
		return new(big.Int)
	}
	return r
}

func mustReduced(t testing.TB, what string, n *Num3072) {
	t.Helper()
	if toBig(n).Cmp(refP()) >= 0 {
		t.Fatalf("%s: result not reduced: %x", what, toBig(n))
	}
}

// edgeValues are raw 3072-bit values around the interesting boundaries:
// zero and one, the modulus and its neighbours (including the unreduced range
// [p, 2^3072)), values whose limbs are all ones, and single high bits.
func edgeValues() []*big.Int {
	p := refP()
	two3072 := new(big.Int).Lsh(big.NewInt(1), 3072)
	add := func(x *big.Int, d int64) *big.Int { return new(big.Int).Add(x, big.NewInt(d)) }
	vals := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(1103717), big.NewInt(1103716),
		add(p, -1), add(p, -2), p, add(p, 1), add(p, 1103715), // p+1103715 = 2^3072-2
		add(two3072, -1), add(two3072, -2),
		new(big.Int).Lsh(big.NewInt(1), 3071),
		new(big.Int).Rsh(p, 1),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1)),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 3008), big.NewInt(1)), // 47 limbs of ones
	}
	// All limbs ones except one zero limb, at the bottom, middle and top.
	for _, zero := range []uint{0, 23, 47} {
		x := new(big.Int).Sub(two3072, big.NewInt(1))
		x.Sub(x, new(big.Int).Lsh(new(big.Int).SetUint64(^uint64(0)), 64*zero))
		vals = append(vals, x)
	}
	// Alternating all-ones and zero limbs.
	alt := new(big.Int)
	for i := 0; i < 48; i += 2 {
		alt.Or(alt, new(big.Int).Lsh(new(big.Int).SetUint64(^uint64(0)), uint(64*i)))
	}
	vals = append(vals, alt, new(big.Int).Xor(alt, new(big.Int).Sub(two3072, big.NewInt(1))))
	return vals
}

// randomValue returns a raw 3072-bit value; one in eight is forced into the
// unreduced range [p, 2^3072) and one in eight is small.
func randomValue(rng *rand.Rand) *big.Int {
	var le [ByteSize]byte
	for i := range le {
		le[i] = byte(rng.Uint32())
	}
	switch rng.IntN(8) {
	case 0:
		for i := 8; i < ByteSize; i++ {
			le[i] = 0xff
		}
		le[7] = 0xff
		le[6] = 0xff
		le[5] |= 0xf0
	case 1:
		clear(le[rng.IntN(ByteSize):])
	}
	slices.Reverse(le[:])
	return new(big.Int).SetBytes(le[:])
}

// schoolMul is a pure-Go 48×64-bit schoolbook product, kept as an
// independent check of mulFull and as the "pure Go" contender in
// BenchmarkMulStrategies. It is unrolled by four so the high words chain
// through ADC instead of materialized carries.
func schoolMul(prod *[96]uint64, a, b *[48]uint64) {
	*prod = [96]uint64{}
	for i := range a {
		ai := a[i]
		var carry uint64
		z := (*[48]uint64)(prod[i : i+48])
		for j := 0; j < 48; j += 4 {
			h0, l0 := bits.Mul64(ai, b[j])
			h1, l1 := bits.Mul64(ai, b[j+1])
			h2, l2 := bits.Mul64(ai, b[j+2])
			h3, l3 := bits.Mul64(ai, b[j+3])
			var c uint64
			l0, c = bits.Add64(l0, carry, 0)
			l1, c = bits.Add64(l1, h0, c)
			l2, c = bits.Add64(l2, h1, c)
			l3, c = bits.Add64(l3, h2, c)
			h3, _ = bits.Add64(h3, 0, c)
			l0, c = bits.Add64(l0, z[j], 0)
			l1, c = bits.Add64(l1, z[j+1], c)
			l2, c = bits.Add64(l2, z[j+2], c)
			l3, c = bits.Add64(l3, z[j+3], c)
			h3, _ = bits.Add64(h3, 0, c)
			z[j], z[j+1], z[j+2], z[j+3] = l0, l1, l2, l3
			carry = h3
		}
		prod[i+48] = carry
	}
}

// combaMul is a pure-Go product-scanning (Comba) multiplication with a
// three-word accumulator, the other "pure Go" contender.
func combaMul(prod *[96]uint64, a, b *[48]uint64) {
	var br [48]uint64
	for i := range b {
		br[47-i] = b[i]
	}
	var c0, c1, c2 uint64
	for k := range 95 {
		lo, hi := max(0, k-47), min(k, 47)
		x := a[lo : hi+1]
		y := br[47-k+lo : 47-k+hi+1]
		y = y[:len(x)]
		for i := range x {
			h, l := bits.Mul64(x[i], y[i])
			var c uint64
			c0, c = bits.Add64(c0, l, 0)
			c1, c = bits.Add64(c1, h, c)
			c2, _ = bits.Add64(c2, 0, c)
		}
		prod[k] = c0
		c0, c1, c2 = c1, c2, 0
	}
	prod[95] = c0
}

// toU64 returns n's value as 48 little-endian uint64 limbs.
func toU64(n *Num3072) [48]uint64 {
	var u [48]uint64
	x := toBig(n)
	mask := new(big.Int).SetUint64(^uint64(0))
	for i := range u {
		u[i] = new(big.Int).And(new(big.Int).Rsh(x, uint(64*i)), mask).Uint64()
	}
	return u
}
