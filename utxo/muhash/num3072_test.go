package muhash

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// checkMul multiplies raw values x and y through Num3072.Mul and compares
// with the reference, including the aliased (squaring) form.
func checkMul(t *testing.T, x, y *big.Int) {
	t.Helper()
	a, b := fromBig(t, x), fromBig(t, y)
	a.Mul(&b)
	mustReduced(t, "Mul", &a)
	if want := refMul(x, y); toBig(&a).Cmp(want) != 0 {
		t.Fatalf("Mul(%x, %x)\n got %x\nwant %x", x, y, toBig(&a), want)
	}
	s := fromBig(t, x)
	s.Mul(&s)
	if want := refMul(x, x); toBig(&s).Cmp(want) != 0 {
		t.Fatalf("square(%x)\n got %x\nwant %x", x, toBig(&s), want)
	}
}

func checkDiv(t *testing.T, x, y *big.Int) {
	t.Helper()
	a, b := fromBig(t, x), fromBig(t, y)
	inv := b.Inverse()
	mustReduced(t, "Inverse", &inv)
	if want := refInv(y); toBig(&inv).Cmp(want) != 0 {
		t.Fatalf("Inverse(%x)\n got %x\nwant %x", y, toBig(&inv), want)
	}
	a.Div(&b)
	mustReduced(t, "Div", &a)
	if want := refMul(x, refInv(y)); toBig(&a).Cmp(want) != 0 {
		t.Fatalf("Div(%x, %x)\n got %x\nwant %x", x, y, toBig(&a), want)
	}
}

func TestMulEdgeValues(t *testing.T) {
	vals := edgeValues()
	for _, x := range vals {
		for _, y := range vals {
			checkMul(t, x, y)
		}
	}
}

func TestMulRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		checkMul(t, randomValue(rng), randomValue(rng))
	}
}

// TestMulMatchesPureGo cross-checks the math/big product against the
// pure-Go kernels, which share no code with it.
func TestMulMatchesPureGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := edgeValues()
	for range 200 {
		vals = append(vals, randomValue(rng))
	}
	for i, x := range vals {
		y := vals[(i*7+3)%len(vals)]
		a, b := fromBig(t, x), fromBig(t, y)
		var got [2 * numWords]big.Word
		mulFull(&got, &a.w, &b.w)
		ua, ub := toU64(&a), toU64(&b)
		var s, c [96]uint64
		schoolMul(&s, &ua, &ub)
		combaMul(&c, &ua, &ub)
		if s != c {
			t.Fatalf("schoolMul and combaMul disagree for %x * %x", x, y)
		}
		want := new(big.Int).Mul(x, y)
		if gotBig := wordsToBig(got[:]); gotBig.Cmp(want) != 0 {
			t.Fatalf("mulFull(%x, %x) = %x, want %x", x, y, gotBig, want)
		}
		if sBig := u64ToBig(s[:]); sBig.Cmp(want) != 0 {
			t.Fatalf("schoolMul(%x, %x) = %x, want %x", x, y, sBig, want)
		}
	}
}

func wordsToBig(w []big.Word) *big.Int { return new(big.Int).SetBits(slices.Clone(w)) }

func u64ToBig(u []uint64) *big.Int {
	r := new(big.Int)
	for i := len(u) - 1; i >= 0; i-- {
		r.Lsh(r, 64).Or(r, new(big.Int).SetUint64(u[i]))
	}
	return r
}

func TestDivInverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	vals := edgeValues()
	for range 50 {
		vals = append(vals, randomValue(rng))
	}
	for i, x := range vals {
		checkDiv(t, x, vals[(i*5+1)%len(vals)])
		checkDiv(t, vals[(i*3+2)%len(vals)], x)
	}
	// a · a⁻¹ = 1 for nonzero a, including unreduced representations.
	for _, x := range vals {
		if new(big.Int).Mod(x, refP()).Sign() == 0 {
			continue
		}
		a := fromBig(t, x)
		inv := a.Inverse()
		a.Mul(&inv)
		if !a.IsOne() {
			t.Fatalf("%x · inverse = %x, want 1", x, toBig(&a))
		}
	}
}

// TestInverseZero pins Core's convention: 0 (and p, its unreduced form)
// has no inverse and maps to 0, and dividing by it gives 0 without panicking.
func TestInverseZero(t *testing.T) {
	for _, z := range []*big.Int{big.NewInt(0), refP()} {
		n := fromBig(t, z)
		if inv := n.Inverse(); !inv.IsZero() {
			t.Fatalf("Inverse(%x) = %x, want 0", z, toBig(&inv))
		}
		a := One()
		a.Div(&n)
		if !a.IsZero() {
			t.Fatalf("1 / %x = %x, want 0", z, toBig(&a))
		}
	}
}

func TestBytesCanonical(t *testing.T) {
	for _, x := range edgeValues() {
		n := fromBig(t, x)
		b := n.Bytes()
		want := new(big.Int).Mod(x, refP())
		be := b
		slices.Reverse(be[:])
		if got := new(big.Int).SetBytes(be[:]); got.Cmp(want) != 0 {
			t.Fatalf("Bytes(%x) = %x, want %x", x, got, want)
		}
		if toBig(&n).Cmp(x) != 0 {
			t.Fatalf("Bytes modified its receiver")
		}
		var back Num3072
		if err := back.SetBytes(&b); err != nil {
			t.Fatalf("SetBytes(Bytes(%x)): %v", x, err)
		}
		if !back.Equal(&n) || back.Bytes() != b {
			t.Fatalf("SetBytes(Bytes(%x)) does not round-trip", x)
		}
	}
}

func TestSetBytesRejectsUnreduced(t *testing.T) {
	two3072 := new(big.Int).Lsh(big.NewInt(1), 3072)
	for _, x := range []*big.Int{refP(), new(big.Int).Add(refP(), big.NewInt(1)), new(big.Int).Sub(two3072, big.NewInt(1))} {
		var le [ByteSize]byte
		x.FillBytes(le[:])
		slices.Reverse(le[:])
		n := One()
		if err := n.SetBytes(&le); !errors.Is(err, ErrNonCanonical) {
			t.Fatalf("SetBytes(%x) error = %v, want ErrNonCanonical", x, err)
		}
		if one := One(); n != one {
			t.Fatalf("failed SetBytes changed the receiver")
		}
	}
	// p-1 is the largest accepted value.
	pm1 := new(big.Int).Sub(refP(), big.NewInt(1))
	var le [ByteSize]byte
	pm1.FillBytes(le[:])
	slices.Reverse(le[:])
	var n Num3072
	if err := n.SetBytes(&le); err != nil || toBig(&n).Cmp(pm1) != 0 {
		t.Fatalf("SetBytes(p-1) = %x, %v", toBig(&n), err)
	}
}

func TestEqualIsOne(t *testing.T) {
	p := refP()
	a, b := fromBig(t, big.NewInt(5)), fromBig(t, new(big.Int).Add(p, big.NewInt(5)))
	if !a.Equal(&b) || !b.Equal(&a) {
		t.Fatal("5 and p+5 should be equal mod p")
	}
	c := fromBig(t, big.NewInt(6))
	if a.Equal(&c) {
		t.Fatal("5 == 6")
	}
	one, onePlusP := One(), fromBig(t, new(big.Int).Add(p, big.NewInt(1)))
	if !one.IsOne() || !onePlusP.IsOne() || a.IsOne() {
		t.Fatal("IsOne wrong")
	}
	var zero Num3072
	pn := fromBig(t, p)
	if !zero.IsZero() || !pn.IsZero() || one.IsZero() {
		t.Fatal("IsZero wrong")
	}
}

// TestMulAllocs guards the escape-analysis workaround in mulFull: if
// our operands or the scratch block ever moved to the heap per call, Mul
// would allocate.
func TestMulAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	a, b := fromBig(t, randomValue(rng)), fromBig(t, randomValue(rng))
	if n := testing.AllocsPerRun(200, func() { a.Mul(&b) }); n != 0 {
		t.Errorf("Mul allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(200, func() { a.Mul(&a) }); n != 0 {
		t.Errorf("squaring allocates %v times per call", n)
	}
	data := make([]byte, 80)
	if n := testing.AllocsPerRun(200, func() { e := Element(data); a.Mul(&e) }); n != 0 {
		t.Errorf("Element+Mul allocates %v times per call", n)
	}
	m := New()
	if n := testing.AllocsPerRun(200, func() { m.Insert(data); m.Remove(data) }); n != 0 {
		t.Errorf("Insert+Remove allocates %v times per call", n)
	}
}

// TestMulStackGrowth runs Mul at every stack depth, in small steps, within
// fresh goroutines' first stacks, so that stack growth (copying) happens at
// many different points inside math/big. It guards the reduction and the
// scratch handling against any reliance on stack addresses: wrong products,
// checkptr failures under -race, or crashes would show it.
func TestMulStackGrowth(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x, y := randomValue(rng), randomValue(rng)
	wantMul, wantSqr := refMul(x, y), refMul(x, x)
	a0, b0 := fromBig(t, x), fromBig(t, y)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []int
	for depth := range 1500 {
		wg.Go(func() {
			a, b, s := a0, b0, a0
			mulAtDepth(depth, &a, &b, &s)
			if toBig(&a).Cmp(wantMul) != 0 || toBig(&s).Cmp(wantSqr) != 0 {
				mu.Lock()
				failed = append(failed, depth)
				mu.Unlock()
			}
		})
		if depth%100 == 0 {
			runtime.GC() // also shrinks and scans the stacks in flight
		}
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("wrong products at depths %v", failed)
	}
}

// mulAtDepth recurses depth times (a small frame each) before multiplying.
//
//go:noinline
func mulAtDepth(depth int, a, b, s *Num3072) {
	if depth > 0 {
		mulAtDepth(depth-1, a, b, s)
		return
	}
	a.Mul(b)
	s.Mul(s)
}

// TestConcurrent runs Element and Mul on distinct values from several
// goroutines (run with -race) and checks they agree with a serial run.
func TestConcurrent(t *testing.T) {
	const workers, per = 4, 200
	serial := make([]Num3072, workers)
	for w := range serial {
		serial[w] = One()
		for i := range per {
			e := Element([]byte{byte(w), byte(i), byte(i >> 8)})
			serial[w].Mul(&e)
		}
	}
	got := make([]Num3072, workers)
	var wg sync.WaitGroup
	for w := range got {
		wg.Go(func() {
			got[w] = One()
			for i := range per {
				e := Element([]byte{byte(w), byte(i), byte(i >> 8)})
				got[w].Mul(&e)
			}
		})
	}
	wg.Wait()
	for w := range got {
		if got[w] != serial[w] {
			t.Fatalf("worker %d: concurrent product differs from serial", w)
		}
	}
}

// TestRawEncoding checks setRaw/putRaw (used by Element's callers, Bytes and
// SetBytes) against big.Int's own big-endian conversion.
func TestRawEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	vals := edgeValues()
	for range 50 {
		vals = append(vals, randomValue(rng))
	}
	for _, x := range vals {
		var le [ByteSize]byte
		x.FillBytes(le[:])
		slices.Reverse(le[:])
		var n Num3072
		n.setRaw(&le)
		if toBig(&n).Cmp(x) != 0 {
			t.Fatalf("setRaw(%x) = %x", x, toBig(&n))
		}
		var out [ByteSize]byte
		n.putRaw(&out)
		if out != le {
			t.Fatalf("putRaw(%x) = %x", x, out)
		}
	}
}
