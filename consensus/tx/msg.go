package tx

import (
	"fmt"
	"unicode/utf8"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Limits. They are consensus rules: a node with other values would accept
// or reject different transactions from its peers.
const (
	// MaxTxBytes caps an envelope's wire form, and so CheckTx's work on one
	// transaction. The largest valid message, SubmitHeaders with
	// MaxHeadersPerTx headers, needs 160,004 bytes of body.
	MaxTxBytes = 256 << 10

	// MaxHeadersPerTx caps SubmitHeaders: 2000 headers are about two weeks
	// of Bitcoin blocks, one retarget window, so catching up never needs
	// many transactions, while 160 KB stays well inside a CometBFT block.
	MaxHeadersPerTx = 2000

	// MaxEndorsementsPerTx caps Endorse, with the same reasoning.
	MaxEndorsementsPerTx = 2000

	// MaxMonikerBytes caps a validator's display name, in bytes of UTF-8.
	MaxMonikerBytes = 64

	// MaxCommissionBps is 100%, in basis points.
	MaxCommissionBps = 10000

	// HeaderSize is the size of a serialized Bitcoin block header.
	HeaderSize = 80
)

// Kind identifies a message type. Its value is the second byte of every
// body, so the values are stable: never renumber or reuse one.
type Kind uint8

// The message kinds.
const (
	KindTransfer             Kind = 1
	KindCreateValidator      Kind = 2
	KindDelegate             Kind = 3
	KindUndelegate           Kind = 4
	KindRegisterSynchronizer Kind = 5
	KindSubmitHeaders        Kind = 6
	KindEndorse              Kind = 7
	KindUnjail               Kind = 8
	KindWithdrawRewards      Kind = 9
)

var kindNames = [...]string{
	KindTransfer:             "Transfer",
	KindCreateValidator:      "CreateValidator",
	KindDelegate:             "Delegate",
	KindUndelegate:           "Undelegate",
	KindRegisterSynchronizer: "RegisterSynchronizer",
	KindSubmitHeaders:        "SubmitHeaders",
	KindEndorse:              "Endorse",
	KindUnjail:               "Unjail",
	KindWithdrawRewards:      "WithdrawRewards",
}

// String returns the kind's name, e.g. "Transfer".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Msg is the content of a transaction, one struct type per Kind. The set
// is closed (the unexported method keeps other packages from adding
// kinds), so a type switch over the nine types is exhaustive. DecodeMsg
// returns the struct types as values, never pointers.
type Msg interface {
	// Kind returns the message's kind.
	Kind() Kind
	// ValidateBasic runs the stateless checks: everything that can be
	// decided from the message alone. DecodeMsg and EncodeMsg run it, so a
	// decoded message has passed it.
	ValidateBasic() error
	// appendFields appends the fields, in declaration order, after the
	// version and kind bytes.
	appendFields(b []byte) []byte
}

// Transfer moves Amount from the signer's account to To.
type Transfer struct {
	To     Address
	Amount uint64
}

// CreateValidator makes the signer a validator operator, bonding SelfStake
// from its balance.
type CreateValidator struct {
	// ConsensusKey is the ed25519 public key CometBFT signs votes with.
	// Whether it is a valid point is left to the state machine, which
	// hands it to CometBFT.
	ConsensusKey [32]byte
	// EndorserKey is the x-only key the validator's endorser signs Endorse
	// transactions with; separate from the operator key so the endorser,
	// which runs online next to a Bitcoin node, never holds the stake.
	EndorserKey Address
	// CommissionBps is the operator's cut of delegators' rewards, in basis
	// points, at most MaxCommissionBps.
	CommissionBps uint16
	// SelfStake is bonded from the signer's balance; it must be positive.
	SelfStake uint64
	// Moniker is a display name: at most MaxMonikerBytes of UTF-8 without
	// control or invisible formatting characters (see checkMoniker).
	Moniker string
}

// Delegate bonds Amount of the signer's balance to the validator operated
// by Validator.
type Delegate struct {
	Validator Address
	Amount    uint64
}

// Undelegate starts unbonding Amount of the signer's delegation to
// Validator; it returns to the balance after the unbonding period.
type Undelegate struct {
	Validator Address
	Amount    uint64
}

// RegisterSynchronizer makes the signer a synchronizer, bonding Bond from
// its balance; header rewards are paid to Payout.
type RegisterSynchronizer struct {
	Bond   uint64
	Payout Address
}

// SubmitHeaders submits raw 80-byte Bitcoin block headers, in chain order:
// each after the first names the previous one as its parent. Whether the
// first one connects, and every other header rule, is for the state
// machine.
type SubmitHeaders struct {
	Headers [][HeaderSize]byte
}

// Endorsement states that the endorser's Bitcoin node has, at Height, the
// block whose hash is Hash.
type Endorsement struct {
	Height uint32
	// Hash is in internal byte order, as chainhash.Hash keeps it (String
	// prints it reversed, as Bitcoin Core does).
	Hash chainhash.Hash
}

// Endorse carries a validator endorser's endorsements, heights strictly
// increasing (so that there is one encoding per set and no duplicates).
type Endorse struct {
	Items []Endorsement
}

// Unjail asks to release the validator the signer operates from jail.
type Unjail struct{}

// WithdrawRewards pays the signer's accrued rewards from its delegation to
// (or, for the operator, its commission from) Validator.
type WithdrawRewards struct {
	Validator Address
}

// Kind implements Msg.
func (Transfer) Kind() Kind { return KindTransfer }

// Kind implements Msg.
func (CreateValidator) Kind() Kind { return KindCreateValidator }

// Kind implements Msg.
func (Delegate) Kind() Kind { return KindDelegate }

// Kind implements Msg.
func (Undelegate) Kind() Kind { return KindUndelegate }

// Kind implements Msg.
func (RegisterSynchronizer) Kind() Kind { return KindRegisterSynchronizer }

// Kind implements Msg.
func (SubmitHeaders) Kind() Kind { return KindSubmitHeaders }

// Kind implements Msg.
func (Endorse) Kind() Kind { return KindEndorse }

// Kind implements Msg.
func (Unjail) Kind() Kind { return KindUnjail }

// Kind implements Msg.
func (WithdrawRewards) Kind() Kind { return KindWithdrawRewards }

// ValidateBasic implements Msg.
func (m Transfer) ValidateBasic() error {
	if err := checkAddress(m.To, "to"); err != nil {
		return err
	}
	// A zero transfer would change nothing but the nonce; refusing it
	// keeps pointless transactions out of blocks.
	return checkAmount(m.Amount, "amount")
}

// ValidateBasic implements Msg.
func (m CreateValidator) ValidateBasic() error {
	if err := checkAddress(m.EndorserKey, "endorser key"); err != nil {
		return err
	}
	if m.CommissionBps > MaxCommissionBps {
		return errorf(CodeInvalidCommission, "commission %d bps exceeds %d", m.CommissionBps, MaxCommissionBps)
	}
	if err := checkAmount(m.SelfStake, "self stake"); err != nil {
		return err
	}
	return checkMoniker(m.Moniker)
}

// ValidateBasic implements Msg.
func (m Delegate) ValidateBasic() error {
	if err := checkAddress(m.Validator, "validator"); err != nil {
		return err
	}
	return checkAmount(m.Amount, "amount")
}

// ValidateBasic implements Msg.
func (m Undelegate) ValidateBasic() error {
	if err := checkAddress(m.Validator, "validator"); err != nil {
		return err
	}
	return checkAmount(m.Amount, "amount")
}

// ValidateBasic implements Msg.
func (m RegisterSynchronizer) ValidateBasic() error {
	if err := checkAmount(m.Bond, "bond"); err != nil {
		return err
	}
	return checkAddress(m.Payout, "payout")
}

// ValidateBasic implements Msg. Chaining costs one double SHA-256 per
// header, cheap enough for CheckTx, and lets the state machine treat a
// batch as one branch.
func (m SubmitHeaders) ValidateBasic() error {
	n := len(m.Headers)
	if n == 0 {
		return errorf(CodeEmptyList, "SubmitHeaders without headers")
	}
	if n > MaxHeadersPerTx {
		return errorf(CodeTooLarge, "%d headers exceed the limit %d", n, MaxHeadersPerTx)
	}
	for i := 1; i < n; i++ {
		parent := chainhash.DoubleHashH(m.Headers[i-1][:])
		// Bytes 4..36 of a header are its parent's hash, in the internal
		// byte order chainhash.Hash keeps.
		if chainhash.Hash(m.Headers[i][4:36]) != parent {
			return errorf(CodeHeadersNotChained, "header %d does not name header %d (%s) as its parent",
				i, i-1, parent)
		}
	}
	return nil
}

// ValidateBasic implements Msg.
func (m Endorse) ValidateBasic() error {
	n := len(m.Items)
	if n == 0 {
		return errorf(CodeEmptyList, "Endorse without endorsements")
	}
	if n > MaxEndorsementsPerTx {
		return errorf(CodeTooLarge, "%d endorsements exceed the limit %d", n, MaxEndorsementsPerTx)
	}
	for i := 1; i < n; i++ {
		if m.Items[i].Height <= m.Items[i-1].Height {
			return errorf(CodeUnorderedEndorsements, "endorsement %d at height %d after height %d",
				i, m.Items[i].Height, m.Items[i-1].Height)
		}
	}
	return nil
}

// ValidateBasic implements Msg. Unjail has no fields.
func (Unjail) ValidateBasic() error { return nil }

// ValidateBasic implements Msg.
func (m WithdrawRewards) ValidateBasic() error {
	return checkAddress(m.Validator, "validator")
}

func checkAddress(a Address, field string) error {
	if err := a.Validate(); err != nil {
		return errorf(CodeInvalidAddress, "%s: %v", field, err)
	}
	return nil
}

func checkAmount(v uint64, field string) error {
	if v == 0 {
		return errorf(CodeInvalidAmount, "%s must be positive", field)
	}
	return nil
}

// checkMoniker enforces MaxMonikerBytes, valid UTF-8, and no forbidden
// rune. "Printable" is a fixed list of exclusions rather than
// unicode.IsPrint on purpose: IsPrint follows the Unicode tables of the Go
// release that compiled the node, and two releases could disagree on a
// newly assigned character, which would split consensus.
func checkMoniker(s string) error {
	if len(s) > MaxMonikerBytes {
		return errorf(CodeInvalidMoniker, "moniker of %d bytes exceeds %d", len(s), MaxMonikerBytes)
	}
	if !utf8.ValidString(s) {
		return errorf(CodeInvalidMoniker, "moniker is not valid UTF-8")
	}
	for i, r := range s {
		if forbiddenRune(r) {
			return errorf(CodeInvalidMoniker, "moniker has forbidden character %U at byte %d", r, i)
		}
	}
	return nil
}

// forbiddenRune reports the runes a moniker may not contain: control
// characters, line breaks, and the invisible and bidirectional formatting
// characters that let one name display as another.
func forbiddenRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0 controls, DEL, C1 controls
		return true
	case r >= 0x200b && r <= 0x200f: // zero-width space/joiners, LRM, RLM
		return true
	case r >= 0x2028 && r <= 0x202e: // line/paragraph separators, bidi embeddings
		return true
	case r >= 0x2060 && r <= 0x206f: // word joiner, invisible operators, bidi isolates
		return true
	case r == 0xfeff: // zero-width no-break space (byte order mark)
		return true
	}
	return false
}
