package muhash

import (
	"encoding/binary"
	"errors"
	"math/big"
	"math/bits"
)

const (
	// ByteSize is the length of the little-endian encoding of a Num3072.
	ByteSize = 384

	// primeDiff is c in the modulus p = 2^3072 - c; 2^3072-1103717 is the
	// largest 3072-bit safe prime (Core's MAX_PRIME_DIFF).
	primeDiff = 1103717

	// Limbs are big.Word so the full product can be computed by math/big
	// without conversion. Their size follows the platform word; little-endian
	// word order makes the number independent of it.
	wordBytes = bits.UintSize / 8
	numWords  = ByteSize / wordBytes
	maxWord   = ^big.Word(0)
)

// ErrNonCanonical is returned when decoding a value that is not fully
// reduced, i.e. not below the modulus 2^3072-1103717. Every residue has
// exactly one accepted encoding, so stored states compare byte for byte.
var ErrNonCanonical = errors.New("muhash: value not reduced modulo 2^3072-1103717")

// Num3072 is an integer modulo p = 2^3072-1103717.
//
// The zero value is the number 0, not the multiplicative identity; start
// products from One(). Values are plain data: copy them freely, and use
// distinct values from distinct goroutines without locking.
type Num3072 struct {
	// w is the value as little-endian words. It is always below 2^3072 but,
	// as in Core, may be in [p, 2^3072): Element returns the raw keystream
	// number. Mul always leaves a reduced value; everything that exposes or
	// compares the value reduces a copy first.
	w [numWords]big.Word
}

// One returns the multiplicative identity.
func One() Num3072 {
	var n Num3072
	n.w[0] = 1
	return n
}

// Mul sets a to a·b mod p. a and b may be the same value.
func (a *Num3072) Mul(b *Num3072) {
	var prod [2 * numWords]big.Word
	mulFull(&prod, &a.w, &b.w)
	a.reduceProduct(&prod)
}

// Div sets a to a·b⁻¹ mod p. b must be nonzero mod p; dividing by zero
// yields zero (see Inverse), as in Core, rather than panicking.
func (a *Num3072) Div(b *Num3072) {
	inv := b.Inverse()
	a.Mul(&inv)
}

// Inverse returns a⁻¹ mod p. Zero has no inverse; Inverse returns zero for
// it, which is what Core's Num3072::GetInverse returns too. Elements are
// SHA-256/ChaCha20 outputs, so a zero never arises from real data.
func (a *Num3072) Inverse() Num3072 {
	n := *a
	n.normalize()
	// SetBits uses n.w as its storage; ModInverse only reads it. This runs
	// once per block, so the allocations of the extended GCD do not matter.
	x := new(big.Int).SetBits(n.w[:])
	var out Num3072
	inv := new(big.Int).ModInverse(x, modulus())
	if inv == nil {
		return out
	}
	copy(out.w[:], inv.Bits())
	return out
}

// Bytes returns the canonical (fully reduced) little-endian encoding of a.
func (a *Num3072) Bytes() [ByteSize]byte {
	n := *a
	n.normalize()
	var out [ByteSize]byte
	n.putRaw(&out)
	return out
}

// SetBytes sets a to the little-endian number in b. It returns
// ErrNonCanonical, leaving a unchanged, if the number is not below p.
func (a *Num3072) SetBytes(b *[ByteSize]byte) error {
	var n Num3072
	n.setRaw(b)
	if n.overflow() {
		return ErrNonCanonical
	}
	*a = n
	return nil
}

// IsOne reports whether a ≡ 1 (mod p).
func (a *Num3072) IsOne() bool {
	one := One()
	return a.Equal(&one)
}

// IsZero reports whether a ≡ 0 (mod p).
func (a *Num3072) IsZero() bool {
	var zero Num3072
	return a.Equal(&zero)
}

// Equal reports whether a ≡ b (mod p).
func (a *Num3072) Equal(b *Num3072) bool {
	x, y := *a, *b
	x.normalize()
	y.normalize()
	return x.w == y.w
}

// overflow reports whether a >= p. Since a < 2^3072, that means every word
// above the lowest is all ones and the lowest is >= 2^W - primeDiff.
func (a *Num3072) overflow() bool {
	if a.w[0] <= maxWord-primeDiff {
		return false
	}
	for _, w := range a.w[1:] {
		if w != maxWord {
			return false
		}
	}
	return true
}

// normalize reduces a into [0, p). One subtraction is enough because
// a < 2^3072 < 2p.
func (a *Num3072) normalize() {
	if a.overflow() {
		// a - p = a + primeDiff - 2^3072: add, then drop the carry out.
		addLow(&a.w, primeDiff, 0)
	}
}

// reduceProduct sets a to prod mod p, fully reduced. With prod = lo + hi·2^3072
// and 2^3072 ≡ primeDiff (mod p), prod ≡ lo + hi·primeDiff, which is below
// 2^3072·(primeDiff+1); folding the few bits above 2^3072 once more leaves a
// value below 2^3072.
func (a *Num3072) reduceProduct(prod *[2 * numWords]big.Word) {
	lo := (*[numWords]big.Word)(prod[:numWords])
	hi := (*[numWords]big.Word)(prod[numWords:])
	var carry uint
	for i := range a.w {
		h, l := bits.Mul(uint(hi[i]), primeDiff)
		var c uint
		l, c = bits.Add(l, uint(lo[i]), 0)
		h += c // h <= primeDiff+1 here, so these never wrap
		l, c = bits.Add(l, carry, 0)
		h += c
		a.w[i] = big.Word(l)
		carry = h
	}
	// The value is now a + carry·2^3072 with carry <= primeDiff+1.
	h, l := bits.Mul(carry, primeDiff)
	if addLow(&a.w, l, h) != 0 {
		// Wrapped past 2^3072 again: what is left is below
		// carry·primeDiff < 2^43, so adding primeDiff cannot wrap.
		addLow(&a.w, primeDiff, 0)
	}
	a.normalize()
}

// addLow adds the two-word number hi·2^W + lo to w and returns the carry
// out of the top word.
func addLow(w *[numWords]big.Word, lo, hi uint) uint {
	s, c := bits.Add(uint(w[0]), lo, 0)
	w[0] = big.Word(s)
	s, c = bits.Add(uint(w[1]), hi, c)
	w[1] = big.Word(s)
	for i := 2; c != 0 && i < numWords; i++ {
		s, c = bits.Add(uint(w[i]), 0, c)
		w[i] = big.Word(s)
	}
	return c
}

// setRaw sets a to the little-endian number in b without reducing it.
func (a *Num3072) setRaw(b *[ByteSize]byte) {
	for i := range a.w {
		if wordBytes == 8 {
			a.w[i] = big.Word(binary.LittleEndian.Uint64(b[8*i:]))
		} else {
			a.w[i] = big.Word(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
}

// putRaw writes a's words, unreduced, to out in little-endian order.
func (a *Num3072) putRaw(out *[ByteSize]byte) {
	for i, w := range a.w {
		if wordBytes == 8 {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(w))
		} else {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(w))
		}
	}
}

// modulus returns p as a big.Int. It is built per call rather than kept in
// a package variable so that no package state exists that could be mutated.
func modulus() *big.Int {
	w := make([]big.Word, numWords)
	for i := range w {
		w[i] = maxWord
	}
	w[0] = maxWord - primeDiff + 1
	return new(big.Int).SetBits(w)
}
