package staking

import (
	"errors"
	"fmt"

	"github.com/satnode/satnode/consensus/tx"
)

// Sentinel errors for what is not a transaction rejection: a bad genesis or
// parameter set (an operator's mistake, reported at start) and stored bytes
// that do not decode (a damaged or foreign database). Transaction and
// block-input rejections are *tx.Error values with a stable code instead.
var (
	// ErrInvalidParams: a parameter is out of its allowed range.
	ErrInvalidParams = errors.New("staking: invalid params")
	// ErrInvalidGenesis: the genesis lists duplicate keys, zero amounts,
	// invalid addresses or amounts that do not add up.
	ErrInvalidGenesis = errors.New("staking: invalid genesis")
	// ErrNoState: Load found nothing under the prefix.
	ErrNoState = errors.New("staking: no stored state")
	// ErrCorrupt: stored records do not decode, are not in canonical form,
	// or contradict each other.
	ErrCorrupt = errors.New("staking: corrupt stored state")
)

// reject builds the *tx.Error every operation returns on rejection. It
// returns error, not *tx.Error, so a caller never sees a typed nil.
func reject(c tx.Code, format string, args ...any) error {
	return &tx.Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// internalf reports a broken invariant found while checking an operation:
// the operation is refused (nothing changes) instead of panicking, and the
// code tells the caller it is not the sender's fault.
func internalf(format string, args ...any) error {
	return reject(tx.CodeInternal, format, args...)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func genesisf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidGenesis, fmt.Sprintf(format, args...))
}

func paramsf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidParams, fmt.Sprintf(format, args...))
}
