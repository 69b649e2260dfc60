package muhash

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/chacha20"
)

// benchValues returns two full-size random reduced values.
func benchValues(b testing.TB) (Num3072, Num3072) {
	rng := rand.New(rand.NewPCG(21, 22))
	var v [2]Num3072
	for i := range v {
		var le [ByteSize]byte
		for j := range le {
			le[j] = byte(rng.Uint32())
		}
		le[ByteSize-1] &= 0x7f // below 2^3071 < p
		if err := v[i].SetBytes(&le); err != nil {
			b.Fatal(err)
		}
	}
	return v[0], v[1]
}

// benchData is the size of a typical serialized coin (outpoint, height,
// amount, P2WPKH script).
func benchData() []byte {
	d := make([]byte, 80)
	for i := range d {
		d[i] = byte(i * 7)
	}
	return d
}

func BenchmarkElement(b *testing.B) {
	data := benchData()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		e := Element(data)
		data[0] = byte(e.w[0])
	}
}

func BenchmarkMul(b *testing.B) {
	x, y := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		x.Mul(&y)
	}
}

func BenchmarkSquare(b *testing.B) {
	x, _ := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		x.Mul(&x)
	}
}

func BenchmarkInverse(b *testing.B) {
	x, y := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Inverse()
		x.Mul(&y) // a fresh full-size input every time
	}
}

// BenchmarkInsert is the engine's per-coin cost: Element plus one Mul.
func BenchmarkInsert(b *testing.B) {
	data := benchData()
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Insert(data)
		data[0]++
	}
}

// BenchmarkFinalize measures a Finalize that has to invert (the once per
// block cost): a fresh non-trivial denominator every iteration.
func BenchmarkFinalize(b *testing.B) {
	x, y := benchValues(b)
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.num, m.den = x, y
		_ = m.Finalize()
	}
}

func BenchmarkDigestOf(b *testing.B) {
	x, _ := benchValues(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = DigestOf(&x)
	}
}

// BenchmarkMulStrategies compares the full 48×48-word product (no
// reduction) done by math/big, which Mul uses, with the pure-Go kernels in
// helpers_test.go.
func BenchmarkMulStrategies(b *testing.B) {
	x, y := benchValues(b)
	ux, uy := toU64(&x), toU64(&y)
	b.Run("mathbig", func(b *testing.B) {
		var prod [2 * numWords]big.Word
		b.ReportAllocs()
		for b.Loop() {
			mulFull(&prod, &x.w, &y.w)
		}
	})
	b.Run("school-go", func(b *testing.B) {
		var prod [96]uint64
		b.ReportAllocs()
		for b.Loop() {
			schoolMul(&prod, &ux, &uy)
		}
	})
	b.Run("comba-go", func(b *testing.B) {
		var prod [96]uint64
		b.ReportAllocs()
		for b.Loop() {
			combaMul(&prod, &ux, &uy)
		}
	})
	b.Run("reduce", func(b *testing.B) {
		var prod [2 * numWords]big.Word
		mulFull(&prod, &x.w, &y.w)
		var r Num3072
		b.ReportAllocs()
		for b.Loop() {
			r.reduceProduct(&prod)
		}
	})
}

// BenchmarkKeystream compares the 384-byte keystream from chachaBlock with
// golang.org/x/crypto/chacha20 (generic Go on amd64).
func BenchmarkKeystream(b *testing.B) {
	var key [8]uint32
	b.Run("chachaBlock", func(b *testing.B) {
		var blk [16]uint32
		b.SetBytes(ByteSize)
		b.ReportAllocs()
		for b.Loop() {
			for ctr := range uint32(ByteSize / 64) {
				chachaBlock(&blk, &key, ctr)
			}
			key[0] = blk[0]
		}
	})
	b.Run("x-crypto", func(b *testing.B) {
		var k [32]byte
		var nonce [chacha20.NonceSize]byte
		var out [ByteSize]byte
		b.SetBytes(ByteSize)
		b.ReportAllocs()
		for b.Loop() {
			c, _ := chacha20.NewUnauthenticatedCipher(k[:], nonce[:])
			clear(out[:])
			c.XORKeyStream(out[:], out[:])
			k[0] = out[0]
		}
	})
}
