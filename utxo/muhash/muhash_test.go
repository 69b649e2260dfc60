package muhash

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	_ encoding.BinaryMarshaler   = (*MuHash3072)(nil)
	_ encoding.BinaryUnmarshaler = (*MuHash3072)(nil)
	_ encoding.BinaryAppender    = (*MuHash3072)(nil)
	_ fmt.Stringer               = Digest{}
)

func members(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 40+rng.IntN(60))
		for j := range out[i] {
			out[i][j] = byte(rng.Uint32())
		}
	}
	return out
}

func TestOrderIndependence(t *testing.T) {
	set := members(30, 1)
	ref := New()
	for _, d := range set {
		ref.Insert(d)
	}
	want := ref.Finalize()
	rng := rand.New(rand.NewPCG(2, 3))
	for range 10 {
		perm := rng.Perm(len(set))
		m := New()
		for _, i := range perm {
			m.Insert(set[i])
		}
		if got := m.Finalize(); got != want {
			t.Fatalf("permuted insertion gives %v, want %v", got, want)
		}
	}
	// Interleaving extra inserts with their removals, in any order, changes
	// nothing either.
	extra := members(10, 4)
	m := New()
	for i, d := range set {
		m.Insert(d)
		if i < len(extra) {
			m.Remove(extra[i])
		}
	}
	for _, d := range extra {
		m.Insert(d)
	}
	if got := m.Finalize(); got != want {
		t.Fatalf("insert/remove interleaving gives %v, want %v", got, want)
	}
}

func TestInsertThenRemoveIsEmpty(t *testing.T) {
	empty := New().Finalize()
	for _, d := range members(20, 5) {
		m := New()
		m.Insert(d)
		if m.Finalize() == empty {
			t.Fatal("one member finalizes to the empty set")
		}
		m.Remove(d)
		if got := m.Finalize(); got != empty {
			t.Fatalf("insert+remove gives %v, want empty %v", got, empty)
		}
	}
}

func TestCombineDivideByMatchInsertRemove(t *testing.T) {
	a, b := members(8, 6), members(5, 7)
	direct := New()
	ma, mb := New(), New()
	for _, d := range a {
		direct.Insert(d)
		ma.Insert(d)
	}
	for _, d := range b {
		direct.Remove(d)
		mb.Insert(d)
	}
	combined := New()
	combined.Combine(ma)
	combined.DivideBy(mb)
	if combined.Finalize() != direct.Finalize() {
		t.Fatal("Combine/DivideBy differs from Insert/Remove")
	}
	// A state with a denominator divides correctly too: (A/B) / (A/B) = 1.
	ab := New()
	ab.Combine(ma)
	ab.DivideBy(mb)
	self := New()
	self.Combine(ab)
	self.DivideBy(ab)
	if self.Finalize() != New().Finalize() {
		t.Fatal("(A/B)/(A/B) is not the empty set")
	}
	// Dividing a state by itself, aliased.
	ab.DivideBy(ab)
	if ab.Finalize() != New().Finalize() {
		t.Fatal("m.DivideBy(m) is not the empty set")
	}
	// Combining with or dividing by the zero value changes nothing.
	var zero MuHash3072
	before := direct.Finalize()
	direct.Combine(&zero)
	direct.DivideBy(&zero)
	if direct.Finalize() != before {
		t.Fatal("zero value is not the empty set for Combine/DivideBy")
	}
}

// TestEngineStyleMatchesAccumulator: batching per block (product of
// inserted and removed elements, one Div into a running state) equals the
// MuHash3072 accumulator over the same history.
func TestEngineStyleMatchesAccumulator(t *testing.T) {
	acc := New()
	state := One()
	var live [][]byte
	rng := rand.New(rand.NewPCG(8, 9))
	for blk := range 5 {
		num, den := One(), One()
		for _, d := range members(10, uint64(100+blk)) {
			acc.Insert(d)
			e := Element(d)
			num.Mul(&e)
			live = append(live, d)
		}
		for range 4 {
			i := rng.IntN(len(live))
			d := live[i]
			live = append(live[:i], live[i+1:]...)
			acc.Remove(d)
			e := Element(d)
			den.Mul(&e)
		}
		state.Mul(&num)
		state.Div(&den)
		if got, want := DigestOf(&state), acc.Finalize(); got != want {
			t.Fatalf("block %d: batched %v, accumulator %v", blk, got, want)
		}
	}
	// And both equal a fresh insertion of what is left.
	fresh := New()
	for _, d := range live {
		fresh.Insert(d)
	}
	if fresh.Finalize() != DigestOf(&state) {
		t.Fatal("state differs from a fresh insertion of the live set")
	}
}

func TestFinalizeIdempotent(t *testing.T) {
	m := New()
	m.Insert([]byte("a"))
	m.Remove([]byte("b"))
	d1 := m.Finalize()
	if !m.den.IsOne() {
		t.Fatal("Finalize did not normalize the denominator")
	}
	if d2 := m.Finalize(); d2 != d1 {
		t.Fatal("second Finalize differs")
	}
	m.Insert([]byte("c"))
	m.Remove([]byte("c"))
	if d3 := m.Finalize(); d3 != d1 {
		t.Fatal("Finalize after insert+remove differs")
	}
}

func TestDigestString(t *testing.T) {
	var d Digest
	for i := range d {
		d[i] = byte(i)
	}
	want := "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
	if d.String() != want {
		t.Fatalf("String() = %s, want %s", d.String(), want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m := New()
	for _, d := range members(6, 10) {
		m.Insert(d)
	}
	m.Remove([]byte("gone"))
	b, err := m.MarshalBinary()
	if err != nil || len(b) != MarshaledSize {
		t.Fatalf("MarshalBinary: %d bytes, %v", len(b), err)
	}
	var back MuHash3072
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.num != m.num || back.den != m.den {
		t.Fatal("round trip changed the state")
	}
	b2, _ := back.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("re-marshaling differs")
	}
	if back.Finalize() != m.Finalize() {
		t.Fatal("round trip changed the digest")
	}
	prefix := []byte("xyz")
	app, _ := m.AppendBinary(prefix)
	mb, _ := m.MarshalBinary()
	if !bytes.Equal(app[:3], prefix) || !bytes.Equal(app[3:], mb) {
		t.Fatal("AppendBinary does not append the MarshalBinary encoding")
	}
	// The zero value marshals as the empty set.
	var zero MuHash3072
	zb, _ := zero.MarshalBinary()
	nb, _ := New().MarshalBinary()
	if !bytes.Equal(zb, nb) || zb[0] != 1 || zb[ByteSize] != 1 {
		t.Fatal("zero value does not marshal as 1/1")
	}
}

// TestMarshalCanonicalizes: an unreduced internal value (Element output can
// be one, as in Core) is written reduced, so the output always unmarshals.
func TestMarshalCanonicalizes(t *testing.T) {
	m := New()
	m.num = fromBig(t, new(big.Int).Add(refP(), big.NewInt(7)))
	b, _ := m.MarshalBinary()
	if b[0] != 7 || !bytes.Equal(b[1:ByteSize], make([]byte, ByteSize-1)) {
		t.Fatalf("numerator p+7 marshaled as %x...", b[:8])
	}
	var back MuHash3072
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := New().MarshalBinary()
	pLE := func() []byte {
		var le [ByteSize]byte
		refP().FillBytes(le[:])
		for i, j := 0, len(le)-1; i < j; i, j = i+1, j-1 {
			le[i], le[j] = le[j], le[i]
		}
		return le[:]
	}
	ones := bytes.Repeat([]byte{0xff}, ByteSize)
	cases := []struct {
		name string
		data []byte
		want error
		half string
	}{
		{"nil", nil, ErrLength, ""},
		{"short", good[:MarshaledSize-1], ErrLength, ""},
		{"long", append(append([]byte{}, good...), 0), ErrLength, ""},
		{"one half", good[:ByteSize], ErrLength, ""},
		{"numerator p", append(pLE(), good[ByteSize:]...), ErrNonCanonical, "numerator"},
		{"numerator 2^3072-1", append(append([]byte{}, ones...), good[ByteSize:]...), ErrNonCanonical, "numerator"},
		{"denominator p", append(append([]byte{}, good[:ByteSize]...), pLE()...), ErrNonCanonical, "denominator"},
	}
	for _, c := range cases {
		m := New()
		m.Insert([]byte("keep"))
		before := *m
		err := m.UnmarshalBinary(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if c.half != "" && (err == nil || !strings.Contains(err.Error(), c.half)) {
			t.Errorf("%s: error %v does not name the %s", c.name, err, c.half)
		}
		if *m != before {
			t.Errorf("%s: failed UnmarshalBinary modified the receiver", c.name)
		}
	}
}
