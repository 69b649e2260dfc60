package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// testChainID is the chain id the tests and golden vectors sign for.
const testChainID = "satnode-golden"

// keyOf returns the private key whose 32 bytes are all b.
func keyOf(b byte) *btcec.PrivateKey {
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{b}, 32))
	return priv
}

// addrOf returns the address of keyOf(b).
func addrOf(b byte) Address { return AddressOf(keyOf(b).PubKey()) }

// offCurve returns an x coordinate with no point on the curve, found by
// trying small values, so the tests need no magic constant.
func offCurve(t testing.TB) Address {
	t.Helper()
	for i := 0; i < 256; i++ {
		var a Address
		a[31] = byte(i)
		if a.Validate() != nil {
			return a
		}
	}
	t.Fatal("no off-curve x below 256")
	return Address{}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Bitcoin mainnet headers 0, 1 and 2: real bytes, so SubmitHeaders' chaining
// check is exercised on Bitcoin's own hashes.
var mainnetHeaders = [][HeaderSize]byte{
	[HeaderSize]byte(mustHex("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")),
	[HeaderSize]byte(mustHex("010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299")),
	[HeaderSize]byte(mustHex("010000004860eb18bf1b1620e37e9490fc8a427514416fd75159ab86688e9a8300000000d5fdcc541e25de1c7a5addedf24858b8bb665c9f36ef744ee42c316022c90f9bb0bc6649ffff001d08d2bd61")),
}

func hashOf(s string) chainhash.Hash {
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		panic(err)
	}
	return *h
}

// syntheticHeaders returns n headers that chain (each names the double
// SHA-256 of the one before as its parent); the other bytes vary with the
// index so no two are equal. They are not valid Bitcoin headers.
func syntheticHeaders(n int) [][HeaderSize]byte {
	hs := make([][HeaderSize]byte, n)
	for i := range hs {
		hs[i][0] = 1
		if i > 0 {
			p := chainhash.DoubleHashH(hs[i-1][:])
			copy(hs[i][4:36], p[:])
		}
		hs[i][68] = byte(i)
		hs[i][69] = byte(i >> 8)
	}
	return hs
}

// endorsements returns n endorsements at heights 0..n-1.
func endorsements(n int) []Endorsement {
	items := make([]Endorsement, n)
	for i := range items {
		items[i].Height = uint32(i)
		items[i].Hash[0] = byte(i)
		items[i].Hash[1] = byte(i >> 8)
	}
	return items
}

// goldenMsgs is one valid message per kind, in kind order; the golden
// vectors and the fuzz seeds are built from them.
func goldenMsgs() []Msg {
	var consensusKey [32]byte
	copy(consensusKey[:], ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32)).Public().(ed25519.PublicKey))
	return []Msg{
		Transfer{To: addrOf(2), Amount: 100_000_000},
		CreateValidator{
			ConsensusKey:  consensusKey,
			EndorserKey:   addrOf(4),
			CommissionBps: 500,
			SelfStake:     1_000_000_000,
			Moniker:       "golden validator",
		},
		Delegate{Validator: addrOf(5), Amount: 250_000_000},
		Undelegate{Validator: addrOf(5), Amount: 50_000_000},
		RegisterSynchronizer{Bond: 10_000_000_000, Payout: addrOf(6)},
		SubmitHeaders{Headers: mainnetHeaders},
		Endorse{Items: []Endorsement{
			{Height: 0, Hash: hashOf("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")},
			{Height: 1, Hash: hashOf("00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048")},
			{Height: 2, Hash: hashOf("000000006a625f06636b8bb6ac7b960a8d03705d1ace08b1a19da3fdcc99ddbd")},
		}},
		Unjail{},
		WithdrawRewards{Validator: addrOf(5)},
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t testing.TB, err error, code Code) {
	t.Helper()
	if code == CodeOK {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("code %s (%v), want %s", e.Code, err, code)
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
