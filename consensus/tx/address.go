package tx

import (
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil/bech32"
)

// AddressHRP is the human-readable part of an address's text form.
const AddressHRP = "sat"

// Address identifies an account: the 32-byte BIP-340 x-only public key of
// the secp256k1 key that signs for it. There is no hash in between, so the
// signer of an envelope is its address.
type Address [32]byte

// AddressOf returns the address of a public key (its x coordinate; BIP-340
// keys are identified by x alone, the y with the same x and even parity is
// implied).
func AddressOf(pub *btcec.PublicKey) Address {
	var a Address
	copy(a[:], schnorr.SerializePubKey(pub))
	return a
}

// PubKey returns the public key the address names. It fails, with
// CodeInvalidAddress, when the 32 bytes are not the x coordinate of a point
// on the curve: about half of all 32-byte strings, and nobody holds the key
// for them.
func (a Address) PubKey() (*btcec.PublicKey, error) {
	pub, err := schnorr.ParsePubKey(a[:])
	if err != nil {
		return nil, errorf(CodeInvalidAddress, "address %x is not an x-only public key: %v", a[:], err)
	}
	return pub, nil
}

// Validate checks that the address is a valid x-only public key. Messages
// check every address they carry, so that coins are never sent (or stake
// delegated) to an address nobody can sign for.
func (a Address) Validate() error {
	_, err := a.PubKey()
	return err
}

// String returns the bech32m text form: "sat1" followed by 52 data
// characters and a 6-character checksum, 62 characters in all. It does not
// check that the address is a valid key, so any Address can be printed.
func (a Address) String() string {
	data, err := bech32.ConvertBits(a[:], 8, 5, true)
	if err != nil {
		// ConvertBits fails only for bit sizes outside 1..8.
		panic("tx: address: " + err.Error())
	}
	s, err := bech32.EncodeM(AddressHRP, data)
	if err != nil {
		// EncodeM fails only for data values above 31, which
		// ConvertBits to 5 bits cannot produce.
		panic("tx: address: " + err.Error())
	}
	return s
}

// ParseAddress parses the bech32m text form String produces. It rejects a
// bech32 (BIP-173) checksum, another human-readable part, a length other
// than 32 bytes, non-zero padding bits, and an x coordinate that is not on
// the curve, all with CodeInvalidAddress. As BIP-173 requires, an
// all-uppercase string is accepted (String always prints lowercase).
func ParseAddress(s string) (Address, error) {
	var a Address
	hrp, data, ver, err := bech32.DecodeGeneric(s)
	if err != nil {
		return a, errorf(CodeInvalidAddress, "address %q: %v", s, err)
	}
	if ver != bech32.VersionM {
		// The same data under a bech32 checksum is a different string;
		// accepting both would give an address two text forms.
		return a, errorf(CodeInvalidAddress, "address %q: bech32 checksum, want bech32m", s)
	}
	if hrp != AddressHRP {
		return a, errorf(CodeInvalidAddress, "address %q: prefix %q, want %q", s, hrp, AddressHRP)
	}
	// pad=false rejects a trailing group of more than 4 bits or with
	// non-zero bits, so every address has exactly one text form.
	b, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil {
		return a, errorf(CodeInvalidAddress, "address %q: %v", s, err)
	}
	if len(b) != len(a) {
		return a, errorf(CodeInvalidAddress, "address %q: %d bytes, want %d", s, len(b), len(a))
	}
	copy(a[:], b)
	if err := a.Validate(); err != nil {
		return Address{}, err
	}
	return a, nil
}
