package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Caps on what a verifier reads, so that a hostile file costs at most
// this much memory and time.
const (
	// MaxFileBytes caps a whole file (a reserves file of ~20,000 coins).
	MaxFileBytes = 64 << 20
	// MaxHexBytes caps any one hex field once decoded. The largest honest
	// one is a non-membership proof: two leaves, each with at most 256
	// inner ops of 33 bytes plus framing, and a coin value with a script
	// of up to MaxScriptBytes: well under 64 KiB.
	MaxHexBytes = 64 << 10
	// MaxScriptBytes is txscript.MaxScriptSize. Bitcoin Core never puts a
	// longer script in the UTXO set (CScript::IsUnspendable), and neither
	// does satnode, so a coin with one is malformed.
	MaxScriptBytes = 10000
	// MaxSatoshi is btcutil.MaxSatoshi, the most any output can hold.
	MaxSatoshi int64 = 21e6 * 1e8
)

// The kinds of file.
const (
	KindUTXO     = "utxo"
	KindReserves = "reserves"
)

// AppHashVersion is the only app hash version this package verifies: v1
// commits to the state but proves nothing about a part of it.
const AppHashVersion = 2

// Hex is bytes written as lower-case hex in JSON. Decoding accepts only
// lower-case, so that one value has one spelling, and at most
// MaxHexBytes.
type Hex []byte

// MarshalText writes lower-case hex.
func (h Hex) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(h)))
	hex.Encode(out, h)
	return out, nil
}

// UnmarshalText reads lower-case hex.
func (h *Hex) UnmarshalText(text []byte) error {
	b, err := decodeHex(text, MaxHexBytes)
	if err != nil {
		return err
	}
	*h = b
	return nil
}

// String is the hex.
func (h Hex) String() string { return hex.EncodeToString(h) }

func decodeHex(text []byte, max int) ([]byte, error) {
	if len(text) > 2*max {
		return nil, fmt.Errorf("%w: hex of %d characters, more than %d", ErrTooLarge, len(text), 2*max)
	}
	for _, c := range text {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, fmt.Errorf("%w: %q is not lower-case hex", ErrMalformed, c)
		}
	}
	b := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(b, text); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, nil
}

// BlockHash is a Bitcoin hash (a block's or a transaction's) in internal
// byte order; in JSON it is the reversed hex Bitcoin prints.
type BlockHash [32]byte

// String is the hash as Bitcoin prints it.
func (h BlockHash) String() string {
	r := h
	for i := 0; i < 16; i++ {
		r[i], r[31-i] = r[31-i], r[i]
	}
	return hex.EncodeToString(r[:])
}

// MarshalText writes String.
func (h BlockHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads exactly 64 lower-case hex digits, reversed.
func (h *BlockHash) UnmarshalText(text []byte) error {
	if len(text) != 64 {
		return fmt.Errorf("%w: a hash is 64 hex digits, not %d", ErrMalformed, len(text))
	}
	b, err := decodeHex(text, 32)
	if err != nil {
		return err
	}
	for i := range b {
		h[31-i] = b[i]
	}
	return nil
}

// Outpoint names a transaction output; in JSON "<txid as printed>:<vout>".
type Outpoint struct {
	TxID BlockHash // internal byte order
	Vout uint32
}

func (o Outpoint) String() string {
	return o.TxID.String() + ":" + strconv.FormatUint(uint64(o.Vout), 10)
}

// MarshalText writes String.
func (o Outpoint) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads "txid:vout", vout in canonical decimal.
func (o *Outpoint) UnmarshalText(text []byte) error {
	txid, vout, ok := strings.Cut(string(text), ":")
	if !ok {
		return fmt.Errorf("%w: outpoint %.80q is not txid:vout", ErrMalformed, text)
	}
	if err := o.TxID.UnmarshalText([]byte(txid)); err != nil {
		return err
	}
	v, err := strconv.ParseUint(vout, 10, 32)
	if err != nil || strconv.FormatUint(v, 10) != vout {
		return fmt.Errorf("%w: vout %.20q is not a decimal uint32", ErrMalformed, vout)
	}
	o.Vout = uint32(v)
	return nil
}

// Key is the outpoint's key in the UTXO tree.
func (o Outpoint) Key() []byte { return CoinKey(o.TxID, o.Vout) }

// BitcoinTip is the Bitcoin block the proven UTXO set is the state after.
type BitcoinTip struct {
	Height int32     `json:"height"`
	Hash   BlockHash `json:"hash"`
}

// Coin is an unspent output as the UTXO tree's value encodes it.
type Coin struct {
	Value        int64 `json:"value"` // satoshis
	ScriptPubKey Hex   `json:"script_pubkey"`
	Height       int32 `json:"height"` // of the block that created it
	Coinbase     bool  `json:"coinbase"`
}

// TreeValue is the coin's value in the UTXO tree.
func (c *Coin) TreeValue() []byte { return CoinValue(c.Value, c.ScriptPubKey, c.Height, c.Coinbase) }

// check refuses a coin no Bitcoin UTXO set can hold, before its value
// is encoded (a negative height would not survive height<<1).
func (c *Coin) check() error {
	switch {
	case c.Value < 0 || c.Value > MaxSatoshi:
		return fmt.Errorf("%w: coin value %d out of range", ErrMalformed, c.Value)
	case c.Height < 0:
		return fmt.Errorf("%w: coin height %d", ErrMalformed, c.Height)
	case len(c.ScriptPubKey) > MaxScriptBytes:
		return fmt.Errorf("%w: script of %d bytes", ErrTooLarge, len(c.ScriptPubKey))
	}
	return nil
}

// State is what both kinds of file share: which commit's state is
// proven, its app hash, and the proofs of the Bitcoin tip and the UTXO
// root against it.
type State struct {
	ChainID string `json:"chain_id"`
	// Height is the CometBFT height of the commit whose state is proven;
	// its app hash is carried by the header of HeaderHeight = Height+1.
	Height         int64      `json:"height"`
	HeaderHeight   int64      `json:"header_height"`
	AppHash        Hex        `json:"app_hash"`
	AppHashVersion int        `json:"app_hash_version"`
	Bitcoin        BitcoinTip `json:"bitcoin"`
	// TipProof proves "btc_tip" = u32be(height) ‖ hash in AppHash.
	TipProof Hex `json:"tip_proof"`
	UTXORoot Hex `json:"utxo_root"`
	// RootProof proves "utxo" = UTXORoot in AppHash.
	RootProof Hex `json:"root_proof"`
}

// UTXOProof is the answer of /v1/proof/utxo/{txid}/{vout}: one outpoint,
// unspent (with its coin) or absent, in one committed state.
type UTXOProof struct {
	Kind string `json:"kind"` // KindUTXO
	State
	Outpoint Outpoint `json:"outpoint"`
	Unspent  bool     `json:"unspent"`
	Coin     *Coin    `json:"coin,omitempty"` // only when Unspent
	// Proof is an ICS-23 CommitmentProof against UTXORoot (SmtSpec): an
	// ExistenceProof if Unspent, else a NonExistenceProof.
	Proof Hex `json:"proof"`
}

// ReservesProof is what `satnode prove` writes for a set of addresses:
// coins they hold, each proven unspent, and their sum.
type ReservesProof struct {
	Kind string `json:"kind"` // KindReserves
	State
	Addresses []AddressCoins `json:"addresses"`
	Total     int64          `json:"total"`
}

// AddressCoins are the coins listed for one address.
type AddressCoins struct {
	Address      string      `json:"address"`
	ScriptPubKey Hex         `json:"script_pubkey"`
	Coins        []CoinProof `json:"coins"`
	// Next, when set, is the cursor of the coins not listed: the list is
	// a page, not all the address holds.
	Next string `json:"next,omitempty"`
}

// CoinProof is one coin and its membership proof against UTXORoot.
type CoinProof struct {
	Outpoint Outpoint `json:"outpoint"`
	Coin     Coin     `json:"coin"`
	Proof    Hex      `json:"proof"`
}

// File is a decoded file: exactly one of its fields is set.
type File struct {
	UTXO     *UTXOProof
	Reserves *ReservesProof
}

// State returns the file's shared fields, nil for an empty File.
func (f *File) State() *State {
	switch {
	case f.UTXO != nil:
		return &f.UTXO.State
	case f.Reserves != nil:
		return &f.Reserves.State
	}
	return nil
}

// DecodeFile reads a proof file of either kind, telling them apart by
// "kind".
func DecodeFile(r io.Reader) (*File, error) {
	data, err := readCapped(r)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Kind string `json:"kind"`
	}
	// Lenient on purpose: this only finds the kind; the strict decode
	// below refuses what does not belong.
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fail(StepDecode, ErrMalformed, "%v", err)
	}
	switch probe.Kind {
	case KindUTXO:
		p := new(UTXOProof)
		if err := decodeStrict(data, p); err != nil {
			return nil, err
		}
		return &File{UTXO: p}, nil
	case KindReserves:
		p := new(ReservesProof)
		if err := decodeStrict(data, p); err != nil {
			return nil, err
		}
		return &File{Reserves: p}, nil
	}
	return nil, fail(StepDecode, ErrMalformed, "unknown kind %.40q", probe.Kind)
}

// DecodeUTXOProof reads a UTXO proof (kind "utxo").
func DecodeUTXOProof(r io.Reader) (*UTXOProof, error) {
	data, err := readCapped(r)
	if err != nil {
		return nil, err
	}
	p := new(UTXOProof)
	if err := decodeStrict(data, p); err != nil {
		return nil, err
	}
	if p.Kind != KindUTXO {
		return nil, fail(StepDecode, ErrMalformed, "kind %.40q, want %q", p.Kind, KindUTXO)
	}
	return p, nil
}

// DecodeReservesProof reads a reserves proof (kind "reserves").
func DecodeReservesProof(r io.Reader) (*ReservesProof, error) {
	data, err := readCapped(r)
	if err != nil {
		return nil, err
	}
	p := new(ReservesProof)
	if err := decodeStrict(data, p); err != nil {
		return nil, err
	}
	if p.Kind != KindReserves {
		return nil, fail(StepDecode, ErrMalformed, "kind %.40q, want %q", p.Kind, KindReserves)
	}
	return p, nil
}

func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Step: StepDecode, Err: err}
	}
	if len(data) > MaxFileBytes {
		return nil, fail(StepDecode, ErrTooLarge, "file over %d bytes", MaxFileBytes)
	}
	return data, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields
// (a misspelt field would otherwise be silently unverified) and anything
// after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		kind := ErrMalformed
		if errors.Is(err, ErrTooLarge) {
			kind = ErrTooLarge
		}
		return fail(StepDecode, kind, "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(StepDecode, ErrMalformed, "data after the JSON value")
	}
	return nil
}
