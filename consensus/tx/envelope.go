package tx

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

// EnvelopeVersion is the first byte of every envelope.
const EnvelopeVersion = 1

// MaxChainIDBytes caps the chain id, so that its length fits the one-byte
// prefix of the signed digest with room to spare.
const MaxChainIDBytes = 64

// envelopeHeaderSize is the fixed part of the wire form: version, signer,
// nonce, signature.
const envelopeHeaderSize = 1 + 32 + 8 + 64

// Envelope is a signed transaction: the encoded message, who signed it, the
// signer's nonce, and a BIP-340 signature over SignDigest of all three.
type Envelope struct {
	// Body is the canonical encoding of the message (EncodeMsg). It is
	// kept as bytes, not as a Msg, because the signature covers exactly
	// these bytes and the message is decoded from them (Msg).
	Body []byte
	// Signer is the account that signed, and pays.
	Signer Address
	// Nonce must exceed the signer's last used nonce (a state rule); it is
	// signed, so a transaction cannot be replayed under another nonce.
	Nonce uint64
	// Signature is the 64-byte BIP-340 signature (r ‖ s).
	Signature [64]byte
}

// Marshal returns the wire form (see doc.go). It does not validate: the
// result of marshalling an Envelope built by hand may be rejected by
// Unmarshal (if it exceeds MaxTxBytes) or by Msg and Verify.
func (e *Envelope) Marshal() []byte {
	b := make([]byte, 0, envelopeHeaderSize+binary.MaxVarintLen32+len(e.Body))
	b = append(b, EnvelopeVersion)
	b = append(b, e.Signer[:]...)
	b = appendU64(b, e.Nonce)
	b = append(b, e.Signature[:]...)
	b = appendCount(b, len(e.Body))
	return append(b, e.Body...)
}

// Unmarshal decodes an envelope's wire form strictly: longer than
// MaxTxBytes is CodeTooLarge; an unknown version, truncation, a
// non-minimal body length or trailing bytes is CodeMalformed. It checks the
// framing only: call Msg for the message and Verify for the signature. For
// every b it accepts, Marshal of the result returns b again.
//
// The envelope does not alias b.
func Unmarshal(b []byte) (*Envelope, error) {
	if len(b) > MaxTxBytes {
		return nil, errorf(CodeTooLarge, "transaction of %d bytes exceeds %d", len(b), MaxTxBytes)
	}
	r := &reader{b: b}
	ver, err := r.u8("envelope version")
	if err != nil {
		return nil, err
	}
	if ver != EnvelopeVersion {
		return nil, errorf(CodeMalformed, "unknown envelope version %d", ver)
	}
	e := new(Envelope)
	if e.Signer, err = r.array32("signer"); err != nil {
		return nil, err
	}
	if e.Nonce, err = r.u64("nonce"); err != nil {
		return nil, err
	}
	sig, err := r.take(64, "signature")
	if err != nil {
		return nil, err
	}
	e.Signature = [64]byte(sig)
	n, err := r.count(MaxTxBytes, CodeTooLarge, 1, "body")
	if err != nil {
		return nil, err
	}
	body, err := r.take(n, "body")
	if err != nil {
		return nil, err
	}
	if rest := r.remaining(); rest != 0 {
		return nil, errorf(CodeMalformed, "%d trailing bytes after the body", rest)
	}
	e.Body = append([]byte{}, body...)
	return e, nil
}

// Msg decodes the body (DecodeMsg): the message is always read from the
// bytes the signature covers, never from a separate copy.
func (e *Envelope) Msg() (Msg, error) {
	return DecodeMsg(e.Body)
}

// ValidateChainID checks a chain id: 1..MaxChainIDBytes bytes of printable
// ASCII (0x20..0x7e). Violations are CodeWrongChain.
func ValidateChainID(chainID string) error {
	if len(chainID) == 0 || len(chainID) > MaxChainIDBytes {
		return errorf(CodeWrongChain, "chain id of %d bytes, want 1..%d", len(chainID), MaxChainIDBytes)
	}
	for i := 0; i < len(chainID); i++ {
		if c := chainID[i]; c < 0x20 || c > 0x7e {
			return errorf(CodeWrongChain, "chain id has byte %#02x at %d, want printable ASCII", c, i)
		}
	}
	return nil
}

// SignDigest returns the 32-byte message a transaction's BIP-340
// signature signs:
//
//	sha256(len(chainID) as one byte ‖ chainID ‖ signer ‖ nonce as 8 bytes big-endian ‖ body)
//
// chainID must pass ValidateChainID; Sign and Verify check it, and
// SignDigest panics on an invalid one because that is a programming error
// (chain ids come from the validated genesis, never from a transaction).
func SignDigest(chainID string, signer Address, nonce uint64, body []byte) [32]byte {
	if err := ValidateChainID(chainID); err != nil {
		panic("tx: SignDigest: " + err.Error())
	}
	h := sha256.New()
	var pre [1 + MaxChainIDBytes]byte
	pre[0] = byte(len(chainID))
	n := 1 + copy(pre[1:], chainID)
	h.Write(pre[:n])
	h.Write(signer[:])
	h.Write(binary.BigEndian.AppendUint64(nil, nonce))
	h.Write(body)
	return [32]byte(h.Sum(nil))
}

// Sign encodes msg (EncodeMsg, so an invalid message is refused with its
// code) and signs it for chainID as the account of priv with nonce.
//
// Signing is deterministic: BIP-340 with all-zero auxiliary randomness, the
// reference algorithm, so any BIP-340 implementation given the same key and
// digest produces the same signature (and the golden tests can pin bytes).
// BIP-340 permits this; fresh randomness only hardens against side
// channels on the signing machine.
func Sign(chainID string, priv *btcec.PrivateKey, nonce uint64, msg Msg) (*Envelope, error) {
	if err := ValidateChainID(chainID); err != nil {
		return nil, err
	}
	if priv == nil {
		return nil, errorf(CodeInternal, "Sign with a nil private key")
	}
	body, err := EncodeMsg(msg)
	if err != nil {
		return nil, err
	}
	e := &Envelope{Body: body, Signer: AddressOf(priv.PubKey()), Nonce: nonce}
	d := SignDigest(chainID, e.Signer, nonce, body)
	if e.Signature, err = signDigest(priv, d); err != nil {
		return nil, err
	}
	return e, nil
}

// signDigest is BIP-340 signing with zero auxiliary randomness. btcec's
// default is an RFC 6979 nonce instead, which no other BIP-340
// implementation reproduces, hence the explicit option.
func signDigest(priv *btcec.PrivateKey, d [32]byte) ([64]byte, error) {
	sig, err := schnorr.Sign(priv, d[:], schnorr.CustomNonce([32]byte{}))
	if err != nil {
		// Only a zero (or out-of-range) private key gets here.
		return [64]byte{}, errorf(CodeInternal, "signing: %v", err)
	}
	return [64]byte(sig.Serialize()), nil
}

// Verify checks the signature for chainID. Failures are CodeBadSignature
// (CodeWrongChain for an invalid chain id). A transaction signed for
// another chain fails as CodeBadSignature: the chain id is not in the wire
// form, only in the digest.
func (e *Envelope) Verify(chainID string) error {
	if err := ValidateChainID(chainID); err != nil {
		return err
	}
	pub, err := schnorr.ParsePubKey(e.Signer[:])
	if err != nil {
		return errorf(CodeBadSignature, "signer %x is not an x-only public key", e.Signer[:])
	}
	// BIP-340 requires r < p and s < n. btcec v2.3.4's ParseSignature
	// checks r but silently reduces s modulo n, which would let anyone
	// turn a valid signature into a second one (s+n, when it fits in 32
	// bytes) and so change the transaction's bytes and hash; check s here.
	var s btcec.ModNScalar
	if s.SetByteSlice(e.Signature[32:]) {
		return errorf(CodeBadSignature, "signature s is not below the group order")
	}
	sig, err := schnorr.ParseSignature(e.Signature[:])
	if err != nil {
		return errorf(CodeBadSignature, "signature: %v", err)
	}
	d := SignDigest(chainID, e.Signer, e.Nonce, e.Body)
	if !sig.Verify(d[:], pub) {
		return errorf(CodeBadSignature, "signature does not verify for signer %s", e.Signer)
	}
	return nil
}
