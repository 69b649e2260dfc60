package btcheaders

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/satnode/satnode/utxo"
)

// ErrorCode identifies why a header or a start point was rejected. Codes are
// stable: the ABCI application maps them to its own stable codes, so never
// renumber them; only append.
type ErrorCode int

// Rejection reasons. The comments name the btcd blockchain.ErrorCode values
// that map onto each (see fromBtcd).
const (
	// ErrUnknownParent: the header's previous-block hash is not in the tree
	// (never added, or pruned by SetBase).
	ErrUnknownParent ErrorCode = iota + 1
	// ErrDuplicate: a header with the same hash is already in the tree.
	ErrDuplicate
	// ErrBadPoW: the header hash is above the target its bits encode
	// (btcd ErrHighHash).
	ErrBadPoW
	// ErrWrongBits: the bits are not what the retarget rules demand for
	// this position, or encode a target that is zero, negative or above the
	// network's proof-of-work limit (btcd ErrUnexpectedDifficulty).
	ErrWrongBits
	// ErrTimeTooOld: the timestamp is at or below the median time of the
	// previous 11 headers (btcd ErrTimeTooOld).
	ErrTimeTooOld
	// ErrTimeTooNew: the timestamp is more than 2 hours after the time the
	// caller passed as now, the CometBFT block time (btcd ErrTimeTooNew).
	ErrTimeTooNew
	// ErrBadCheckpoint: the header sits at a checkpoint height with another
	// hash, or forks the chain below the highest checkpoint already in the
	// tree (btcd ErrBadCheckpoint, ErrForkTooOld).
	ErrBadCheckpoint
	// ErrBelowFinalized: the header would sit at or below the height of the
	// finalized base.
	ErrBelowFinalized
	// ErrBadHeader: any other rule: a block version that is no longer valid
	// at this height (btcd ErrBlockVersionTooOld), a timestamp that is not a
	// whole second or does not fit the header's 32-bit field (btcd
	// ErrInvalidTime), a nil header, a height or cumulative work that would
	// overflow.
	ErrBadHeader
	// ErrBadStart: the start point given to New is unusable: too little
	// ancestry, headers that do not chain by hash, fail proof of work,
	// contradict a checkpoint, or a height-0 start that is not the network's
	// genesis header.
	ErrBadStart

	// numErrorCodes is one past the last code; append new codes above it.
	numErrorCodes
)

var errorCodeNames = [...]string{
	ErrUnknownParent:  "ErrUnknownParent",
	ErrDuplicate:      "ErrDuplicate",
	ErrBadPoW:         "ErrBadPoW",
	ErrWrongBits:      "ErrWrongBits",
	ErrTimeTooOld:     "ErrTimeTooOld",
	ErrTimeTooNew:     "ErrTimeTooNew",
	ErrBadCheckpoint:  "ErrBadCheckpoint",
	ErrBelowFinalized: "ErrBelowFinalized",
	ErrBadHeader:      "ErrBadHeader",
	ErrBadStart:       "ErrBadStart",
}

// String returns the code's name.
func (c ErrorCode) String() string {
	if c > 0 && int(c) < len(errorCodeNames) && errorCodeNames[c] != "" {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// RuleError is a header (or start point) that breaks a rule. A header
// rejected with a RuleError leaves the tree unchanged. Only Code is stable
// and fit for consensus; Description is for logs (btcd's texts print times
// in the local time zone).
type RuleError struct {
	Code        ErrorCode
	Description string
}

func (e RuleError) Error() string { return e.Code.String() + ": " + e.Description }

func ruleError(c ErrorCode, format string, args ...any) RuleError {
	return RuleError{Code: c, Description: fmt.Sprintf(format, args...)}
}

// IsRuleError reports whether err is a RuleError with the given code.
func IsRuleError(err error, c ErrorCode) bool {
	var re RuleError
	return errors.As(err, &re) && re.Code == c
}

// Sentinel errors of the tree and its storage, as opposed to problems with a
// header.
var (
	// ErrNotInTree: SetBase was given a node that is not (or no longer) in
	// the tree.
	ErrNotInTree = errors.New("btcheaders: node not in the tree")
	// ErrBaseBackwards: SetBase was given a node below the current base; the
	// base only moves up.
	ErrBaseBackwards = errors.New("btcheaders: base cannot move down")
	// ErrCorrupt: the stored tree does not decode or contradicts itself. It
	// is never caused by a bad header.
	ErrCorrupt = errors.New("btcheaders: stored tree is corrupt")
	// ErrWrongNetwork: the stored tree belongs to another network.
	ErrWrongNetwork = errors.New("btcheaders: stored tree belongs to another network")
	// ErrNoTree: nothing is stored under the prefix. It wraps
	// utxo.ErrNotFound, so utxo.IsNotFound recognises it.
	ErrNoTree = fmt.Errorf("btcheaders: no tree stored: %w", utxo.ErrNotFound)
	// ErrBadParams: the chain parameters or the key prefix are unusable.
	ErrBadParams = errors.New("btcheaders: bad parameters")
	// ErrInternal: btcd reported something that is not a rule violation,
	// which means the tree lacks context it promised to keep: a bug.
	ErrInternal = errors.New("btcheaders: internal error")
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// fromBtcd maps an error from btcd's header checks onto a RuleError. Errors
// that are not btcd rule errors are wrapped in ErrInternal.
func fromBtcd(err error) error {
	var be blockchain.RuleError
	if !errors.As(err, &be) {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return RuleError{Code: codeFromBtcd(be.ErrorCode), Description: be.Description}
}

// codeFromBtcd is the one place where btcd's codes meet ours.
func codeFromBtcd(c blockchain.ErrorCode) ErrorCode {
	switch c {
	case blockchain.ErrHighHash:
		return ErrBadPoW
	case blockchain.ErrUnexpectedDifficulty:
		return ErrWrongBits
	case blockchain.ErrTimeTooOld:
		return ErrTimeTooOld
	case blockchain.ErrTimeTooNew:
		return ErrTimeTooNew
	case blockchain.ErrBadCheckpoint, blockchain.ErrForkTooOld:
		return ErrBadCheckpoint
	default:
		// ErrInvalidTime, ErrBlockVersionTooOld, and anything a later btcd
		// adds to the header checks.
		return ErrBadHeader
	}
}
