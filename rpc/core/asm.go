package core

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/satnode/satnode/rpc/internal/opnames"
)

// scriptSigAsm is Core's ScriptToAsmStr(script, fAttemptSighashDecode =
// true), the "asm" of an input's scriptSig in getrawtransaction and
// getblock: pushes of up to four bytes as the number they encode
// (CScriptNum), longer pushes in hex, and a push that is a strictly
// DER-encoded signature with a defined hash type (CheckSignatureEncoding
// with STRICTENC) written without its last byte and with the type's name
// in brackets, e.g. "3044…01" as "3044…[ALL]". A push past the end of the
// script ends the text with "[error]".
//
// Output scripts keep the disassembly gettxout gives (btcd's, see
// query.DescribeScript), so that one output reads the same in every
// method; it differs from Core's only for pushes of up to four bytes.
func scriptSigAsm(script []byte) string {
	var b strings.Builder
	unspendable := len(script) > 10_000 || (len(script) > 0 && script[0] == opReturn)
	for pc := 0; pc < len(script); {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		op := script[pc]
		pc++
		if op > opPushData4 {
			b.WriteString(coreOpName(op))
			continue
		}
		data, next, ok := pushData(script, pc, op)
		if !ok {
			b.WriteString("[error]")
			break
		}
		pc = next
		switch {
		case len(data) <= 4:
			b.WriteString(strconv.FormatInt(scriptNum(data), 10))
		case !unspendable && strictSignature(data):
			name, _ := sighashName(data[len(data)-1])
			b.WriteString(hex.EncodeToString(data[:len(data)-1]))
			b.WriteString(name)
		default:
			b.WriteString(hex.EncodeToString(data))
		}
	}
	return b.String()
}

const (
	opPushData1 = 0x4c
	opPushData2 = 0x4d
	opPushData4 = 0x4e
	opReturn    = 0x6a
)

// pushData is Core's GetScriptOp for a push opcode op whose operand starts
// at script[pc]: the pushed bytes and where the next opcode starts, or ok
// false when the length or the data runs past the end.
func pushData(script []byte, pc int, op byte) (data []byte, next int, ok bool) {
	var n uint64
	switch op {
	case opPushData1:
		if len(script)-pc < 1 {
			return nil, 0, false
		}
		n, pc = uint64(script[pc]), pc+1
	case opPushData2:
		if len(script)-pc < 2 {
			return nil, 0, false
		}
		n, pc = uint64(binary.LittleEndian.Uint16(script[pc:])), pc+2
	case opPushData4:
		if len(script)-pc < 4 {
			return nil, 0, false
		}
		n, pc = uint64(binary.LittleEndian.Uint32(script[pc:])), pc+4
	default:
		n = uint64(op)
	}
	if uint64(len(script)-pc) < n {
		return nil, 0, false
	}
	return script[pc : pc+int(n)], pc + int(n), true
}

// scriptNum is CScriptNum(data, fRequireMinimal = false).getint() for the
// at most four bytes Core reads as a number: little-endian magnitude, the
// top bit of the last byte the sign.
func scriptNum(data []byte) int64 {
	if len(data) == 0 {
		return 0
	}
	var v int64
	for i, c := range data {
		v |= int64(c) << (8 * i)
	}
	if last := data[len(data)-1]; last&0x80 != 0 {
		return -(v &^ (int64(0x80) << (8 * (len(data) - 1))))
	}
	return v
}

// sighashName is Core's mapSigHashTypes, as the asm suffix: ok false for
// a byte that is no defined hash type.
func sighashName(t byte) (string, bool) {
	names := [4]string{"", "ALL", "NONE", "SINGLE"}
	base := t &^ 0x80
	if base < 1 || base > 3 {
		return "", false
	}
	if t&0x80 != 0 {
		return "[" + names[base] + "|ANYONECANPAY]", true
	}
	return "[" + names[base] + "]", true
}

// strictSignature is Core's CheckSignatureEncoding under STRICTENC for a
// non-empty push: IsValidSignatureEncoding (strict DER plus a hash type
// byte) and IsDefinedHashtypeSignature.
func strictSignature(sig []byte) bool {
	if _, ok := sighashName(sig[len(sig)-1]); !ok {
		return false
	}
	n := len(sig)
	if n < 9 || n > 73 || sig[0] != 0x30 || int(sig[1]) != n-3 {
		return false
	}
	lenR := int(sig[3])
	if 5+lenR >= n {
		return false
	}
	lenS := int(sig[5+lenR])
	if lenR+lenS+7 != n || sig[2] != 0x02 || lenR == 0 || sig[4]&0x80 != 0 {
		return false
	}
	if lenR > 1 && sig[4] == 0 && sig[5]&0x80 == 0 {
		return false
	}
	if sig[lenR+4] != 0x02 || lenS == 0 || sig[lenR+6]&0x80 != 0 {
		return false
	}
	return !(lenS > 1 && sig[lenR+6] == 0 && sig[lenR+7]&0x80 == 0)
}

// coreOpName is Core's GetOpName for a non-push opcode.
func coreOpName(op byte) string {
	switch {
	case op == 0x4f:
		return "-1"
	case op == 0x50:
		return "OP_RESERVED"
	case op >= 0x51 && op <= 0x60:
		return strconv.Itoa(int(op) - 0x50)
	case op >= 0x61 && op <= 0xb0:
		return opnames.Mid(op)
	case op == 0xb1:
		return "OP_CHECKLOCKTIMEVERIFY"
	case op == 0xb2:
		return "OP_CHECKSEQUENCEVERIFY"
	case op >= 0xb3 && op <= 0xb9:
		return "OP_NOP" + strconv.Itoa(int(op)-0xb3+4)
	case op == 0xba:
		return "OP_CHECKSIGADD"
	case op == 0xff:
		return "OP_INVALIDOPCODE"
	}
	return "OP_UNKNOWN"
}
