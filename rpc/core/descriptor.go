package core

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/satnode/satnode/utxo/query"
)

// Output descriptors, as far as satnode needs them: the checksum (BIP 380,
// Core's DescriptorChecksum), parsing the two descriptors scantxoutset
// answers (addr() and raw(), which name one script each), and inferring
// the descriptor Core shows for a script (InferDescriptor with no keys
// known), for gettxout's scriptPubKey.desc and scantxoutset's unspents.

// descInputCharset is Core's INPUT_CHARSET: a character's position in it
// feeds the checksum, in groups of 32.
const descInputCharset = "0123456789()[],'/*abcdefgh@:$%{}" +
	"IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~" +
	"ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "

// descPositions maps a byte to its position in descInputCharset plus one
// (0: not in it), built on first use: strings.IndexByte per character
// was a sixth of gettxout's time.
var descPositions = sync.OnceValue(func() *[256]uint8 {
	var t [256]uint8
	for i := 0; i < len(descInputCharset); i++ {
		t[descInputCharset[i]] = uint8(i + 1)
	}
	return &t
})

// descChecksumCharset is the checksum's own alphabet (bech32's).
const descChecksumCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

func descPolyMod(c uint64, val int) uint64 {
	c0 := c >> 35
	c = ((c & 0x7ffffffff) << 5) ^ uint64(val)
	if c0&1 != 0 {
		c ^= 0xf5dee51989
	}
	if c0&2 != 0 {
		c ^= 0xa9fdca3312
	}
	if c0&4 != 0 {
		c ^= 0x1bab10e32d
	}
	if c0&8 != 0 {
		c ^= 0x3706b1677a
	}
	if c0&16 != 0 {
		c ^= 0x644d626ffd
	}
	return c
}

// descriptorChecksum is Core's DescriptorChecksum: the eight-character
// checksum of a descriptor without its '#' part, or "" if it has a
// character outside the descriptor alphabet.
func descriptorChecksum(desc string) string {
	c := uint64(1)
	cls, clsCount := 0, 0
	positions := descPositions()
	for i := 0; i < len(desc); i++ {
		pos := int(positions[desc[i]]) - 1
		if pos < 0 {
			return ""
		}
		c = descPolyMod(c, pos&31) // the position inside its group, for every character
		cls = cls*3 + pos>>5       // the group numbers, one symbol per three characters
		if clsCount++; clsCount == 3 {
			c = descPolyMod(c, cls)
			cls, clsCount = 0, 0
		}
	}
	if clsCount > 0 {
		c = descPolyMod(c, cls)
	}
	for range 8 {
		c = descPolyMod(c, 0)
	}
	c ^= 1 // so that appending zeroes changes the checksum
	var out [8]byte
	for j := range 8 {
		out[j] = descChecksumCharset[(c>>(5*(7-j)))&31]
	}
	return string(out[:])
}

// withChecksum returns desc#checksum.
func withChecksum(desc string) string { return desc + "#" + descriptorChecksum(desc) }

// coreDescriptorFunction reports whether name is a descriptor function
// Core knows besides addr() and raw(): satnode recognizes them to say it
// does not answer them, rather than calling them invalid.
func coreDescriptorFunction(name string) bool {
	switch name {
	case "pk", "pkh", "wpkh", "combo", "sh", "wsh", "tr", "rawtr", "multi", "sortedmulti", "multi_a", "sortedmulti_a":
		return true
	}
	return false
}

// parseDescriptor parses a scan object's descriptor into the one script it
// names, with Core's errors (-5, from Parse) for what Core rejects and -8
// for descriptors Core accepts but satnode does not answer (they derive
// keys, which the script index cannot do).
func parseDescriptor(desc string, net *chaincfg.Params) ([]byte, *Error) {
	bad := func(format string, args ...any) ([]byte, *Error) {
		return nil, rpcErr(CodeInvalidAddrOrKey, format, args...)
	}
	// CheckChecksum.
	payload, sum, hasSum := strings.Cut(desc, "#")
	if hasSum && strings.Contains(sum, "#") {
		return bad("Multiple '#' symbols")
	}
	if hasSum && len(sum) != 8 {
		return bad("Expected 8 character checksum, not %d characters", len(sum))
	}
	computed := descriptorChecksum(payload)
	if computed == "" {
		return bad("Invalid characters in payload")
	}
	if hasSum && sum != computed {
		return bad("Provided checksum '%s' does not match computed checksum '%s'", sum, computed)
	}
	// ParseScript at the top level: Expr takes everything up to a ',' or
	// an unbalanced ')'.
	expr, rest := splitExpr(payload)
	name, inner, isFunc := strings.Cut(expr, "(")
	if !isFunc || !strings.HasSuffix(inner, ")") {
		return bad("'%s' is not a valid descriptor function", expr)
	}
	inner = inner[:len(inner)-1]
	var script []byte
	switch name {
	case "addr":
		a, err := btcutil.DecodeAddress(inner, net)
		if err != nil || !a.IsForNet(net) {
			return bad("Address is not valid")
		}
		if script, err = txscript.PayToAddrScript(a); err != nil {
			return bad("Address is not valid")
		}
	case "raw":
		b, err := hex.DecodeString(inner)
		if err != nil || len(inner) == 0 {
			return bad("Raw script is not hex")
		}
		script = b
	default:
		if coreDescriptorFunction(name) {
			return nil, rpcErr(CodeInvalidParameter,
				"%s() descriptors are not supported: satnode answers addr() and raw() descriptors only", name)
		}
		return bad("'%s' is not a valid descriptor function", expr)
	}
	if rest != "" {
		return bad("Invalid descriptor: unexpected '%s' after %s()", rest, name)
	}
	return script, nil
}

// splitExpr is Core's Expr: the leading expression of s, up to a ',' or a
// closing bracket at depth zero, and what follows.
func splitExpr(s string) (expr, rest string) {
	level := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(' || c == '{':
			level++
		case level > 0 && (c == ')' || c == '}'):
			level--
		case level == 0 && (c == ')' || c == '}' || c == ','):
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// scriptInfo is Core's ScriptToUniv of an output script with its address
// and descriptor: what gettxout shows as scriptPubKey.
type scriptInfo struct {
	asm, desc, address, typ string
}

// describe computes scriptInfo once per script: query.DescribeScript's
// asm, address and type, plus the descriptor.
func describe(script []byte, net *chaincfg.Params) scriptInfo {
	spk := query.DescribeScript(script, net)
	return scriptInfo{asm: spk.Asm, typ: spk.Type, address: spk.Address,
		desc: withChecksum(inferDescriptor(script, txscript.GetScriptClass(script), spk.Address))}
}

// inferDescriptor is Core's InferDescriptor with no keys or scripts known
// (DUMMY_SIGNING_PROVIDER): pk() for a bare public key, multi() for bare
// multisig, rawtr() for a taproot output whose key is on the curve,
// addr() for any other script with an address, raw() for the rest.
func inferDescriptor(script []byte, class txscript.ScriptClass, address string) string {
	switch class {
	case txscript.PubKeyTy:
		if key := script[1 : len(script)-1]; validNonHybridKey(key) {
			return "pk(" + hex.EncodeToString(key) + ")"
		}
	case txscript.MultiSigTy:
		if d, ok := inferMulti(script); ok {
			return d
		}
	case txscript.WitnessV1TaprootTy:
		if _, err := schnorr.ParsePubKey(script[2:34]); err == nil {
			return "rawtr(" + hex.EncodeToString(script[2:34]) + ")"
		}
	}
	if address != "" {
		return "addr(" + address + ")"
	}
	return "raw(" + hex.EncodeToString(script) + ")"
}

// validNonHybridKey is CPubKey::IsValidNonHybrid: a compressed or
// uncompressed encoding by its size and first byte (not a curve check).
func validNonHybridKey(k []byte) bool {
	return (len(k) == 33 && (k[0] == 2 || k[0] == 3)) || (len(k) == 65 && k[0] == 4)
}

// inferMulti writes multi(k,key,...) for a bare multisig script whose keys
// are all valid non-hybrid encodings.
func inferMulti(script []byte) (string, bool) {
	pushes, err := txscript.PushedData(script)
	if err != nil || len(pushes) == 0 || len(script) == 0 {
		return "", false
	}
	k := int(script[0]) - (txscript.OP_1 - 1)
	if k < 1 || k > 16 {
		return "", false
	}
	var b bytes.Buffer
	b.WriteString("multi(")
	b.WriteString(strconv.Itoa(k))
	for _, key := range pushes {
		if !validNonHybridKey(key) {
			return "", false
		}
		b.WriteByte(',')
		b.WriteString(hex.EncodeToString(key))
	}
	b.WriteByte(')')
	return b.String(), true
}
