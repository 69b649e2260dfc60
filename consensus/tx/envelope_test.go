package tx

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

func signed(t *testing.T, m Msg) *Envelope {
	t.Helper()
	e, err := Sign(testChainID, keyOf(1), 7, m)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, m := range goldenMsgs() {
		e := signed(t, m)
		if e.Signer != addrOf(1) || e.Nonce != 7 {
			t.Fatalf("%s: signer %s nonce %d", m.Kind(), e.Signer, e.Nonce)
		}
		b := e.Marshal()
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: Unmarshal: %v", m.Kind(), err)
		}
		if !reflect.DeepEqual(got, e) || !bytes.Equal(got.Marshal(), b) {
			t.Fatalf("%s: envelope does not round-trip", m.Kind())
		}
		wantCode(t, got.Verify(testChainID), CodeOK)
		gm, err := got.Msg()
		if err != nil || !reflect.DeepEqual(gm, m) {
			t.Fatalf("%s: Msg() = %+v, %v", m.Kind(), gm, err)
		}
		b[len(b)-1] ^= 1 // the envelope must not alias its input
		if !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("%s: envelope aliases its input", m.Kind())
		}
	}
}

// TestVerify flips every kind of covered input and checks each breaks the
// signature: the body, the nonce, the signer, the signature itself, the
// chain id, and the key.
func TestVerify(t *testing.T) {
	base := signed(t, goldenMsgs()[0])
	mut := func(f func(e *Envelope)) *Envelope {
		c := *base
		c.Body = append([]byte{}, base.Body...)
		f(&c)
		return &c
	}
	other, err := Sign(testChainID, keyOf(2), 7, goldenMsgs()[0])
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		e       *Envelope
		chainID string
		code    Code
	}{
		{"valid", base, testChainID, CodeOK},
		{"other chain", base, testChainID + "-2", CodeBadSignature},
		{"chain id prefix", base, testChainID[:len(testChainID)-1], CodeBadSignature},
		{"empty chain id", base, "", CodeWrongChain},
		{"chain id 65 bytes", base, strings.Repeat("c", 65), CodeWrongChain},
		{"chain id control char", base, "satnode\n", CodeWrongChain},
		{"chain id non-ASCII", base, "satnodé", CodeWrongChain},
		{"body bit", mut(func(e *Envelope) { e.Body[len(e.Body)-1] ^= 1 }), testChainID, CodeBadSignature},
		{"body extended", mut(func(e *Envelope) { e.Body = append(e.Body, 0) }), testChainID, CodeBadSignature},
		{"nonce bit", mut(func(e *Envelope) { e.Nonce ^= 1 }), testChainID, CodeBadSignature},
		{"nonce high bit", mut(func(e *Envelope) { e.Nonce ^= 1 << 63 }), testChainID, CodeBadSignature},
		{"signer other key", mut(func(e *Envelope) { e.Signer = addrOf(2) }), testChainID, CodeBadSignature},
		{"signer off-curve", mut(func(e *Envelope) { e.Signer = offCurve(t) }), testChainID, CodeBadSignature},
		{"signature r bit", mut(func(e *Envelope) { e.Signature[0] ^= 1 }), testChainID, CodeBadSignature},
		{"signature s bit", mut(func(e *Envelope) { e.Signature[63] ^= 1 }), testChainID, CodeBadSignature},
		{"signature zero", mut(func(e *Envelope) { e.Signature = [64]byte{} }), testChainID, CodeBadSignature},
		{"signature of other key", mut(func(e *Envelope) { e.Signature = other.Signature }), testChainID, CodeBadSignature},
		{"r not below p", mut(func(e *Envelope) { copy(e.Signature[:32], bytes.Repeat([]byte{0xff}, 32)) }), testChainID, CodeBadSignature},
		{"s all ones", mut(func(e *Envelope) { copy(e.Signature[32:], bytes.Repeat([]byte{0xff}, 32)) }), testChainID, CodeBadSignature},
		{"s equals n", mut(func(e *Envelope) { copy(e.Signature[32:], mustHex(groupOrder)) }), testChainID, CodeBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, c.e.Verify(c.chainID), c.code)
		})
	}
	// Every single-bit flip of the wire form either fails to decode or
	// fails to verify.
	wire := base.Marshal()
	for i := range wire {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte{}, wire...)
			b[i] ^= 1 << bit
			e, err := Unmarshal(b)
			if err != nil {
				continue
			}
			if e.Verify(testChainID) == nil {
				t.Fatalf("flipping bit %d of byte %d still verifies", bit, i)
			}
		}
	}
}

// groupOrder is secp256k1's n, big-endian.
const groupOrder = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"

// TestHighS shows why Verify checks s < n itself: btcec v2.3.4's
// ParseSignature accepts an s at or above the group order (it reduces it),
// so without the check a signature with s < 2^256-n would have a second
// valid encoding, s+n, and the transaction a second hash. If a later btcec
// rejects it, this test still passes; Verify's own check stays harmless.
func TestHighS(t *testing.T) {
	e := signed(t, goldenMsgs()[0])
	copy(e.Signature[32:], mustHex(groupOrder))
	if _, err := schnorr.ParseSignature(e.Signature[:]); err != nil {
		t.Logf("btcec now rejects s >= n itself: %v", err)
	}
	wantCode(t, e.Verify(testChainID), CodeBadSignature)
}

func TestSignRejects(t *testing.T) {
	_, err := Sign("", keyOf(1), 1, Unjail{})
	wantCode(t, err, CodeWrongChain)
	_, err = Sign(testChainID, nil, 1, Unjail{})
	wantCode(t, err, CodeInternal)
	_, err = Sign(testChainID, keyOf(1), 1, Transfer{To: addrOf(2)})
	wantCode(t, err, CodeInvalidAmount)
	_, err = Sign(testChainID, keyOf(1), 1, nil)
	wantCode(t, err, CodeInternal)
}

// TestSignDeterministic: the same inputs give the same bytes, and
// different nonces give different signatures.
func TestSignDeterministic(t *testing.T) {
	a := signed(t, goldenMsgs()[0])
	b := signed(t, goldenMsgs()[0])
	if !bytes.Equal(a.Marshal(), b.Marshal()) {
		t.Fatal("signing twice gave different envelopes")
	}
	c, _ := Sign(testChainID, keyOf(1), 8, goldenMsgs()[0])
	if c.Signature == a.Signature {
		t.Fatal("different nonces gave the same signature")
	}
}

// TestBIP340Vector0 checks signDigest against BIP-340's test vector 0
// (secret key 3, zero aux randomness, zero message): the signatures this
// package makes are the reference algorithm's, reproducible elsewhere.
func TestBIP340Vector0(t *testing.T) {
	priv, _ := btcec.PrivKeyFromBytes(mustHex("0000000000000000000000000000000000000000000000000000000000000003"))
	if got, want := AddressOf(priv.PubKey()), Address(mustHex("f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9")); got != want {
		t.Fatalf("public key %x, want %x", got, want)
	}
	sig, err := signDigest(priv, [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex("e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca821525f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0")
	if !bytes.Equal(sig[:], want) {
		t.Fatalf("signature %x, want %x", sig, want)
	}
}

// TestSignDigest pins the digest preimage layout documented in doc.go.
func TestSignDigest(t *testing.T) {
	signer := addrOf(1)
	body := []byte{1, 8}
	pre := []byte{byte(len(testChainID))}
	pre = append(pre, testChainID...)
	pre = append(pre, signer[:]...)
	pre = binary.BigEndian.AppendUint64(pre, 0x0102030405060708)
	pre = append(pre, body...)
	want := sha256Sum(pre)
	if got := SignDigest(testChainID, signer, 0x0102030405060708, body); got != want {
		t.Fatalf("digest %x, want %x", got, want)
	}
	// The length prefix separates ("ab", body "c...") from ("abc", ...):
	// without it the two preimages could coincide.
	if SignDigest("ab", signer, 1, body) == SignDigest("abc", signer, 1, body) {
		t.Fatal("chain ids ab and abc share a digest")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SignDigest accepted an invalid chain id")
		}
	}()
	SignDigest("", signer, 1, body)
}

func TestUnmarshalRejects(t *testing.T) {
	e := signed(t, goldenMsgs()[0])
	wire := e.Marshal()
	bodyLenAt := envelopeHeaderSize
	withBodyLen := func(l []byte, body []byte) []byte {
		b := append([]byte{}, wire[:bodyLenAt]...)
		b = append(b, l...)
		return append(b, body...)
	}
	cases := []struct {
		name string
		b    []byte
		code Code
	}{
		{"empty", nil, CodeMalformed},
		{"version 0", append([]byte{0}, wire[1:]...), CodeMalformed},
		{"version 2", append([]byte{2}, wire[1:]...), CodeMalformed},
		{"trailing byte", append(append([]byte{}, wire...), 0), CodeMalformed},
		{"body length non-minimal", withBodyLen([]byte{0x80 | byte(len(e.Body)), 0x00}, e.Body), CodeMalformed},
		{"body length beyond input", withBodyLen([]byte{byte(len(e.Body) + 1)}, e.Body), CodeMalformed},
		{"body length over limit", withBodyLen(binary.AppendUvarint(nil, MaxTxBytes+1), nil), CodeTooLarge},
		{"body length overflows", withBodyLen(bytes.Repeat([]byte{0xff}, 10), nil), CodeMalformed},
		{"over MaxTxBytes", make([]byte, MaxTxBytes+1), CodeTooLarge},
	}
	for n := 0; n < len(wire); n++ {
		cases = append(cases, struct {
			name string
			b    []byte
			code Code
		}{"truncated", wire[:n], CodeMalformed})
	}
	for _, c := range cases {
		got, err := Unmarshal(c.b)
		if got != nil {
			t.Fatalf("%s: rejected input returned an envelope", c.name)
		}
		wantCode(t, err, c.code)
	}
}

// TestEnvelopeSizeLimit checks MaxTxBytes at and one past the limit, and
// that the largest valid message fits with room to spare.
func TestEnvelopeSizeLimit(t *testing.T) {
	// Header, a 3-byte uvarint length (MaxTxBytes needs 19 bits), body.
	bodyLen := MaxTxBytes - envelopeHeaderSize - 3
	e := &Envelope{Body: make([]byte, bodyLen)}
	wire := e.Marshal()
	if len(wire) != MaxTxBytes {
		t.Fatalf("built %d bytes, want %d", len(wire), MaxTxBytes)
	}
	if _, err := Unmarshal(wire); err != nil {
		t.Fatalf("envelope of exactly MaxTxBytes: %v", err)
	}
	e.Body = append(e.Body, 0)
	_, err := Unmarshal(e.Marshal())
	wantCode(t, err, CodeTooLarge)

	big := signed(t, SubmitHeaders{Headers: syntheticHeaders(MaxHeadersPerTx)})
	if n := len(big.Marshal()); n > MaxTxBytes {
		t.Fatalf("the largest valid message needs %d bytes, over MaxTxBytes", n)
	}
	wantCode(t, big.Verify(testChainID), CodeOK)
	bigE := signed(t, Endorse{Items: endorsements(MaxEndorsementsPerTx)})
	if n := len(bigE.Marshal()); n > MaxTxBytes {
		t.Fatalf("the largest Endorse needs %d bytes, over MaxTxBytes", n)
	}
}

// TestDigestDomain backs the claim in doc.go: a satnode digest preimage
// starts with a length byte 1..64 and that many printable ASCII bytes;
// the BIP-340 tagged hashes Bitcoin keys sign start with SHA-256(tag)
// twice, which never has that shape for these tags. So, short of a SHA-256
// collision, a pool's Bitcoin signature can never be replayed as a satnode
// transaction or the other way round.
func TestDigestDomain(t *testing.T) {
	for _, tag := range []string{
		"TapSighash", "TapLeaf", "TapBranch", "TapTweak",
		"BIP0340/challenge", "BIP0340/aux", "BIP0340/nonce",
		"BIP0322-signed-message", "KeyAgg list", "KeyAgg coefficient",
		"MuSig/aux", "MuSig/nonce", "MuSig/noncecoef",
	} {
		th := sha256Sum([]byte(tag))
		pre := append(th[:len(th):len(th)], th[:]...)
		n := int(pre[0])
		if n < 1 || n > MaxChainIDBytes {
			continue
		}
		// Only the 64 tag-hash bytes are fixed; what follows is the
		// signed data, so a chain id running past them is judged on
		// its fixed part alone.
		id := pre[1:min(1+n, len(pre))]
		if ValidateChainID(string(id)) == nil {
			t.Errorf("tag %q: its tagged-hash preimage could parse as a satnode chain id", tag)
		}
	}
}
