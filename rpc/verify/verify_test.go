package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/crypto/merkle"
)

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestWorkedAppHash checks the v2 app hash built in these tests against
// the worked example of consensus/apphash/doc.go (the server's), and
// that VerifyCommitment accepts each commitment's proof and only it.
func TestWorkedAppHash(t *testing.T) {
	fill := func(b byte) [32]byte { return [32]byte(bytes.Repeat([]byte{b}, 32)) }
	c := commitments{tip: BitcoinTip{Height: 840000, Hash: fill(3)}, consensus: fill(4), muhash: fill(2), utxo: fill(1)}
	if got := hex.EncodeToString(TipValue(c.tip)); got != "000cd140"+strings.Repeat("03", 32) {
		t.Errorf("btc_tip value %s", got)
	}
	l := c.leaves()
	for i, want := range []string{
		"fc3f764e314222efae5dc0617e4e6dbf5cdf6aeadce823b399adab0571b9764d",
		"f8433cd0ea1fc5c9d3ea720cbde29d3ce76e3aaeee2b866cbe441ce68ae1060f",
		"cc75b92d3c1c0192d1be76000777bcdc1b7064777f10ae479fec97e0d4e9b237",
		"50b13bdc698ce960a733140cd5b8488950fa152ec7d229ea6267e3243a9a3bd0",
	} {
		if got := hex.EncodeToString(l[i][:]); got != want {
			t.Errorf("%s leaf %s, want %s", appHashNames[i], got, want)
		}
	}
	root := c.root()
	if m := merkle.HashFromByteSlices(c.items()); !bytes.Equal(m, root[:]) {
		t.Errorf("crypto/merkle root %x, ours %x", m, root)
	}
	if got := hex.EncodeToString(root[:]); got != "241d314a39db02530784175b8856add313776aa7a4e741848b84e5b86d4763f6" {
		t.Fatalf("root %s", got)
	}
	for i, name := range appHashNames {
		for j := range appHashNames {
			err := VerifyCommitment(root[:], c.prove(j), name, c.values()[i])
			if (err == nil) != (i == j) {
				t.Errorf("proof of %s as %s: %v", appHashNames[j], name, err)
			}
		}
	}
	if err := VerifyCommitment(root[:], c.prove(3), "other", c.utxo[:]); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown name: %v", err)
	}

	// Random commitments: the root and every proof's siblings are
	// crypto/merkle's (its aunts, bottom-up, are the ops' siblings).
	for seed := uint64(0); seed < 4; seed++ {
		f := newFixture(t, seed, 3, nil)
		mroot, mproofs := merkle.ProofsFromByteSlices(f.c.items())
		if !bytes.Equal(mroot, f.appHash[:]) {
			t.Fatalf("seed %d: crypto/merkle root %x, ours %x", seed, mroot, f.appHash)
		}
		for i := range appHashNames {
			path := f.c.prove(i).GetExist().Path
			for d, aunt := range mproofs[i].Aunts {
				sib := path[d].Suffix
				if len(sib) == 0 {
					sib = path[d].Prefix[1:]
				}
				if !bytes.Equal(sib, aunt) {
					t.Errorf("seed %d, %s, level %d: sibling %x, aunt %x", seed, appHashNames[i], d, sib, aunt)
				}
			}
		}
	}
}

// TestVerifyUTXO proves every coin of a set unspent and many outpoints
// absent, through the JSON a file carries.
func TestVerifyUTXO(t *testing.T) {
	f := newFixture(t, 5, 200, nil)
	check := func(op Outpoint, unspent bool) {
		t.Helper()
		data := mustJSON(t, f.utxoProof(t, op))
		file, err := DecodeFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r, err := VerifyUTXO(file.UTXO, f.appHash[:])
		if err != nil {
			t.Fatalf("%v: %v", op, err)
		}
		if r.Outpoint != op || r.Unspent != unspent || r.Height != f.height || r.HeaderHeight != f.height+1 ||
			r.Bitcoin != f.c.tip || r.UTXORoot != f.c.utxo || r.AppHash != f.appHash || r.ChainID != f.chainID {
			t.Fatalf("%v: result %+v", op, r)
		}
		if unspent {
			if c := f.coins[op]; r.Coin == nil || r.Coin.Value != c.Value || !bytes.Equal(r.Coin.ScriptPubKey, c.ScriptPubKey) ||
				r.Coin.Height != c.Height || r.Coin.Coinbase != c.Coinbase {
				t.Fatalf("%v: coin %+v, want %+v", op, r.Coin, c)
			}
		} else if r.Coin != nil {
			t.Fatalf("%v: absent with coin %+v", op, r.Coin)
		}
	}
	for _, op := range f.ops {
		check(op, true)
	}
	for i, op := range f.ops {
		op.Vout += 100 // the same txids, other outputs: absent
		check(op, false)
		if i == 50 {
			break
		}
	}
}

// hexFields are a proof's hex fields, to tamper with.
func hexFields(p *UTXOProof) map[string]*Hex {
	m := map[string]*Hex{"app_hash": &p.AppHash, "utxo_root": &p.UTXORoot, "tip_proof": &p.TipProof,
		"root_proof": &p.RootProof, "proof": &p.Proof}
	if p.Coin != nil {
		m["script_pubkey"] = &p.Coin.ScriptPubKey
	}
	return m
}

// TestVerifyUTXOTamper: any one changed byte, anywhere, and any changed
// field is refused.
func TestVerifyUTXOTamper(t *testing.T) {
	f := newFixture(t, 6, 300, nil)
	present := f.ops[7]
	absent := present
	absent.Vout += 100
	for _, op := range []Outpoint{present, absent} {
		p := f.utxoProof(t, op)
		if _, err := VerifyUTXO(p, f.appHash[:]); err != nil {
			t.Fatal(err)
		}
		for name, field := range hexFields(p) {
			b := *field
			for i := range b {
				for _, mask := range []byte{0x01, 0xff} {
					b[i] ^= mask
					_, err := VerifyUTXO(p, f.appHash[:])
					b[i] ^= mask
					var e *Error
					if !errors.As(err, &e) {
						t.Fatalf("%v: %s byte %d ^ %02x: accepted (%v)", op, name, i, mask, err)
					}
				}
			}
			// Longer and shorter.
			*field = append(b[:len(b):len(b)], 0)
			if _, err := VerifyUTXO(p, f.appHash[:]); err == nil {
				t.Fatalf("%v: %s with a byte more: accepted", op, name)
			}
			*field = b[:len(b)-1]
			if _, err := VerifyUTXO(p, f.appHash[:]); err == nil {
				t.Fatalf("%v: %s with a byte less: accepted", op, name)
			}
			*field = b
		}
		for i := 0; i < 32; i++ {
			p.Bitcoin.Hash[i] ^= 1
			if _, err := VerifyUTXO(p, f.appHash[:]); !errors.Is(err, ErrProof) {
				t.Fatalf("%v: bitcoin hash byte %d: %v", op, i, err)
			}
			p.Bitcoin.Hash[i] ^= 1
			p.Outpoint.TxID[i] ^= 1
			if _, err := VerifyUTXO(p, f.appHash[:]); err == nil {
				t.Fatalf("%v: txid byte %d: accepted", op, i)
			}
			p.Outpoint.TxID[i] ^= 1
		}
	}

	mutations := []struct {
		name string
		f    func(p *UTXOProof)
		want error
	}{
		{"bitcoin height+1", func(p *UTXOProof) { p.Bitcoin.Height++ }, ErrProof},
		{"bitcoin height-1", func(p *UTXOProof) { p.Bitcoin.Height-- }, ErrProof},
		{"bitcoin height negative", func(p *UTXOProof) { p.Bitcoin.Height = -1 }, ErrMalformed},
		{"vout+1", func(p *UTXOProof) { p.Outpoint.Vout++ }, ErrProof},
		{"value+1", func(p *UTXOProof) { p.Coin.Value++ }, ErrProof},
		{"value-1", func(p *UTXOProof) { p.Coin.Value-- }, ErrProof},
		{"value over 21M BTC", func(p *UTXOProof) { p.Coin.Value = MaxSatoshi + 1 }, ErrMalformed},
		{"coin height+1", func(p *UTXOProof) { p.Coin.Height++ }, ErrProof},
		{"coinbase", func(p *UTXOProof) { p.Coin.Coinbase = !p.Coin.Coinbase }, ErrProof},
		{"other script", func(p *UTXOProof) { p.Coin.ScriptPubKey = Hex{0x51} }, ErrProof},
		{"no script", func(p *UTXOProof) { p.Coin.ScriptPubKey = nil }, ErrProof},
		{"claimed spent", func(p *UTXOProof) { p.Unspent, p.Coin = false, nil }, ErrProofKind},
		{"spent with coin", func(p *UTXOProof) { p.Unspent = false }, ErrMalformed},
		{"unspent without coin", func(p *UTXOProof) { p.Coin = nil }, ErrMalformed},
		{"version 1", func(p *UTXOProof) { p.AppHashVersion = 1 }, ErrVersion},
		{"version 3", func(p *UTXOProof) { p.AppHashVersion = 3 }, ErrVersion},
		{"height+1", func(p *UTXOProof) { p.Height++ }, ErrMalformed},
		{"header height+1", func(p *UTXOProof) { p.HeaderHeight++ }, ErrMalformed},
		{"kind", func(p *UTXOProof) { p.Kind = KindReserves }, ErrMalformed},
		{"tip proof as root proof", func(p *UTXOProof) { p.RootProof = p.TipProof }, ErrProof},
		{"root proof as tip proof", func(p *UTXOProof) { p.TipProof = p.RootProof }, ErrProof},
		{"no proof", func(p *UTXOProof) { p.Proof = nil }, ErrMalformed},
	}
	for _, m := range mutations {
		p := cloneUTXO(t, f.utxoProof(t, present))
		m.f(p)
		if _, err := VerifyUTXO(p, f.appHash[:]); !errors.Is(err, m.want) {
			t.Errorf("%s: %v, want %v", m.name, err, m.want)
		}
	}
	// Absent, claimed unspent with an invented coin.
	p := f.utxoProof(t, absent)
	p.Unspent, p.Coin = true, &Coin{Value: 1e8, ScriptPubKey: Hex{0x51}}
	if _, err := VerifyUTXO(p, f.appHash[:]); !errors.Is(err, ErrProofKind) {
		t.Errorf("absent claimed unspent: %v", err)
	}
}

// TestVerifyUTXOOtherState: proofs from another state do not verify
// against this one, in whole or in part.
func TestVerifyUTXOOtherState(t *testing.T) {
	f := newFixture(t, 7, 100, nil)
	g := newFixture(t, 7, 101, nil) // one coin more: another root, tip, app hash
	op := f.ops[3]
	p := f.utxoProof(t, op)
	if _, err := VerifyUTXO(p, g.appHash[:]); !errors.Is(err, ErrAppHash) {
		t.Errorf("app hash of another height: %v", err)
	}
	for name, swap := range map[string]func(p, q *UTXOProof){
		"app hash":   func(p, q *UTXOProof) { p.AppHash = q.AppHash },
		"utxo root":  func(p, q *UTXOProof) { p.UTXORoot = q.UTXORoot },
		"root proof": func(p, q *UTXOProof) { p.RootProof = q.RootProof },
		"tip":        func(p, q *UTXOProof) { p.Bitcoin = q.Bitcoin },
		"tip proof":  func(p, q *UTXOProof) { p.TipProof = q.TipProof },
		"tip and its proof": func(p, q *UTXOProof) {
			p.Bitcoin, p.TipProof = q.Bitcoin, q.TipProof
		},
		"root and its proof": func(p, q *UTXOProof) { p.UTXORoot, p.RootProof = q.UTXORoot, q.RootProof },
		"coin proof":         func(p, q *UTXOProof) { p.Proof = q.Proof },
	} {
		p, q := f.utxoProof(t, op), g.utxoProof(t, op)
		swap(p, q)
		if _, err := VerifyUTXO(p, f.appHash[:]); err == nil {
			t.Errorf("%s of another state: accepted", name)
		}
	}

	// An existing coin "proven" absent by the leaves around it.
	i := f.tree.index(op.Key())
	p = f.utxoProof(t, op)
	p.Unspent, p.Coin = false, nil
	p.Proof = mustEncode(t, SMTNonExistence(op.Key(), f.tree.exist(i-1), f.tree.exist(i+1)))
	if _, err := VerifyUTXO(p, f.appHash[:]); !errors.Is(err, ErrProof) {
		t.Errorf("absence of an existing coin: %v", err)
	}
	// An absent outpoint "proven" unspent by its neighbour's membership.
	absent := op
	absent.Vout += 100
	p = f.utxoProof(t, absent)
	ne := f.tree.absent(absent.Key()).GetNonexist()
	c := f.coins[f.ops[0]]
	p.Unspent, p.Coin = true, &c
	nb := ne.Left
	if nb == nil {
		nb = ne.Right
	}
	p.Proof = mustEncode(t, f.tree.member(f.tree.index(nb.Key)))
	if _, err := VerifyUTXO(p, f.appHash[:]); !errors.Is(err, ErrProof) {
		t.Errorf("neighbour's membership: %v", err)
	}
}

// TestJSONFormat pins the field names, the hex and the byte order.
func TestJSONFormat(t *testing.T) {
	f := newFixture(t, 8, 10, nil)
	op := f.ops[0]
	for _, unspent := range []bool{true, false} {
		o := op
		if !unspent {
			o.Vout += 100
		}
		data := mustJSON(t, f.utxoProof(t, o))
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		want := []string{"app_hash", "app_hash_version", "bitcoin", "chain_id", "header_height", "height", "kind",
			"outpoint", "proof", "root_proof", "tip_proof", "unspent", "utxo_root"}
		if unspent {
			want = append(want, "coin")
		}
		slices.Sort(want)
		var got []string
		for k := range m {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("fields %v, want %v", got, want)
		}
		txid := op.TxID
		slices.Reverse(txid[:])
		if s := string(m["outpoint"]); s != `"`+hex.EncodeToString(txid[:])+":"+itoa(o.Vout)+`"` {
			t.Errorf("outpoint %s", s)
		}
		tipHash := f.c.tip.Hash
		slices.Reverse(tipHash[:])
		if s := string(m["bitcoin"]); s != `{"height":`+itoa(uint32(f.c.tip.Height))+`,"hash":"`+hex.EncodeToString(tipHash[:])+`"}` {
			t.Errorf("bitcoin %s", s)
		}
		if unspent {
			c := f.coins[op]
			if s, w := string(m["coin"]), `{"value":`+itoa64(c.Value)+`,"script_pubkey":"`+hex.EncodeToString(c.ScriptPubKey)+
				`","height":`+itoa(uint32(c.Height))+`,"coinbase":`+map[bool]string{true: "true", false: "false"}[c.Coinbase]+`}`; s != w {
				t.Errorf("coin %s, want %s", s, w)
			}
		}
		// What decodes encodes to the same bytes.
		file, err := DecodeFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if again := mustJSON(t, file.UTXO); !bytes.Equal(again, data) {
			t.Errorf("round trip:\n%s\n%s", data, again)
		}
	}
}

func itoa(v uint32) string  { return itoa64(int64(v)) }
func itoa64(v int64) string { b, _ := json.Marshal(v); return string(b) }

// TestDecodeStrict: the decoder refuses what it does not understand.
func TestDecodeStrict(t *testing.T) {
	f := newFixture(t, 9, 10, nil)
	good := string(mustJSON(t, f.utxoProof(t, f.ops[0])))
	appHex := hex.EncodeToString(f.appHash[:])
	txid := f.ops[0].TxID.String()
	for name, bad := range map[string]string{
		"unknown field":  strings.Replace(good, `"kind":"utxo"`, `"kind":"utxo","extra":1`, 1),
		"unknown kind":   strings.Replace(good, `"kind":"utxo"`, `"kind":"other"`, 1),
		"no kind":        strings.Replace(good, `"kind":"utxo",`, ``, 1),
		"upper-case hex": strings.Replace(good, appHex, strings.ToUpper(appHex), 1),
		"odd hex":        strings.Replace(good, appHex, appHex[1:], 1),
		"trailing data":  good + `{}`,
		"vout 01":        strings.Replace(good, txid+":", txid+":0", 1),
		"vout -1":        strings.Replace(good, txid+":"+itoa(f.ops[0].Vout), txid+":-1", 1),
		"vout 2^32":      strings.Replace(good, txid+":"+itoa(f.ops[0].Vout), txid+":4294967296", 1),
		"no vout":        strings.Replace(good, txid+":"+itoa(f.ops[0].Vout), txid, 1),
		"short txid":     strings.Replace(good, txid, txid[2:], 1),
		"not JSON":       "proof",
		"empty":          "",
	} {
		if bad == good {
			t.Fatalf("%s: no change", name)
		}
		if _, err := DecodeFile(strings.NewReader(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := DecodeFile(strings.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeReservesProof(strings.NewReader(good)); !errors.Is(err, ErrMalformed) {
		t.Errorf("utxo proof as reserves: %v", err)
	}
	huge := `{"kind":"utxo","proof":"` + strings.Repeat("00", MaxHexBytes+1) + `"}`
	if _, err := DecodeUTXOProof(strings.NewReader(huge)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge field: %v", err)
	}
	r := io.MultiReader(strings.NewReader(`{"kind":"utxo","chain_id":"`), io.LimitReader(zeros{}, MaxFileBytes))
	if _, err := DecodeFile(r); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge file: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
