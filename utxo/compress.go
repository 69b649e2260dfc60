package utxo

import (
	"math/big"
)

// This file holds the compact encodings used in stored values: Bitcoin
// Core's VARINT, its amount compression, and a script compression that
// extends Core's templates (P2PKH, P2SH, P2PK) with the segwit ones (P2WPKH,
// P2WSH, P2TR), which make up most of today's outputs.

// putVLQ appends Core's VARINT encoding of n (MSB base-128 where every
// continuation byte also subtracts one, so each number has exactly one
// encoding).
func putVLQ(dst []byte, n uint64) []byte {
	var tmp [10]byte
	i := 0
	for {
		b := byte(n & 0x7f)
		if i > 0 {
			b |= 0x80
		}
		tmp[i] = b
		if n <= 0x7f {
			break
		}
		n = (n >> 7) - 1
		i++
	}
	for ; i >= 0; i-- {
		dst = append(dst, tmp[i])
	}
	return dst
}

// vlqSize is the encoded length of n.
func vlqSize(n uint64) int {
	size := 1
	for n > 0x7f {
		n = (n >> 7) - 1
		size++
	}
	return size
}

// readVLQ decodes a VARINT from the front of b, returning the value and the
// number of bytes read. It fails on truncation and on values over 64 bits.
func readVLQ(b []byte) (uint64, int, error) {
	var n uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if n > (^uint64(0) >> 7) {
			return 0, 0, malformedf("varint overflows 64 bits")
		}
		n = n<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return n, i + 1, nil
		}
		if n == ^uint64(0) {
			return 0, 0, malformedf("varint overflows 64 bits")
		}
		n++
	}
	return 0, 0, malformedf("truncated varint")
}

// compressAmount is Core's CompressAmount: trailing decimal zeros become an
// exponent, so round amounts take one or two bytes.
func compressAmount(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	e := uint64(0)
	for n%10 == 0 && e < 9 {
		n /= 10
		e++
	}
	if e < 9 {
		d := n % 10
		n /= 10
		return 1 + (n*9+d-1)*10 + e
	}
	return 1 + (n-1)*10 + 9
}

// decompressAmount inverts compressAmount. It fails where the result would
// exceed MaxMoney, which no stored coin can hold.
func decompressAmount(x uint64) (int64, error) {
	if x == 0 {
		return 0, nil
	}
	x--
	e := x % 10
	x /= 10
	var n uint64
	if e < 9 {
		d := x%9 + 1
		x /= 9
		if x > MaxMoney {
			return 0, malformedf("compressed amount out of range")
		}
		n = x*10 + d
	} else {
		if x >= MaxMoney {
			return 0, malformedf("compressed amount out of range")
		}
		n = x + 1
	}
	for ; e > 0; e-- {
		if n > MaxMoney {
			return 0, malformedf("compressed amount out of range")
		}
		n *= 10
	}
	if n > MaxMoney {
		return 0, malformedf("compressed amount out of range")
	}
	return int64(n), nil
}

// Script templates. A compressed script starts with VARINT(kind); kinds below
// numSpecialScripts are templates followed by their fixed-size payload, and a
// larger kind k is a raw script of k-numSpecialScripts bytes.
const (
	scriptP2PKH           = 0 // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG; payload: 20-byte hash
	scriptP2SH            = 1 // OP_HASH160 <20> OP_EQUAL; payload: 20-byte hash
	scriptP2PKEven        = 2 // <33-byte 02 key> OP_CHECKSIG; payload: 32-byte x
	scriptP2PKOdd         = 3 // <33-byte 03 key> OP_CHECKSIG; payload: 32-byte x
	scriptP2PKUncompEven  = 4 // <65-byte 04 key, even y> OP_CHECKSIG; payload: 32-byte x
	scriptP2PKUncompOdd   = 5 // <65-byte 04 key, odd y> OP_CHECKSIG; payload: 32-byte x
	scriptP2WPKH          = 6 // OP_0 <20>; payload: 20-byte hash
	scriptP2WSH           = 7 // OP_0 <32>; payload: 32-byte hash
	scriptP2TR            = 8 // OP_1 <32>; payload: 32-byte x-only key
	numSpecialScripts     = 9
	maxCompressedScriptSz = 10_000 + 1 // longer scripts are unspendable and never stored
)

// ScriptClass names the template a script matches, for statistics and the
// RPC's scriptPubKey.type.
func scriptTemplate(s []byte) (kind int, payload []byte) {
	switch {
	case len(s) == 25 && s[0] == 0x76 && s[1] == 0xa9 && s[2] == 20 && s[23] == 0x88 && s[24] == 0xac:
		return scriptP2PKH, s[3:23]
	case len(s) == 23 && s[0] == 0xa9 && s[1] == 20 && s[22] == 0x87:
		return scriptP2SH, s[2:22]
	case len(s) == 35 && s[0] == 33 && (s[1] == 2 || s[1] == 3) && s[34] == 0xac:
		return scriptP2PKEven + int(s[1]-2), s[2:34]
	case len(s) == 67 && s[0] == 65 && s[1] == 4 && s[66] == 0xac:
		if !onCurve(s[2:34], s[34:66]) {
			return -1, nil
		}
		return scriptP2PKUncompEven + int(s[65]&1), s[2:34]
	case len(s) == 22 && s[0] == 0x00 && s[1] == 20:
		return scriptP2WPKH, s[2:22]
	case len(s) == 34 && s[0] == 0x00 && s[1] == 32:
		return scriptP2WSH, s[2:34]
	case len(s) == 34 && s[0] == 0x51 && s[1] == 32:
		return scriptP2TR, s[2:34]
	}
	return -1, nil
}

// putCompressedScript appends the compressed form of script.
func putCompressedScript(dst, script []byte) []byte {
	kind, payload := scriptTemplate(script)
	if kind >= 0 {
		dst = append(dst, byte(kind))
		return append(dst, payload...)
	}
	dst = putVLQ(dst, uint64(len(script))+numSpecialScripts)
	return append(dst, script...)
}

// compressedScriptSize is len(putCompressedScript(nil, script)).
func compressedScriptSize(script []byte) int {
	kind, payload := scriptTemplate(script)
	if kind >= 0 {
		return 1 + len(payload)
	}
	n := uint64(len(script)) + numSpecialScripts
	return vlqSize(n) + len(script)
}

var payloadSize = [numSpecialScripts]int{20, 20, 32, 32, 32, 32, 20, 32, 32}

// readCompressedScript decodes a compressed script from the front of b. The
// returned script is freshly allocated.
func readCompressedScript(b []byte) ([]byte, int, error) {
	kind, n, err := readVLQ(b)
	if err != nil {
		return nil, 0, err
	}
	b = b[n:]
	if kind >= numSpecialScripts {
		size := kind - numSpecialScripts
		if size > maxCompressedScriptSz || uint64(len(b)) < size {
			return nil, 0, malformedf("compressed script: raw length %d out of range", size)
		}
		out := make([]byte, size)
		copy(out, b)
		return out, n + int(size), nil
	}
	size := payloadSize[kind]
	if len(b) < size {
		return nil, 0, malformedf("compressed script: truncated template %d", kind)
	}
	p := b[:size]
	var out []byte
	switch kind {
	case scriptP2PKH:
		out = make([]byte, 0, 25)
		out = append(out, 0x76, 0xa9, 20)
		out = append(out, p...)
		out = append(out, 0x88, 0xac)
	case scriptP2SH:
		out = make([]byte, 0, 23)
		out = append(out, 0xa9, 20)
		out = append(out, p...)
		out = append(out, 0x87)
	case scriptP2PKEven, scriptP2PKOdd:
		out = make([]byte, 0, 35)
		out = append(out, 33, byte(kind))
		out = append(out, p...)
		out = append(out, 0xac)
	case scriptP2PKUncompEven, scriptP2PKUncompOdd:
		y, ok := decompressY(p, kind == scriptP2PKUncompOdd)
		if !ok {
			return nil, 0, malformedf("compressed script: x is not on secp256k1")
		}
		out = make([]byte, 0, 67)
		out = append(out, 65, 4)
		out = append(out, p...)
		out = append(out, y...)
		out = append(out, 0xac)
	case scriptP2WPKH:
		out = append(make([]byte, 0, 22), 0x00, 20)
		out = append(out, p...)
	case scriptP2WSH:
		out = append(make([]byte, 0, 34), 0x00, 32)
		out = append(out, p...)
	case scriptP2TR:
		out = append(make([]byte, 0, 34), 0x51, 32)
		out = append(out, p...)
	}
	return out, n + size, nil
}

// secp256k1 field arithmetic for uncompressed P2PK keys (early mainnet
// coinbases). Only x and the parity of y are stored; y is recomputed on
// read. The curve is y² = x³ + 7 over p = 2²⁵⁶ − 2³² − 977.
func secpP() *big.Int {
	p, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", 16)
	return p
}

// onCurve reports whether (x, y) is a point of secp256k1 with canonical
// coordinates, which is what makes storing x and y's parity lossless.
func onCurve(xb, yb []byte) bool {
	p := secpP()
	x := new(big.Int).SetBytes(xb)
	y := new(big.Int).SetBytes(yb)
	if x.Cmp(p) >= 0 || y.Cmp(p) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, p)
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, big.NewInt(7))
	rhs.Mod(rhs, p)
	return lhs.Cmp(rhs) == 0
}

// decompressY returns the 32-byte y with the given parity for x, or false if
// x is not the x coordinate of a curve point.
func decompressY(xb []byte, odd bool) ([]byte, bool) {
	p := secpP()
	x := new(big.Int).SetBytes(xb)
	if x.Cmp(p) >= 0 {
		return nil, false
	}
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, big.NewInt(7))
	rhs.Mod(rhs, p)
	// p ≡ 3 (mod 4), so a square root is rhs^((p+1)/4).
	e := new(big.Int).Add(p, big.NewInt(1))
	e.Rsh(e, 2)
	y := new(big.Int).Exp(rhs, e, p)
	check := new(big.Int).Mul(y, y)
	check.Mod(check, p)
	if check.Cmp(rhs) != 0 {
		return nil, false
	}
	if (y.Bit(0) == 1) != odd {
		y.Sub(p, y)
	}
	out := make([]byte, 32)
	y.FillBytes(out)
	return out, true
}
