package esplora

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/rpc/internal/opnames"
)

// Esplora describes scripts the way rust-bitcoin does (electrs's
// ScriptToAsm, ScriptToAddr and TxOutValue's type names); the functions
// below reproduce that text, which differs from Core's and btcd's: every
// push is named ("OP_PUSHBYTES_20 <hex>"), small numbers are
// OP_PUSHNUM_n, and the type names are Esplora's own.

// scriptAsm is rust-bitcoin's Script::to_asm (bytes_to_asm_fmt): opcode
// names with the pushed data in hex after them, "OP_0" for the empty
// push, and "<unexpected end>" or "<push past end>" where the script is
// cut short (the former written right after the previous token, as
// rust-bitcoin does).
func scriptAsm(script []byte) string {
	var b strings.Builder
	for pc := 0; pc < len(script); {
		op := script[pc]
		pc++
		var n uint64
		switch {
		case op <= 0x4b:
			n = uint64(op)
		case op >= 0x4c && op <= 0x4e:
			width := [...]int{1, 2, 4}[op-0x4c]
			if len(script)-pc < width {
				b.WriteString("<unexpected end>")
				return b.String()
			}
			var lb [8]byte
			copy(lb[:], script[pc:pc+width])
			n = binary.LittleEndian.Uint64(lb[:])
			pc += width
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if op == 0 {
			b.WriteString("OP_0")
		} else {
			b.WriteString(opName(op))
		}
		if n == 0 {
			continue
		}
		b.WriteByte(' ')
		if n > uint64(len(script)-pc) {
			b.WriteString("<push past end>")
			return b.String()
		}
		b.WriteString(hex.EncodeToString(script[pc : pc+int(n)]))
		pc += int(n)
	}
	return b.String()
}

// opName is rust-bitcoin's name of an opcode (its Display).
func opName(op byte) string {
	switch {
	case op <= 0x4b:
		return "OP_PUSHBYTES_" + strconv.Itoa(int(op))
	case op == 0x4c:
		return "OP_PUSHDATA1"
	case op == 0x4d:
		return "OP_PUSHDATA2"
	case op == 0x4e:
		return "OP_PUSHDATA4"
	case op == 0x4f:
		return "OP_PUSHNUM_NEG1"
	case op == 0x50:
		return "OP_RESERVED"
	case op >= 0x51 && op <= 0x60:
		return "OP_PUSHNUM_" + strconv.Itoa(int(op)-0x50)
	case op >= 0x61 && op <= 0xb0:
		return opnames.Mid(op)
	case op == 0xb1:
		return "OP_CLTV"
	case op == 0xb2:
		return "OP_CSV"
	case op >= 0xb3 && op <= 0xb9:
		return "OP_NOP" + strconv.Itoa(int(op)-0xb3+4)
	case op == 0xba:
		return "OP_CHECKSIGADD"
	case op == 0xff:
		return "OP_INVALIDOPCODE"
	}
	return "OP_RETURN_" + strconv.Itoa(int(op))
}

func isP2PKH(s []byte) bool {
	return len(s) == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 20 && s[23] == 0x88 && s[24] == 0xac
}

func isP2SH(s []byte) bool { return len(s) == 23 && s[0] == 0xa9 && s[1] == 20 && s[22] == 0x87 }

func isP2WSH(s []byte) bool { return len(s) == 34 && s[0] == 0 && s[1] == 32 }

// scriptType is electrs's scriptpubkey_type.
func scriptType(s []byte) string {
	switch {
	case len(s) == 0:
		return "empty"
	case s[0] == 0x6a:
		return "op_return"
	case len(s) == 67 && s[0] == 65 && s[66] == 0xac, len(s) == 35 && s[0] == 33 && s[34] == 0xac:
		return "p2pk"
	case isP2PKH(s):
		return "p2pkh"
	case isP2SH(s):
		return "p2sh"
	case len(s) == 22 && s[0] == 0 && s[1] == 20:
		return "v0_p2wpkh"
	case isP2WSH(s):
		return "v0_p2wsh"
	case len(s) == 34 && s[0] == 0x51 && s[1] == 32:
		return "v1_p2tr"
	}
	return "unknown"
}

// scriptAddress is rust-bitcoin's Address::from_script as electrs prints
// it: P2PKH and P2SH in base58, any valid witness program (version 0 with
// 20 or 32 bytes, versions 1 to 16 with 2 to 40) in bech32 or bech32m;
// "" for every other script (bare keys and multisig included).
func scriptAddress(s []byte, net *chaincfg.Params) string {
	switch {
	case isP2PKH(s):
		if a, err := btcutil.NewAddressPubKeyHash(s[3:23], net); err == nil {
			return a.EncodeAddress()
		}
	case isP2SH(s):
		if a, err := btcutil.NewAddressScriptHashFromHash(s[2:22], net); err == nil {
			return a.EncodeAddress()
		}
	case len(s) >= 4 && len(s) <= 42 && s[1] >= 2 && s[1] <= 40 && int(s[1]) == len(s)-2 &&
		(s[0] == 0 || s[0] >= 0x51 && s[0] <= 0x60):
		version := byte(0)
		if s[0] != 0 {
			version = s[0] - 0x50
		}
		program := s[2:]
		if version == 0 && len(program) != 20 && len(program) != 32 {
			return ""
		}
		data, err := bech32.ConvertBits(program, 8, 5, true)
		if err != nil {
			return ""
		}
		data = append([]byte{version}, data...)
		encode := bech32.Encode
		if version > 0 {
			encode = bech32.EncodeM
		}
		if a, err := encode(net.Bech32HRPSegwit, data); err == nil {
			return a
		}
	}
	return ""
}

// lastPush is rust-bitcoin's `instructions().last()` when it is a push:
// the data of a script's last instruction if that is a push opcode
// (OP_0 and OP_PUSHBYTES_n, OP_PUSHDATAn), ok false if it is another
// opcode, the script is empty or it does not parse to its end.
func lastPush(script []byte) (data []byte, ok bool) {
	for pc := 0; pc < len(script); {
		op := script[pc]
		pc++
		var n uint64
		switch {
		case op <= 0x4b:
			n = uint64(op)
		case op >= 0x4c && op <= 0x4e:
			width := [...]int{1, 2, 4}[op-0x4c]
			if len(script)-pc < width {
				return nil, false
			}
			var lb [8]byte
			copy(lb[:], script[pc:pc+width])
			n = binary.LittleEndian.Uint64(lb[:])
			pc += width
		default:
			data, ok = nil, false
			continue
		}
		if n > uint64(len(script)-pc) {
			return nil, false
		}
		data, ok = script[pc:pc+int(n)], true
		pc += int(n)
	}
	return data, ok
}
