package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

// TestCoinEncoding checks the key and value against bytes written out by
// hand from the format (doc.go).
func TestCoinEncoding(t *testing.T) {
	var txid [32]byte
	for i := range txid {
		txid[i] = byte(i)
	}
	key := CoinKey(txid, 0x01020304)
	if got, want := hex.EncodeToString(key), hex.EncodeToString(txid[:])+"04030201"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
	p2pkh := append(append([]byte{0x76, 0xa9, 0x14}, bytes.Repeat([]byte{0x11}, 20)...), 0x88, 0xac)
	for _, tc := range []struct {
		value    int64
		script   []byte
		height   int32
		coinbase bool
		want     string
	}{
		// 840000<<1|1 = 0x19a281; 3.125 BTC = 0x12a05f20; 25-byte script.
		{312500000, p2pkh, 840000, true, "81a21900" + "205fa01200000000" + "19" + hex.EncodeToString(p2pkh)},
		{0, nil, 0, false, "00000000" + "0000000000000000" + "00"},
		{1, bytes.Repeat([]byte{0x6a}, 253), 1, false, "02000000" + "0100000000000000" + "fdfd00" + strings.Repeat("6a", 253)},
		{1, bytes.Repeat([]byte{0}, 10000), 1, false, "02000000" + "0100000000000000" + "fd1027" + strings.Repeat("00", 10000)},
	} {
		if got := hex.EncodeToString(CoinValue(tc.value, tc.script, tc.height, tc.coinbase)); got != tc.want {
			t.Errorf("CoinValue(%d, %d-byte script, %d, %v) = %.60s…, want %.60s…", tc.value, len(tc.script),
				tc.height, tc.coinbase, got, tc.want)
		}
	}
	if got := appendCompactSize(nil, 0x10000); !bytes.Equal(got, []byte{0xfe, 0, 0, 1, 0}) {
		t.Errorf("CompactSize(65536) = %x", got)
	}
	if got := appendCompactSize(nil, 1<<32); !bytes.Equal(got, []byte{0xff, 0, 0, 0, 0, 1, 0, 0, 0}) {
		t.Errorf("CompactSize(2^32) = %x", got)
	}
}

// TestSMTAgainstReference proves every leaf of a reference tree, and
// many absent keys (between leaves, below the first, above the last),
// with the builders, and checks ics23 itself and this package accept them.
func TestSMTAgainstReference(t *testing.T) {
	f := newFixture(t, 1, 300, nil)
	root := f.tree.root()
	var sizes struct{ member, absent, maxMember, maxAbsent, depth int }
	for i, l := range f.tree.leaves {
		p := f.tree.member(i)
		if !ics23.VerifyMembership(ics23.SmtSpec, root[:], p, l.key, l.value) {
			t.Fatalf("leaf %d: ics23 refuses the membership proof", i)
		}
		b := mustEncode(t, p)
		q, err := DecodeProof(b)
		if err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if err := VerifyCoinMembership(root[:], q, l.key, l.value); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		sizes.member += len(b)
		sizes.maxMember = max(sizes.maxMember, len(b))
		sizes.depth = max(sizes.depth, len(p.GetExist().Path))
		// A proof of one value is no proof of another.
		if err := VerifyCoinMembership(root[:], q, l.key, append(l.value[:len(l.value):len(l.value)], 0)); !errors.Is(err, ErrProof) {
			t.Fatalf("leaf %d: other value: %v", i, err)
		}
	}

	rng := rand.New(rand.NewPCG(2, 2))
	first, last := f.tree.leaves[0].path, f.tree.leaves[len(f.tree.leaves)-1].path
	var below, above, between int
	for n := 0; n < 20000 && (below < 3 || above < 3 || between < 300); n++ {
		op := randOutpoint(rng)
		key := op.Key()
		path := sha256.Sum256(key)
		switch {
		case bytes.Compare(path[:], first[:]) < 0:
			if below >= 3 {
				continue
			}
			below++
		case bytes.Compare(path[:], last[:]) > 0:
			if above >= 3 {
				continue
			}
			above++
		default:
			if between >= 300 {
				continue
			}
			between++
		}
		p := f.tree.absent(key)
		ne := p.GetNonexist()
		if (ne.Left == nil) != (bytes.Compare(path[:], first[:]) < 0) || (ne.Right == nil) != (bytes.Compare(path[:], last[:]) > 0) {
			t.Fatalf("absent %v: neighbours %v %v", op, ne.Left != nil, ne.Right != nil)
		}
		if !ics23.VerifyNonMembership(ics23.SmtSpec, root[:], p, key) {
			t.Fatalf("absent %v: ics23 refuses the non-membership proof", op)
		}
		b := mustEncode(t, p)
		q, err := DecodeProof(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyCoinAbsence(root[:], q, key); err != nil {
			t.Fatalf("absent %v: %v", op, err)
		}
		if err := VerifyCoinMembership(root[:], q, key, []byte{1}); !errors.Is(err, ErrProofKind) {
			t.Fatalf("absence as membership: %v", err)
		}
		sizes.absent += len(b)
		sizes.maxAbsent = max(sizes.maxAbsent, len(b))
	}
	if below < 3 || above < 3 || between < 300 {
		t.Fatalf("found %d below, %d above, %d between", below, above, between)
	}
	n := len(f.tree.leaves)
	t.Logf("%d leaves, depth ≤ %d: membership proofs %d bytes on average (max %d), non-membership %d (max %d)",
		n, sizes.depth, sizes.member/n, sizes.maxMember, sizes.absent/(below+above+between), sizes.maxAbsent)
}

// TestAbsenceOfPresentKey: leaves around a present key are not
// neighbours, so they cannot prove it absent, nor can the key's own leaf.
func TestAbsenceOfPresentKey(t *testing.T) {
	f := newFixture(t, 3, 200, nil)
	root := f.tree.root()
	n := len(f.tree.leaves)
	for i, l := range f.tree.leaves {
		var cases []*ics23.CommitmentProof
		switch {
		case i == 0:
			cases = append(cases, SMTNonExistence(l.key, nil, f.tree.exist(1)))
		case i == n-1:
			cases = append(cases, SMTNonExistence(l.key, f.tree.exist(n-2), nil))
		default:
			cases = append(cases, SMTNonExistence(l.key, f.tree.exist(i-1), f.tree.exist(i+1)))
		}
		cases = append(cases, SMTNonExistence(l.key, f.tree.exist(i), nil), SMTNonExistence(l.key, nil, f.tree.exist(i)))
		if i > 0 {
			cases = append(cases, SMTNonExistence(l.key, f.tree.exist(i-1), f.tree.exist(i)))
		}
		for j, p := range cases {
			if ics23.VerifyNonMembership(ics23.SmtSpec, root[:], p, l.key) {
				t.Fatalf("leaf %d case %d: ics23 accepts absence of a present key", i, j)
			}
			if err := VerifyCoinAbsence(root[:], p, l.key); err == nil {
				t.Fatalf("leaf %d case %d: absence of a present key accepted", i, j)
			}
		}
	}
}

// TestSmallTrees covers the trees with no inner node on some path: empty,
// one leaf, two leaves.
func TestSmallTrees(t *testing.T) {
	a, b, c := []byte("key a"), []byte("key b"), []byte("key c")
	tr := newRefTree()
	empty := tr.root()
	if empty != EmptyRoot {
		t.Fatalf("empty root %x", empty)
	}
	if err := VerifyCoinAbsence(empty[:], tr.absent(a), a); err != nil {
		t.Errorf("absence in the empty tree: %v", err)
	}
	if err := VerifyCoinAbsence([]byte(strings.Repeat("x", 32)), tr.absent(a), a); !errors.Is(err, ErrProof) {
		t.Errorf("no neighbours in a non-empty tree: %v", err)
	}

	tr.put(a, []byte("value a"))
	one := tr.root()
	if p := tr.member(0); len(p.GetExist().Path) != 0 || VerifyCoinMembership(one[:], p, a, []byte("value a")) != nil {
		t.Errorf("one leaf: %v", VerifyCoinMembership(one[:], p, a, []byte("value a")))
	}
	for _, k := range [][]byte{b, c} {
		if err := VerifyCoinAbsence(one[:], tr.absent(k), k); err != nil {
			t.Errorf("one leaf, absent %q: %v", k, err)
		}
	}
	if err := VerifyCoinAbsence(one[:], SMTNonExistence(b, nil, nil), b); !errors.Is(err, ErrProof) {
		t.Errorf("one leaf, no neighbours: %v", err)
	}

	tr.put(b, []byte("value b"))
	two := tr.root()
	for i := range tr.leaves {
		if err := VerifyCoinMembership(two[:], tr.member(i), tr.leaves[i].key, tr.leaves[i].value); err != nil {
			t.Errorf("two leaves, leaf %d: %v", i, err)
		}
	}
	if err := VerifyCoinAbsence(two[:], tr.absent(c), c); err != nil {
		t.Errorf("two leaves, absent: %v", err)
	}
}

// TestHostileProofs are proofs on which ics23 v0.11.0 panics, or would
// be led astray, and which this package refuses with an error.
func TestHostileProofs(t *testing.T) {
	leafOp := smtLeafOp()
	// Keys ordered by their paths: kl < k < kr.
	keys := [][]byte{[]byte("k0"), []byte("k1"), []byte("k2"), []byte("k3"), []byte("k4")}
	sortByPath(keys)
	kl, k, kr := keys[0], keys[2], keys[4]
	lh, _ := leafOp.Apply(kl, []byte("v"))
	rh, _ := leafOp.Apply(kr, []byte("v"))
	filler := bytes.Repeat([]byte{7}, 32)

	// A node with three children: the left leaf sees (01, suffix rh ‖
	// filler), the right one (01 ‖ lh, suffix filler). Both pass
	// CheckAgainstSpec and compute the same root, and the divergent op
	// has no binary padding: isLeftStep panics.
	threeAry := SMTNonExistence(k,
		&ics23.ExistenceProof{Key: kl, Value: []byte("v"), Leaf: leafOp,
			Path: []*ics23.InnerOp{{Hash: ics23.HashOp_SHA256, Prefix: []byte{1}, Suffix: append(append([]byte(nil), rh...), filler...)}}},
		&ics23.ExistenceProof{Key: kr, Value: []byte("v"), Leaf: leafOp,
			Path: []*ics23.InnerOp{{Hash: ics23.HashOp_SHA256, Prefix: append([]byte{1}, lh...), Suffix: filler}}})
	root, err := threeAry.Calculate()
	if err != nil {
		t.Fatal(err)
	}
	if !panics(func() { ics23.VerifyNonMembership(ics23.SmtSpec, root, threeAry, k) }) {
		t.Error("ics23 no longer panics on a three-child node: the guard is still right, the comment is stale")
	}
	if err := VerifyCoinAbsence(root, threeAry, k); !errors.Is(err, ErrMalformed) {
		t.Errorf("three-child node: %v", err)
	}
	// The recover alone, without the shape check, also holds.
	if err := guarded(func() bool { return ics23.VerifyNonMembership(ics23.SmtSpec, root, threeAry, k) }); !errors.Is(err, ErrMalformed) {
		t.Errorf("guarded: %v", err)
	}

	// A compressed batch whose lookup index is out of range.
	compressed := &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Compressed{Compressed: &ics23.CompressedBatchProof{
		Entries: []*ics23.CompressedBatchEntry{{Proof: &ics23.CompressedBatchEntry_Exist{Exist: &ics23.CompressedExistenceProof{
			Key: k, Value: []byte("v"), Leaf: leafOp, Path: []int32{5}}}}}}}}
	if !panics(func() { ics23.VerifyMembership(ics23.SmtSpec, root, compressed, k, []byte("v")) }) {
		t.Error("ics23 no longer panics on a bad lookup index")
	}
	if err := VerifyCoinMembership(root, compressed, k, []byte("v")); !errors.Is(err, ErrMalformed) {
		t.Errorf("compressed: %v", err)
	}
	if b, err := compressed.Marshal(); err != nil {
		t.Fatal(err)
	} else if _, err := DecodeProof(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeProof(compressed): %v", err)
	}

	// A nil inner op, which protobuf never yields but a Go caller can.
	nilOp := &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: &ics23.ExistenceProof{
		Key: k, Value: []byte("v"), Leaf: leafOp, Path: []*ics23.InnerOp{nil}}}}
	if !panics(func() { ics23.VerifyMembership(ics23.SmtSpec, root, nilOp, k, []byte("v")) }) {
		t.Error("ics23 no longer panics on a nil inner op")
	}
	if err := VerifyCoinMembership(root, nilOp, k, []byte("v")); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil op: %v", err)
	}

	// A leaf op whose prefix only starts with 00: ics23 accepts it.
	long := smtLeafOp()
	long.Prefix = []byte{0, 0}
	if err := VerifyCoinMembership(root, &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: &ics23.ExistenceProof{
		Key: k, Value: []byte("v"), Leaf: long}}}, k, []byte("v")); !errors.Is(err, ErrMalformed) {
		t.Errorf("long leaf prefix: %v", err)
	}
	// Neither proof nor root may be nil.
	if err := VerifyCoinMembership(nil, nil, k, []byte("v")); err == nil {
		t.Error("nil proof accepted")
	}
	if err := VerifyCoinAbsence(nil, nil, k); err == nil {
		t.Error("nil proof accepted")
	}
}

func panics(f func()) (did bool) {
	defer func() { did = recover() != nil }()
	f()
	return false
}

func sortByPath(keys [][]byte) {
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			pi, pj := sha256.Sum256(keys[i]), sha256.Sum256(keys[j])
			if bytes.Compare(pi[:], pj[:]) > 0 {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
}

// TestDecodeProofCanonical: only the canonical bytes of a proof decode.
func TestDecodeProofCanonical(t *testing.T) {
	f := newFixture(t, 4, 20, nil)
	b := mustEncode(t, f.tree.member(3))
	if _, err := DecodeProof(b); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"unknown field": append(append([]byte(nil), b...), 0x50, 0x01), // field 10, varint 1
		"truncated":     b[:len(b)-1],
		"empty":         nil,
		"too large":     make([]byte, MaxHexBytes+1),
	} {
		if _, err := DecodeProof(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
