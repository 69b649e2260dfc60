package apphash

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cometbft/cometbft/crypto/merkle"
	ics23 "github.com/cosmos/ics23/go"
)

// example is the worked example of doc.go.
func example() Commitments {
	fill := func(b byte) [32]byte { return [32]byte(bytes.Repeat([]byte{b}, 32)) }
	return Commitments{UTXORoot: fill(1), MuHash: fill(2), TipHeight: 840000, TipHash: fill(3), Consensus: fill(4)}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkedExample checks doc.go's worked example line by line.
func TestWorkedExample(t *testing.T) {
	c := example()
	v, err := c.Value(NameBTCTip)
	if err != nil || !bytes.Equal(v, unhex(t, "000cd140"+hex.EncodeToString(bytes.Repeat([]byte{3}, 32)))) {
		t.Fatalf("btc_tip value %x (%v)", v, err)
	}
	item := EncodeItem(NameBTCTip, v)
	if want := unhex(t, "076274635f74697020"+"8c9db69863e8d5bf078dd936330e014f8d6f2dd72659e798c27ff337ed12a7bd"); !bytes.Equal(item, want) {
		t.Fatalf("btc_tip item %x, want %x", item, want)
	}
	leaves := c.leaves()
	for i, want := range []string{
		"fc3f764e314222efae5dc0617e4e6dbf5cdf6aeadce823b399adab0571b9764d",
		"f8433cd0ea1fc5c9d3ea720cbde29d3ce76e3aaeee2b866cbe441ce68ae1060f",
		"cc75b92d3c1c0192d1be76000777bcdc1b7064777f10ae479fec97e0d4e9b237",
		"50b13bdc698ce960a733140cd5b8488950fa152ec7d229ea6267e3243a9a3bd0",
	} {
		if got := hex.EncodeToString(leaves[i][:]); got != want {
			t.Errorf("%s leaf %s, want %s", names[i], got, want)
		}
	}
	l, r := innerHash(leaves[0], leaves[1]), innerHash(leaves[2], leaves[3])
	if hex.EncodeToString(l[:]) != "1b6584589ff75853cf6c062e6eb48af910ec2ba3029523e40a59c130e6807e76" ||
		hex.EncodeToString(r[:]) != "37919c57ba8a39b76be1193a578545a30e78fa6396a0783a68d4090873388634" {
		t.Errorf("inner nodes %x %x", l, r)
	}
	root := c.Root()
	if got := hex.EncodeToString(root[:]); got != "241d314a39db02530784175b8856add313776aa7a4e741848b84e5b86d4763f6" {
		t.Errorf("root %s", got)
	}
	if h, err := c.Hash(V2); err != nil || h != root {
		t.Errorf("Hash(V2) %x (%v), Root %x", h, err, root)
	}
	h1, err := c.Hash(V1)
	if got := hex.EncodeToString(h1[:]); err != nil || got != "848fe18dcc0f4a666e433581fc9102b955caa1914df20bd9cea38ffdc613808d" {
		t.Errorf("v1 hash %s (%v)", got, err)
	}
	// The proof of utxo: doc.go's two inner ops.
	p, _, err := c.Prove(NameUTXO)
	if err != nil {
		t.Fatal(err)
	}
	path := p.GetExist().Path
	if len(path) != 2 || !bytes.Equal(path[0].Prefix, append([]byte{1}, leaves[2][:]...)) || len(path[0].Suffix) != 0 ||
		!bytes.Equal(path[1].Prefix, append([]byte{1}, l[:]...)) || len(path[1].Suffix) != 0 {
		t.Errorf("utxo path %v", path)
	}
}

// samples are commitments to prove: the worked example and some that
// differ from it in one field each.
func samples() []Commitments {
	base := example()
	out := []Commitments{base, {}}
	for i := range 5 {
		c := base
		switch i {
		case 0:
			c.UTXORoot[0] ^= 0x80
		case 1:
			c.MuHash[31] ^= 1
		case 2:
			c.TipHeight = -1 // never on a chain, but encodes: u32be(0xffffffff)
		case 3:
			c.TipHash = sha256.Sum256([]byte("tip"))
		case 4:
			c.Consensus = sha256.Sum256([]byte("consensus"))
		}
		out = append(out, c)
	}
	return out
}

// TestRootIsCometBFTs: Root is crypto/merkle.HashFromByteSlices over the
// encoded items, and each proof's siblings are CometBFT's aunts.
func TestRootIsCometBFTs(t *testing.T) {
	seen := map[[32]byte]bool{}
	for _, c := range samples() {
		var items [][]byte
		for _, n := range Names() {
			v, err := c.Value(n)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, EncodeItem(n, v))
		}
		root := c.Root()
		if want := merkle.HashFromByteSlices(items); !bytes.Equal(root[:], want) {
			t.Fatalf("root %x, CometBFT %x", root, want)
		}
		if seen[root] {
			t.Fatalf("two samples share the root %x", root)
		}
		seen[root] = true
		_, proofs := merkle.ProofsFromByteSlices(items)
		for i, n := range Names() {
			p, _, err := c.Prove(n)
			if err != nil {
				t.Fatal(err)
			}
			path := p.GetExist().Path
			if len(path) != len(proofs[i].Aunts) {
				t.Fatalf("%s: %d inner ops, CometBFT %d aunts", n, len(path), len(proofs[i].Aunts))
			}
			for j, op := range path {
				sib := append(op.Prefix[1:], op.Suffix...)
				if !bytes.Equal(sib, proofs[i].Aunts[j]) {
					t.Fatalf("%s op %d: sibling %x, CometBFT aunt %x", n, j, sib, proofs[i].Aunts[j])
				}
			}
		}
	}
}

// TestProveVerifies: every name's proof verifies with ICS-23's
// TendermintSpec, and fails with a changed value, key, root or proof byte.
func TestProveVerifies(t *testing.T) {
	for _, c := range samples() {
		root := c.Root()
		for _, n := range Names() {
			p, value, err := c.Prove(n)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := c.Value(n); !bytes.Equal(value, want) {
				t.Fatalf("%s: Prove's value %x, Value %x", n, value, want)
			}
			if !ics23.VerifyMembership(ics23.TendermintSpec, root[:], p, []byte(n), value) {
				t.Fatalf("%s: the proof does not verify", n)
			}
			if calc, err := p.Calculate(); err != nil || !bytes.Equal(calc, root[:]) {
				t.Fatalf("%s: proof computes %x (%v), root %x", n, calc, err, root)
			}
			for i := range value {
				bad := bytes.Clone(value)
				bad[i] ^= 1
				if ics23.VerifyMembership(ics23.TendermintSpec, root[:], p, []byte(n), bad) {
					t.Fatalf("%s: verifies with value byte %d flipped", n, i)
				}
			}
			for _, other := range Names() {
				if other != n && ics23.VerifyMembership(ics23.TendermintSpec, root[:], p, []byte(other), value) {
					t.Fatalf("the proof of %s verifies for %s", n, other)
				}
			}
			badRoot := root
			badRoot[7] ^= 1
			if ics23.VerifyMembership(ics23.TendermintSpec, badRoot[:], p, []byte(n), value) {
				t.Fatalf("%s: verifies against another root", n)
			}
			// Every byte of every inner op matters.
			for j, op := range p.GetExist().Path {
				for _, field := range []*[]byte{&op.Prefix, &op.Suffix} {
					for k := range *field {
						(*field)[k] ^= 1
						ok := ics23.VerifyMembership(ics23.TendermintSpec, root[:], p, []byte(n), value)
						(*field)[k] ^= 1
						if ok {
							t.Fatalf("%s: verifies with byte %d of op %d flipped", n, k, j)
						}
					}
				}
			}
			if !ics23.VerifyMembership(ics23.TendermintSpec, root[:], p, []byte(n), value) {
				t.Fatalf("%s: the restored proof does not verify", n)
			}
		}
	}
}

// TestProofIsIndependent: a caller changing its proof changes neither the
// spec nor a later proof.
func TestProofIsIndependent(t *testing.T) {
	c := example()
	p, _, err := c.Prove(NameMuHash)
	if err != nil {
		t.Fatal(err)
	}
	p.GetExist().Leaf.Prefix[0] = 9
	if ics23.TendermintSpec.LeafSpec.Prefix[0] != 0 {
		t.Fatal("the proof shares ics23.TendermintSpec's leaf prefix")
	}
	root := c.Root()
	q, v, _ := c.Prove(NameMuHash)
	if !ics23.VerifyMembership(ics23.TendermintSpec, root[:], q, []byte(NameMuHash), v) {
		t.Fatal("a second proof does not verify")
	}
}

func TestUnknown(t *testing.T) {
	c := example()
	for _, n := range []string{"", "UTXO", "staking", "utxo "} {
		if _, err := c.Value(n); !errors.Is(err, ErrUnknownName) {
			t.Errorf("Value(%q): %v", n, err)
		}
		if _, _, err := c.Prove(n); !errors.Is(err, ErrUnknownName) {
			t.Errorf("Prove(%q): %v", n, err)
		}
	}
	for _, v := range []Version{0, 3, -1} {
		if v.Valid() {
			t.Errorf("version %d valid", v)
		}
		if _, err := c.Hash(v); !errors.Is(err, ErrUnknownVersion) {
			t.Errorf("Hash(%d): %v", v, err)
		}
	}
	if !V1.Valid() || !V2.Valid() || V2.String() != "v2" {
		t.Error("V1/V2")
	}
}

// TestConsensusRoot pins the consensus root's format.
func TestConsensusRoot(t *testing.T) {
	s, h, e := [32]byte{1}, [32]byte{2}, [32]byte{3}
	want := sha256.Sum256(append(append(append([]byte("satnode/consensus/v1"), s[:]...), h[:]...), e[:]...))
	if got := ConsensusRoot(s, h, e); got != want {
		t.Fatalf("%x, want %x", got, want)
	}
}
