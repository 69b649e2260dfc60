package tx

import (
	"errors"
	"fmt"
)

// Code is the stable identifier of a transaction rejection. It is the code
// CheckTx and FinalizeBlock return to CometBFT, so clients and block
// explorers see these numbers: never renumber or reuse one, only append.
// The state machine uses the same table for its stateful rejections, which
// is why most codes are not produced by this package.
type Code uint32

// The rejection codes. TestCodeTable pins every number and name.
const (
	// CodeOK: accepted. Never carried by an *Error.
	CodeOK Code = 0
	// CodeMalformed: the bytes are not a valid encoding (unknown version or
	// kind, truncation, trailing bytes, non-minimal varint).
	CodeMalformed Code = 1
	// CodeTooLarge: the transaction exceeds MaxTxBytes, or a list exceeds
	// its per-transaction limit.
	CodeTooLarge Code = 2
	// CodeBadSignature: the signature does not verify, is not a canonical
	// BIP-340 signature, or the signer is not a valid x-only key.
	CodeBadSignature Code = 3
	// CodeBadNonce: the nonce is not above the account's last nonce.
	CodeBadNonce Code = 4
	// CodeWrongChain: the chain id is invalid or not this chain's.
	CodeWrongChain Code = 5
	// CodeInsufficientBalance: the account cannot pay the amount.
	CodeInsufficientBalance Code = 6
	// CodeUnknownAccount: the signer has no account.
	CodeUnknownAccount Code = 7
	// CodeUnknownValidator: no validator is operated by that address.
	CodeUnknownValidator Code = 8
	// CodeValidatorExists: the signer already operates a validator.
	CodeValidatorExists Code = 9
	// CodeUnregisteredSynchronizer: SubmitHeaders from an account that is
	// not a bonded synchronizer.
	CodeUnregisteredSynchronizer Code = 10
	// CodeSynchronizerExists: the signer is already a synchronizer.
	CodeSynchronizerExists Code = 11
	// CodeNotEndorser: Endorse signed by a key that is no validator's
	// endorser key.
	CodeNotEndorser Code = 12
	// CodeBadPoW: a header's hash is above the target its bits encode, or
	// the bits exceed the network's proof-of-work limit.
	CodeBadPoW Code = 13
	// CodeWrongBits: a header's bits are not the required difficulty.
	CodeWrongBits Code = 14
	// CodeTimeTooOld: a header's time is at or below the median time past.
	CodeTimeTooOld Code = 15
	// CodeTimeTooNew: a header's time is too far ahead of the block time.
	CodeTimeTooNew Code = 16
	// CodeUnknownParent: the first header's parent is not in the tree.
	CodeUnknownParent Code = 17
	// CodeDuplicateHeader: the header is already in the tree.
	CodeDuplicateHeader Code = 18
	// CodeBadHeader: a header breaks another header rule (version, ...).
	CodeBadHeader Code = 19
	// CodeBadCheckpoint: a header contradicts a checkpoint.
	CodeBadCheckpoint Code = 20
	// CodeBelowFinalized: a header or endorsement forks below the finalized
	// base.
	CodeBelowFinalized Code = 21
	// CodeUnknownBlock: an endorsement names a header the chain does not
	// have at that height.
	CodeUnknownBlock Code = 22
	// CodeNotJailed: Unjail for a validator that is not jailed.
	CodeNotJailed Code = 23
	// CodeJailed: the validator is jailed (or its jail time is not over).
	CodeJailed Code = 24
	// CodeStillUnbonding: the stake is still in its unbonding period.
	CodeStillUnbonding Code = 25
	// CodeNoDelegation: the signer has no delegation to that validator.
	CodeNoDelegation Code = 26
	// CodeInvalidAmount: an amount is zero where that is forbidden, or
	// below a genesis minimum.
	CodeInvalidAmount Code = 27
	// CodeOverflow: a balance or stake would exceed 2^64-1.
	CodeOverflow Code = 28
	// CodeInternal: a bug or a broken invariant, not the sender's fault;
	// also what CodeOf returns for an error that is not an *Error.
	CodeInternal Code = 29
	// CodeInvalidAddress: an address is not a valid x-only public key, or
	// its text form is not a bech32m "sat" address.
	CodeInvalidAddress Code = 30
	// CodeInvalidCommission: commission above MaxCommissionBps.
	CodeInvalidCommission Code = 31
	// CodeInvalidMoniker: a moniker too long, not UTF-8, or with a
	// forbidden (control or invisible) character.
	CodeInvalidMoniker Code = 32
	// CodeEmptyList: SubmitHeaders or Endorse with no items.
	CodeEmptyList Code = 33
	// CodeHeadersNotChained: a header in SubmitHeaders does not name the
	// one before it as its parent.
	CodeHeadersNotChained Code = 34
	// CodeUnorderedEndorsements: endorsement heights not strictly
	// increasing.
	CodeUnorderedEndorsements Code = 35
	// CodeInsufficientStake: undelegating more than is delegated.
	CodeInsufficientStake Code = 36
	// CodeDuplicateEndorsement: the endorser already endorsed that height.
	CodeDuplicateEndorsement Code = 37
	// CodeKeyInUse: a consensus or endorser key already bound to another
	// validator.
	CodeKeyInUse Code = 38
	// CodeInsufficientFee: the signer's balance cannot pay the fee the
	// genesis schedule asks (fee_base + fee_per_byte × size), counting
	// what its transactions already waiting in the mempool will spend.
	CodeInsufficientFee Code = 39
	// CodeNonceGap: the nonce is beyond the next few the account can use
	// (the mempool's nonce window), or leaves a gap in a proposal.
	CodeNonceGap Code = 40
	// CodeTooFarAhead: a header is more than max_headers_ahead above the
	// canonical tip.
	CodeTooFarAhead Code = 41
	// CodeBlockHeaderLimit: the satnode block already added
	// max_headers_per_block headers; submit the rest later.
	CodeBlockHeaderLimit Code = 42
	// CodeNotActive: the validator is not bonded, active and unjailed, so
	// its endorsements would neither count nor earn.
	CodeNotActive Code = 43
	// CodeTombstoned: the validator was slashed for double signing and can
	// never be unjailed.
	CodeTombstoned Code = 44
)

// codeNames is indexed by Code; String falls back to a number for codes
// added by a newer version.
var codeNames = [...]string{
	CodeOK:                       "OK",
	CodeMalformed:                "Malformed",
	CodeTooLarge:                 "TooLarge",
	CodeBadSignature:             "BadSignature",
	CodeBadNonce:                 "BadNonce",
	CodeWrongChain:               "WrongChain",
	CodeInsufficientBalance:      "InsufficientBalance",
	CodeUnknownAccount:           "UnknownAccount",
	CodeUnknownValidator:         "UnknownValidator",
	CodeValidatorExists:          "ValidatorExists",
	CodeUnregisteredSynchronizer: "UnregisteredSynchronizer",
	CodeSynchronizerExists:       "SynchronizerExists",
	CodeNotEndorser:              "NotEndorser",
	CodeBadPoW:                   "BadPoW",
	CodeWrongBits:                "WrongBits",
	CodeTimeTooOld:               "TimeTooOld",
	CodeTimeTooNew:               "TimeTooNew",
	CodeUnknownParent:            "UnknownParent",
	CodeDuplicateHeader:          "DuplicateHeader",
	CodeBadHeader:                "BadHeader",
	CodeBadCheckpoint:            "BadCheckpoint",
	CodeBelowFinalized:           "BelowFinalized",
	CodeUnknownBlock:             "UnknownBlock",
	CodeNotJailed:                "NotJailed",
	CodeJailed:                   "Jailed",
	CodeStillUnbonding:           "StillUnbonding",
	CodeNoDelegation:             "NoDelegation",
	CodeInvalidAmount:            "InvalidAmount",
	CodeOverflow:                 "Overflow",
	CodeInternal:                 "Internal",
	CodeInvalidAddress:           "InvalidAddress",
	CodeInvalidCommission:        "InvalidCommission",
	CodeInvalidMoniker:           "InvalidMoniker",
	CodeEmptyList:                "EmptyList",
	CodeHeadersNotChained:        "HeadersNotChained",
	CodeUnorderedEndorsements:    "UnorderedEndorsements",
	CodeInsufficientStake:        "InsufficientStake",
	CodeDuplicateEndorsement:     "DuplicateEndorsement",
	CodeKeyInUse:                 "KeyInUse",
	CodeInsufficientFee:          "InsufficientFee",
	CodeNonceGap:                 "NonceGap",
	CodeTooFarAhead:              "TooFarAhead",
	CodeBlockHeaderLimit:         "BlockHeaderLimit",
	CodeNotActive:                "NotActive",
	CodeTombstoned:               "Tombstoned",
}

// String returns the code's name, e.g. "BadSignature".
func (c Code) String() string {
	if uint64(c) < uint64(len(codeNames)) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint32(c))
}

// Error is a rejection: a stable Code for machines and a message for
// humans. The message is not part of consensus (CometBFT logs it but does
// not hash it), so it may change between versions; the code may not.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string {
	return "tx: " + e.Code.String() + ": " + e.Msg
}

// CodeOf returns the Code carried by err or anything it wraps: CodeOK for
// nil, CodeInternal for an error that carries no Code (so an unexpected
// error is never mistaken for a specific rule).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// errorf builds an *Error. It returns error, not *Error, so a caller can
// never return a typed nil.
func errorf(c Code, format string, args ...any) error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}
