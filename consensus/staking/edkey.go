package staking

import "math/big"

// validConsensusKey reports whether k is the canonical encoding of a point
// on edwards25519 (RFC 8032 §5.1.3): y below p = 2^255 − 19, x² = (y² − 1) /
// (d·y² + 1) a square mod p, and no sign bit on x = 0. CometBFT takes any 32
// bytes as a key, so the state machine checks: a key that is no point
// could never sign a vote, and a non-canonical encoding would let one key
// pass the uniqueness check under a second spelling. Small-order points are
// not rejected; their holder could not produce useful votes either.
func validConsensusKey(k [32]byte) bool {
	p := new(big.Int).Lsh(big.NewInt(1), 255)
	p.Sub(p, big.NewInt(19))
	le := k
	sign := le[31] >> 7
	le[31] &= 0x7f
	be := make([]byte, 32)
	for i := range le {
		be[31-i] = le[i]
	}
	y := new(big.Int).SetBytes(be)
	if y.Cmp(p) >= 0 {
		return false
	}
	// d = −121665 / 121666 mod p
	d := new(big.Int).ModInverse(big.NewInt(121666), p)
	d.Mul(d, big.NewInt(-121665))
	d.Mod(d, p)

	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, p)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, p)
	v := new(big.Int).Mul(d, y2)
	v.Add(v, big.NewInt(1))
	v.Mod(v, p)
	// v is never 0: −1/d is not a square mod p, so d·y² ≠ −1.
	x2 := new(big.Int).ModInverse(v, p)
	x2.Mul(x2, u)
	x2.Mod(x2, p)
	if x2.Sign() == 0 {
		return sign == 0
	}
	// Euler's criterion: x2 is a square iff x2^((p−1)/2) = 1.
	e := new(big.Int).Sub(p, big.NewInt(1))
	e.Rsh(e, 1)
	return new(big.Int).Exp(x2, e, p).Cmp(big.NewInt(1)) == 0
}
