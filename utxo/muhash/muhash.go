package muhash

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// MarshaledSize is the length of a marshaled MuHash3072: the canonical
// numerator followed by the canonical denominator. For reduced values this is
// the same layout as Core's MuHash3072 serialization.
const MarshaledSize = 2 * ByteSize

// ErrLength is returned by UnmarshalBinary for input that is not
// MarshaledSize bytes long.
var ErrLength = errors.New("muhash: marshaled state has wrong length")

// Digest is a finalized MuHash3072: the raw SHA-256 output over the
// canonical encoding of the normalized set value.
type Digest [32]byte

// String returns the digest as Bitcoin Core displays it (a uint256, so the
// bytes reversed), e.g. in `gettxoutsetinfo muhash`.
func (d Digest) String() string {
	var r [32]byte
	for i, b := range d {
		r[31-i] = b
	}
	return hex.EncodeToString(r[:])
}

// ParseDigest reads a digest as Bitcoin Core displays it (String): 64 hex
// digits, byte-reversed.
func ParseDigest(s string) (Digest, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return Digest{}, fmt.Errorf("muhash: %q is not 64 hex digits", s)
	}
	var d Digest
	for i := range b {
		d[31-i] = b[i]
	}
	return d, nil
}

// DigestOf returns SHA-256 of the canonical 384-byte little-endian encoding
// of state, which must already be the normalized set value (numerator times
// inverse denominator). This is what Core's Finalize outputs for it.
func DigestOf(state *Num3072) Digest {
	b := state.Bytes()
	return sha256.Sum256(b[:])
}

// MuHash3072 is Core's accumulator: the set is numerator/denominator mod p,
// so that removals cost a multiplication and only Finalize inverts.
//
// The zero value is ready to use and represents the empty set; New returns
// the same thing on the heap. A MuHash3072 is not safe for concurrent
// mutation; Combine and DivideBy only read their argument.
type MuHash3072 struct {
	num, den Num3072
	// started is false in the zero value, which then stands for
	// num = den = 1. Mutating methods materialize that on first use.
	started bool
}

// New returns an accumulator for the empty set.
func New() *MuHash3072 {
	m := new(MuHash3072)
	m.start()
	return m
}

func (m *MuHash3072) start() {
	if !m.started {
		m.num, m.den = One(), One()
		m.started = true
	}
}

// Insert adds data to the set.
func (m *MuHash3072) Insert(data []byte) {
	m.start()
	e := Element(data)
	m.num.Mul(&e)
}

// Remove removes data from the set. Removing something that was never
// inserted is not an error: the value then stands for a set with a
// negative multiplicity, as in Core.
func (m *MuHash3072) Remove(data []byte) {
	m.start()
	e := Element(data)
	m.den.Mul(&e)
}

// Combine adds every member of o to m (Core's operator*=).
func (m *MuHash3072) Combine(o *MuHash3072) {
	m.start()
	if !o.started {
		return // o is the empty set
	}
	m.num.Mul(&o.num)
	m.den.Mul(&o.den)
}

// DivideBy removes every member of o from m (Core's operator/=).
func (m *MuHash3072) DivideBy(o *MuHash3072) {
	m.start()
	if !o.started {
		return
	}
	// Copy first: with o == m the second product would otherwise see the
	// already updated numerator.
	on, od := o.num, o.den
	m.num.Mul(&od)
	m.den.Mul(&on)
}

// Finalize normalizes m to numerator/denominator over 1 (one modular
// inversion) and returns the digest of the set. m stays usable, and
// finalizing again without changes returns the same digest.
func (m *MuHash3072) Finalize() Digest {
	m.start()
	if !m.den.IsOne() {
		m.num.Div(&m.den)
		m.den = One()
	}
	return DigestOf(&m.num)
}

// MarshalBinary returns the canonical numerator followed by the canonical
// denominator (MarshaledSize bytes). It does not normalize m, so the
// encoding of a state depends on how it was reached, exactly as in Core;
// call Finalize first for an encoding that depends only on the set.
func (m *MuHash3072) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, MarshaledSize))
}

// AppendBinary appends the MarshalBinary encoding of m to b.
func (m *MuHash3072) AppendBinary(b []byte) ([]byte, error) {
	num, den := One(), One()
	if m.started {
		num, den = m.num, m.den
	}
	nb, db := num.Bytes(), den.Bytes()
	b = append(b, nb[:]...)
	return append(b, db[:]...), nil
}

// UnmarshalBinary sets m from a MarshalBinary encoding. It returns an error
// wrapping ErrLength or ErrNonCanonical, leaving m unchanged, for input of
// the wrong size or with a half that is not below the modulus.
func (m *MuHash3072) UnmarshalBinary(data []byte) error {
	if len(data) != MarshaledSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(data), MarshaledSize)
	}
	var num, den Num3072
	if err := num.SetBytes((*[ByteSize]byte)(data[:ByteSize])); err != nil {
		return fmt.Errorf("muhash: numerator: %w", err)
	}
	if err := den.SetBytes((*[ByteSize]byte)(data[ByteSize:])); err != nil {
		return fmt.Errorf("muhash: denominator: %w", err)
	}
	m.num, m.den, m.started = num, den, true
	return nil
}
