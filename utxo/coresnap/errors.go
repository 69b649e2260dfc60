package coresnap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/satnode/satnode/utxo"
)

// ErrorCode identifies why a snapshot was refused. Codes are stable: never
// renumber them; only append.
type ErrorCode int

// Reasons for refusing a snapshot. Where Bitcoin Core refuses the same thing
// its reason is given; the others are stricter than Core and hold for every
// file Core writes (see doc.go).
const (
	// ErrTruncated: the file ends early: inside the header, inside a coin,
	// or before the number of coins the header announces.
	ErrTruncated ErrorCode = iota + 1
	// ErrBadMagic: the file does not start with 'utxo' 0xff ("Invalid UTXO
	// set snapshot magic bytes").
	ErrBadMagic
	// ErrBadVersion: a format version other than 2 ("Version of snapshot
	// ... does not match any of the supported versions").
	ErrBadVersion
	// ErrWrongNetwork: the header names another network than the one
	// expected ("The network of the snapshot (...) does not match the
	// network of this node (...)").
	ErrWrongNetwork
	// ErrCountMismatch: a txid says it has more coins than the header's
	// count leaves ("mismatch in coins count in snapshot metadata and actual
	// snapshot data"), or a Writer was given a different number of coins
	// than its header says.
	ErrCountMismatch
	// ErrTrailingData: bytes after the last coin the header announces
	// ("bad snapshot - coins left over after deserializing N coins").
	ErrTrailingData
	// ErrBadHeight: a coin's height is above the base height ("bad
	// snapshot data after deserializing N coins"), or, given to a Writer,
	// negative.
	ErrBadHeight
	// ErrAmountRange: an amount outside 0..21M BTC (Core's MoneyRange; "bad
	// tx out value").
	ErrAmountRange
	// ErrVoutRange: a vout above Core's MAX_SIZE, 2^25 (its ReadCompactSize
	// range check: "size too large"), which also rules out Core's explicit
	// vout >= 2^32-1.
	ErrVoutRange
	// ErrBadPubKey: an uncompressed P2PK (script kinds 4, 5) whose stored x
	// is not on secp256k1, so the key cannot be rebuilt. Stricter than
	// Core, which would load an empty script.
	ErrBadPubKey
	// ErrScriptTooLong: a raw script over 10,000 bytes. Stricter than Core,
	// which would load OP_RETURN instead.
	ErrScriptTooLong
	// ErrOutOfOrder: coins not in strictly ascending order of (txid bytes,
	// VARINT(vout) bytes), which includes a repeated outpoint and a txid
	// split over two groups. Core refuses only repeats (they would break
	// its set hash); its own dumps are always in this order.
	ErrOutOfOrder
	// ErrEmptyTxid: a txid with zero coins. Stricter than Core.
	ErrEmptyTxid
	// ErrNonCanonical: a CompactSize with a longer encoding than needed
	// (Core: "non-canonical ReadCompactSize()"), a VARINT that overflows,
	// a count above Core's MAX_SIZE, or a raw script that Core would have
	// compressed (stricter than Core).
	ErrNonCanonical

	// numErrorCodes is one past the last code; append new codes above it.
	numErrorCodes
)

var errorCodeNames = [...]string{
	ErrTruncated:     "ErrTruncated",
	ErrBadMagic:      "ErrBadMagic",
	ErrBadVersion:    "ErrBadVersion",
	ErrWrongNetwork:  "ErrWrongNetwork",
	ErrCountMismatch: "ErrCountMismatch",
	ErrTrailingData:  "ErrTrailingData",
	ErrBadHeight:     "ErrBadHeight",
	ErrAmountRange:   "ErrAmountRange",
	ErrVoutRange:     "ErrVoutRange",
	ErrBadPubKey:     "ErrBadPubKey",
	ErrScriptTooLong: "ErrScriptTooLong",
	ErrOutOfOrder:    "ErrOutOfOrder",
	ErrEmptyTxid:     "ErrEmptyTxid",
	ErrNonCanonical:  "ErrNonCanonical",
}

// String returns the code's name.
func (c ErrorCode) String() string {
	if c > 0 && int(c) < len(errorCodeNames) && errorCodeNames[c] != "" {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// Error is a snapshot refused by the Reader, or coins refused by the
// Writer. Failures of the underlying io.Reader or io.Writer are not Errors:
// they are returned wrapped, with the byte offset.
type Error struct {
	Code ErrorCode
	// Offset is the byte offset in the file where the offending item
	// starts (for the Writer: the bytes written before the coin's txid).
	Offset int64
	// Coin is the index, from 0, of the coin being read or written, or -1
	// for the header.
	Coin int64
	// Outpoint is the coin's outpoint when it is known, else nil.
	Outpoint *utxo.Outpoint
	// Description says what is wrong, with the values involved.
	Description string
	// Err is the underlying cause, with the same text as Description;
	// for a coin that does not decode it wraps one of utxo's ErrCore
	// sentinels, for errors.Is.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "coresnap: %s at byte %d", e.Code, e.Offset)
	if e.Coin >= 0 {
		fmt.Fprintf(&b, ", coin %d", e.Coin)
	} else {
		b.WriteString(", header")
	}
	if e.Outpoint != nil {
		fmt.Fprintf(&b, " (%s)", e.Outpoint)
	}
	b.WriteString(": ")
	b.WriteString(e.Description)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// IsError reports whether err is an Error with the given code.
func IsError(err error, c ErrorCode) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}
