package muhash

import (
	"bytes"
	"errors"
	"math/big"
	"slices"
	"testing"
)

// fuzzValue builds a raw 3072-bit value from up to ByteSize little-endian
// bytes; bytes not supplied are 0x00, or 0xff if fill is set, so short
// inputs reach both small values and the unreduced range near 2^3072.
func fuzzValue(data []byte, fill bool) (Num3072, *big.Int) {
	var le [ByteSize]byte
	if fill {
		for i := range le {
			le[i] = 0xff
		}
	}
	copy(le[:], data)
	var n Num3072
	n.setRaw(&le)
	be := le
	slices.Reverse(be[:])
	return n, new(big.Int).SetBytes(be[:])
}

// FuzzNum3072 checks Mul, squaring, Div, Inverse and the encoding against
// the math/big reference. Input: a flag byte (bit 0: fill a's missing bytes
// with 0xff, bit 1: same for b), then a's bytes and b's bytes, split in the
// middle of the rest.
func FuzzNum3072(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{3})
	f.Add([]byte{1, 0x9b, 0x28, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff}) // a = p
	f.Add(append([]byte{2}, bytes.Repeat([]byte{0xab}, 2*ByteSize)...))
	f.Add([]byte{1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		flags, rest := data[0], data[1:]
		half := len(rest) / 2
		a, x := fuzzValue(rest[:min(half, ByteSize)], flags&1 != 0)
		b, y := fuzzValue(rest[half:min(len(rest), half+ByteSize)], flags&2 != 0)

		m := a
		m.Mul(&b)
		mustReduced(t, "Mul", &m)
		if want := refMul(x, y); toBig(&m).Cmp(want) != 0 {
			t.Fatalf("Mul(%x, %x) = %x, want %x", x, y, toBig(&m), want)
		}
		s := a
		s.Mul(&s)
		if want := refMul(x, x); toBig(&s).Cmp(want) != 0 {
			t.Fatalf("square(%x) = %x, want %x", x, toBig(&s), want)
		}
		d := a
		d.Div(&b)
		mustReduced(t, "Div", &d)
		if want := refMul(x, refInv(y)); toBig(&d).Cmp(want) != 0 {
			t.Fatalf("Div(%x, %x) = %x, want %x", x, y, toBig(&d), want)
		}

		enc := a.Bytes()
		be := enc
		slices.Reverse(be[:])
		if want := new(big.Int).Mod(x, refP()); new(big.Int).SetBytes(be[:]).Cmp(want) != 0 {
			t.Fatalf("Bytes(%x) not the reduced value", x)
		}
		var back Num3072
		if err := back.SetBytes(&enc); err != nil || !back.Equal(&a) {
			t.Fatalf("SetBytes(Bytes(%x)): %v", x, err)
		}
		var raw [ByteSize]byte
		a.putRaw(&raw)
		err := back.SetBytes(&raw)
		if unreduced := x.Cmp(refP()) >= 0; unreduced != errors.Is(err, ErrNonCanonical) {
			t.Fatalf("SetBytes(%x): error %v, unreduced %v", x, err, unreduced)
		}
	})
}

// FuzzUnmarshal: arbitrary input never panics, errors are the documented
// ones, and accepted input re-marshals to itself (the encoding is
// canonical) and finalizes.
func FuzzUnmarshal(f *testing.F) {
	good, _ := New().MarshalBinary()
	f.Add(good)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, MarshaledSize))
	m := New()
	m.Insert([]byte("seed"))
	m.Remove([]byte("other"))
	seed, _ := m.MarshalBinary()
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MuHash3072
		err := m.UnmarshalBinary(data)
		if err != nil {
			if !errors.Is(err, ErrLength) && !errors.Is(err, ErrNonCanonical) {
				t.Fatalf("unexpected error %v", err)
			}
			if errors.Is(err, ErrLength) != (len(data) != MarshaledSize) {
				t.Fatalf("length error %v for %d bytes", err, len(data))
			}
			if errors.Is(err, ErrNonCanonical) {
				_, x := fuzzValue(data[:ByteSize], false)
				_, y := fuzzValue(data[ByteSize:], false)
				if x.Cmp(refP()) < 0 && y.Cmp(refP()) < 0 {
					t.Fatal("rejected a reduced encoding")
				}
			}
			return
		}
		out, err := m.MarshalBinary()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("accepted input does not re-marshal to itself: %v", err)
		}
		d := m.Finalize()
		var again MuHash3072
		if err := again.UnmarshalBinary(data); err != nil || again.Finalize() != d {
			t.Fatal("finalize not deterministic")
		}
	})
}
