package utxo

import (
	"errors"
	"fmt"
)

// ErrorCode identifies a kind of block rule violation. Codes are stable:
// later layers (the ABCI application, RPC) map them to their own stable codes,
// so never renumber them; only append.
type ErrorCode int

// Rule violations a block can be rejected for. The comments give Bitcoin
// Core's reject reason where one exists, so logs can be compared.
const (
	// ErrMalformedBlock: the bytes do not decode as a block, or leave
	// trailing bytes.
	ErrMalformedBlock ErrorCode = iota + 1
	// ErrPrevBlockMismatch: the block does not extend the current tip.
	ErrPrevBlockMismatch
	// ErrHighHash: the header hash is above the target its bits encode
	// ("high-hash"), or the bits are out of range for the network.
	ErrHighHash
	// ErrBadMerkleRoot: the header's merkle root does not match the
	// transactions ("bad-txnmrklroot").
	ErrBadMerkleRoot
	// ErrMutatedMerkle: the transaction list is a CVE-2012-2459 mutation,
	// a duplicated tail that keeps the merkle root ("bad-txns-duplicate").
	ErrMutatedMerkle
	// ErrBadWitnessCommitment: the coinbase witness commitment does not match
	// the witness merkle root, or the coinbase witness nonce is malformed
	// ("bad-witness-merkle-match", "bad-witness-nonce-size").
	ErrBadWitnessCommitment
	// ErrUnexpectedWitness: witness data without a witness commitment
	// ("unexpected-witness").
	ErrUnexpectedWitness
	// ErrNoTransactions: the block has no transactions ("bad-blk-length").
	ErrNoTransactions
	// ErrFirstTxNotCoinbase: the first transaction is not a coinbase
	// ("bad-cb-missing").
	ErrFirstTxNotCoinbase
	// ErrMultipleCoinbases: a transaction other than the first is a coinbase
	// ("bad-cb-multiple").
	ErrMultipleCoinbases
	// ErrBadCoinbaseScriptLen: the coinbase script is not 2..100 bytes
	// ("bad-cb-length").
	ErrBadCoinbaseScriptLen
	// ErrNoTxInputs: a transaction has no inputs ("bad-txns-vin-empty").
	ErrNoTxInputs
	// ErrNoTxOutputs: a transaction has no outputs ("bad-txns-vout-empty").
	ErrNoTxOutputs
	// ErrBadTxOutValue: an output value, or a transaction's output total,
	// is negative or above 21 million BTC ("bad-txns-vout-negative",
	// "bad-txns-vout-toolarge", "bad-txns-txouttotal-toolarge").
	ErrBadTxOutValue
	// ErrDuplicateTxInputs: a transaction spends the same outpoint twice
	// ("bad-txns-inputs-duplicate").
	ErrDuplicateTxInputs
	// ErrNullPrevOut: a non-coinbase input spends the null outpoint
	// ("bad-txns-prevout-null").
	ErrNullPrevOut
	// ErrMissingInput: an input spends an outpoint that is not in the set:
	// never created, already spent, or spent twice in this block
	// ("bad-txns-inputs-missingorspent").
	ErrMissingInput
	// ErrImmatureSpend: a coinbase output is spent before it has
	// CoinbaseMaturity confirmations ("bad-txns-premature-spend-of-coinbase").
	ErrImmatureSpend
	// ErrSpendTooHigh: a transaction's outputs exceed its inputs
	// ("bad-txns-in-belowout").
	ErrSpendTooHigh
	// ErrBadCoinbaseValue: the coinbase pays more than subsidy plus fees
	// ("bad-cb-amount").
	ErrBadCoinbaseValue
	// ErrOverwriteTx: a transaction would create an output that is already
	// unspent in the set, where BIP30 is enforced ("bad-txns-BIP30").
	ErrOverwriteTx
	// ErrBlockTooHeavy: the block weight exceeds 4,000,000 ("bad-blk-weight").
	ErrBlockTooHeavy
	// ErrScriptValidation: an input script fails verification (only when
	// script validation is enabled; "mandatory-script-verify-flag-failed").
	ErrScriptValidation
	// ErrBadGenesis: the first block of an empty store is not the network's
	// genesis block.
	ErrBadGenesis
	// ErrInputValueOutOfRange: a transaction's inputs, or the block's fees,
	// total more than 21 million BTC ("bad-txns-inputvalues-outofrange").
	ErrInputValueOutOfRange

	// numErrorCodes is one past the last code; append new codes above it.
	numErrorCodes
)

var errorCodeNames = [...]string{
	ErrMalformedBlock:       "ErrMalformedBlock",
	ErrPrevBlockMismatch:    "ErrPrevBlockMismatch",
	ErrHighHash:             "ErrHighHash",
	ErrBadMerkleRoot:        "ErrBadMerkleRoot",
	ErrMutatedMerkle:        "ErrMutatedMerkle",
	ErrBadWitnessCommitment: "ErrBadWitnessCommitment",
	ErrUnexpectedWitness:    "ErrUnexpectedWitness",
	ErrNoTransactions:       "ErrNoTransactions",
	ErrFirstTxNotCoinbase:   "ErrFirstTxNotCoinbase",
	ErrMultipleCoinbases:    "ErrMultipleCoinbases",
	ErrBadCoinbaseScriptLen: "ErrBadCoinbaseScriptLen",
	ErrNoTxInputs:           "ErrNoTxInputs",
	ErrNoTxOutputs:          "ErrNoTxOutputs",
	ErrBadTxOutValue:        "ErrBadTxOutValue",
	ErrDuplicateTxInputs:    "ErrDuplicateTxInputs",
	ErrNullPrevOut:          "ErrNullPrevOut",
	ErrMissingInput:         "ErrMissingInput",
	ErrImmatureSpend:        "ErrImmatureSpend",
	ErrSpendTooHigh:         "ErrSpendTooHigh",
	ErrBadCoinbaseValue:     "ErrBadCoinbaseValue",
	ErrOverwriteTx:          "ErrOverwriteTx",
	ErrBlockTooHeavy:        "ErrBlockTooHeavy",
	ErrScriptValidation:     "ErrScriptValidation",
	ErrBadGenesis:           "ErrBadGenesis",
	ErrInputValueOutOfRange: "ErrInputValueOutOfRange",
}

// String returns the code's name.
func (c ErrorCode) String() string {
	if c > 0 && int(c) < len(errorCodeNames) && errorCodeNames[c] != "" {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// RuleError is a block that breaks a consensus rule the engine checks. A
// block rejected with a RuleError leaves the store unchanged.
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

// Sentinel errors of the store and the engine's state, as opposed to
// problems with a block.
var (
	// ErrNotFound: the key, coin, height or hash is not in the store.
	ErrNotFound = errors.New("utxo: not found")
	// ErrCorrupt: the store contradicts itself (a missing undo record, a
	// muhash that does not match its record). It is never caused by a bad
	// block; it means the database was damaged or written by something else.
	ErrCorrupt = errors.New("utxo: store is corrupt")
	// ErrWrongNetwork: the store was created for another network.
	ErrWrongNetwork = errors.New("utxo: store belongs to another network")
	// ErrSchema: the store uses an unknown on-disk schema version.
	ErrSchema = errors.New("utxo: unsupported store schema")
	// ErrNothingToDisconnect: the tip is the genesis block or the seeded base.
	ErrNothingToDisconnect = errors.New("utxo: nothing to disconnect")
	// ErrUndoPruned: the undo record needed to disconnect was pruned.
	ErrUndoPruned = errors.New("utxo: undo data pruned")
	// ErrNotEmpty: the operation needs an empty store.
	ErrNotEmpty = errors.New("utxo: store is not empty")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("utxo: engine closed")
	// ErrMalformed: a stored record or key does not decode.
	ErrMalformed = errors.New("utxo: malformed record")
	// ErrReservedKey: a caller's record in FlushWith used a key the engine
	// reserves (see ReservedKey).
	ErrReservedKey = errors.New("utxo: key reserved for the engine")
	// ErrLoadIncomplete: the store holds part of a snapshot whose load
	// (Engine.SeedStream) was interrupted. It answers nothing and takes no
	// blocks until the load is resumed (Config.ResumeLoad) and completes.
	ErrLoadIncomplete = errors.New("utxo: snapshot load incomplete")
	// ErrBadSnapshot: a seeded coin is refused (unspendable, above the
	// base, out of order or repeated, totals above 21M BTC), or a resumed
	// load is given another snapshot than the one it started with.
	ErrBadSnapshot = errors.New("utxo: bad snapshot")
)

// corruptf wraps ErrCorrupt with detail.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// malformedf wraps ErrMalformed with detail.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// IsNotFound reports whether err means a missing key, coin or record.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
