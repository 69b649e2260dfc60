package tx

import (
	"errors"
	"fmt"
	"testing"
)

// TestCodeTable pins every code's number and name. These numbers reach
// clients through CheckTx and FinalizeBlock results: if this test fails,
// a change renumbered or renamed a code, which must never happen. A new
// code is appended here and in errors.go, never inserted.
func TestCodeTable(t *testing.T) {
	table := []struct {
		code Code
		num  uint32
		name string
	}{
		{CodeOK, 0, "OK"},
		{CodeMalformed, 1, "Malformed"},
		{CodeTooLarge, 2, "TooLarge"},
		{CodeBadSignature, 3, "BadSignature"},
		{CodeBadNonce, 4, "BadNonce"},
		{CodeWrongChain, 5, "WrongChain"},
		{CodeInsufficientBalance, 6, "InsufficientBalance"},
		{CodeUnknownAccount, 7, "UnknownAccount"},
		{CodeUnknownValidator, 8, "UnknownValidator"},
		{CodeValidatorExists, 9, "ValidatorExists"},
		{CodeUnregisteredSynchronizer, 10, "UnregisteredSynchronizer"},
		{CodeSynchronizerExists, 11, "SynchronizerExists"},
		{CodeNotEndorser, 12, "NotEndorser"},
		{CodeBadPoW, 13, "BadPoW"},
		{CodeWrongBits, 14, "WrongBits"},
		{CodeTimeTooOld, 15, "TimeTooOld"},
		{CodeTimeTooNew, 16, "TimeTooNew"},
		{CodeUnknownParent, 17, "UnknownParent"},
		{CodeDuplicateHeader, 18, "DuplicateHeader"},
		{CodeBadHeader, 19, "BadHeader"},
		{CodeBadCheckpoint, 20, "BadCheckpoint"},
		{CodeBelowFinalized, 21, "BelowFinalized"},
		{CodeUnknownBlock, 22, "UnknownBlock"},
		{CodeNotJailed, 23, "NotJailed"},
		{CodeJailed, 24, "Jailed"},
		{CodeStillUnbonding, 25, "StillUnbonding"},
		{CodeNoDelegation, 26, "NoDelegation"},
		{CodeInvalidAmount, 27, "InvalidAmount"},
		{CodeOverflow, 28, "Overflow"},
		{CodeInternal, 29, "Internal"},
		{CodeInvalidAddress, 30, "InvalidAddress"},
		{CodeInvalidCommission, 31, "InvalidCommission"},
		{CodeInvalidMoniker, 32, "InvalidMoniker"},
		{CodeEmptyList, 33, "EmptyList"},
		{CodeHeadersNotChained, 34, "HeadersNotChained"},
		{CodeUnorderedEndorsements, 35, "UnorderedEndorsements"},
		{CodeInsufficientStake, 36, "InsufficientStake"},
		{CodeDuplicateEndorsement, 37, "DuplicateEndorsement"},
		{CodeKeyInUse, 38, "KeyInUse"},
		{CodeInsufficientFee, 39, "InsufficientFee"},
		{CodeNonceGap, 40, "NonceGap"},
		{CodeTooFarAhead, 41, "TooFarAhead"},
		{CodeBlockHeaderLimit, 42, "BlockHeaderLimit"},
		{CodeNotActive, 43, "NotActive"},
		{CodeTombstoned, 44, "Tombstoned"},
	}
	if len(table) != len(codeNames) {
		t.Fatalf("%d codes pinned, %d defined: pin the new code here", len(table), len(codeNames))
	}
	for i, c := range table {
		if uint32(c.code) != c.num || uint32(i) != c.num {
			t.Errorf("%s = %d, pinned as %d", c.name, uint32(c.code), c.num)
		}
		if got := c.code.String(); got != c.name {
			t.Errorf("Code(%d).String() = %q, pinned as %q", c.num, got, c.name)
		}
	}
	if got := Code(1000).String(); got != "Code(1000)" {
		t.Errorf("unknown code prints as %q", got)
	}
}

func TestKindTable(t *testing.T) {
	want := []string{"", "Transfer", "CreateValidator", "Delegate", "Undelegate",
		"RegisterSynchronizer", "SubmitHeaders", "Endorse", "Unjail", "WithdrawRewards"}
	for i, m := range goldenMsgs() {
		k := m.Kind()
		if int(k) != i+1 || k.String() != want[i+1] {
			t.Errorf("message %d: kind %d %q, want %d %q", i, k, k, i+1, want[i+1])
		}
	}
	for _, k := range []Kind{0, 10, 255} {
		if got, want := k.String(), fmt.Sprintf("Kind(%d)", k); got != want {
			t.Errorf("Kind %d prints as %q, want %q", k, got, want)
		}
	}
}

func TestCodeOf(t *testing.T) {
	base := errorf(CodeBadNonce, "nonce 3 after 5")
	for _, c := range []struct {
		err  error
		want Code
	}{
		{nil, CodeOK},
		{base, CodeBadNonce},
		{fmt.Errorf("checktx: %w", base), CodeBadNonce},
		{errors.New("disk on fire"), CodeInternal},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	if got, want := base.Error(), "tx: BadNonce: nonce 3 after 5"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
