package verify

import (
	"errors"
	"fmt"
)

// Step names the link of the chain that broke, so that whoever reads a
// refusal knows which claim of the file was false: its encoding, the
// header, the app hash, the UTXO root, the Bitcoin tip, the coin, or the
// reserves arithmetic.
type Step int

// The steps, in the order a file is checked.
const (
	// StepDecode: the file, or a field in it, is malformed or too large.
	StepDecode Step = iota + 1
	// StepHeader: the light client refused the header, or the header is
	// not the one the file names (chain id, height, app hash).
	StepHeader
	// StepAppHash: app_hash_version is not 2, or app_hash is not the
	// verified header's.
	StepAppHash
	// StepRoot: root_proof does not prove utxo_root in the app hash.
	StepRoot
	// StepTip: tip_proof does not prove the Bitcoin tip in the app hash.
	StepTip
	// StepCoin: a coin's proof does not prove what the file claims
	// against utxo_root.
	StepCoin
	// StepReserves: an address, a script, a repeated outpoint or the
	// total is wrong.
	StepReserves
)

var stepNames = [...]string{
	StepDecode:   "decode",
	StepHeader:   "header",
	StepAppHash:  "app hash",
	StepRoot:     "utxo root",
	StepTip:      "bitcoin tip",
	StepCoin:     "coin",
	StepReserves: "reserves",
}

func (s Step) String() string {
	if s > 0 && int(s) < len(stepNames) {
		return stepNames[s]
	}
	return fmt.Sprintf("step %d", int(s))
}

// Error is a refusal: the step that failed and why. Err wraps one of the
// sentinel errors below, so errors.Is tells the kinds apart and errors.As
// finds the step.
type Error struct {
	Step Step
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("verify: %s: %v", e.Step, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// The kinds of refusal.
var (
	// ErrMalformed: bytes that do not decode, or decode to something of
	// the wrong shape (a proof whose ops are not the spec's, a hash of the
	// wrong length, a header height that is not height+1).
	ErrMalformed = errors.New("malformed")
	// ErrTooLarge: the file or one of its fields exceeds its cap.
	ErrTooLarge = errors.New("too large")
	// ErrVersion: an app hash version this verifier cannot check.
	ErrVersion = errors.New("unsupported app hash version")
	// ErrAppHash: the file's app hash is not the verified header's.
	ErrAppHash = errors.New("app hash does not match the verified header")
	// ErrChainID: the header is from another chain than the file names.
	ErrChainID = errors.New("chain id does not match")
	// ErrLightClient: the light client could not verify the header.
	ErrLightClient = errors.New("light client refused the header")
	// ErrProof: a proof does not lead to the root it must lead to.
	ErrProof = errors.New("proof does not verify")
	// ErrProofKind: a membership proof where absence is claimed, or the
	// other way round.
	ErrProofKind = errors.New("proof kind does not match the claim")
	// ErrAddress: an address that does not decode on any known network,
	// or whose script is not script_pubkey.
	ErrAddress = errors.New("bad address")
	// ErrScript: a coin whose script is not its address's.
	ErrScript = errors.New("coin script is not the address's")
	// ErrDuplicate: an outpoint (or an address) listed twice, which would
	// count it twice.
	ErrDuplicate = errors.New("listed twice")
	// ErrTotal: the claimed total is not the sum of the proven coins.
	ErrTotal = errors.New("total does not match the coins")
)

// fail builds the *Error for step, wrapping kind.
func fail(step Step, kind error, format string, args ...any) *Error {
	return &Error{Step: step, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}
