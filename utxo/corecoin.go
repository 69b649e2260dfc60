package utxo

import (
	"bytes"
	"errors"
	"fmt"
)

// This file exports Bitcoin Core's own coin serialization (coins.h
// Coin::Serialize, compressor.h TxOutCompression), the one `dumptxoutset`
// writes, for the snapshot reader and writer in utxo/coresnap. It is built on
// the encodings of compress.go; the only difference from the engine's stored
// coin (coin.go) is the script compression: Core has six templates (kinds
// 0-5: P2PKH, P2SH, compressed P2PK, uncompressed P2PK), the engine nine
// (plus P2WPKH, P2WSH, P2TR), so a raw script of n bytes is VARINT(n+6) in
// Core's format and VARINT(n+9) in the engine's.
//
//	field            encoding
//	height+coinbase  VARINT(height*2 + coinbase), at most 32 bits
//	amount           VARINT(CompressAmount(value))
//	script           VARINT(kind) then a template payload (kinds 0-5), or
//	                 VARINT(len+6) then the raw script
//
// Worked example, the first coin of testdata/mainnet/utxo-mainnet-14131.dat
// (block 2039's coinbase output 0, 50 BTC to an uncompressed P2PK):
//
//	9e6f   VARINT(2039*2 + 1): height 2039, coinbase
//	32     VARINT(CompressAmount(5,000,000,000)) = VARINT(50)
//	04     kind 4: uncompressed P2PK whose y is even
//	ba3f89b5b9a9d3e8ccc43a0cf45a8dcb4664d84433763a3d968e79d7f98d33de
//	       the key's x coordinate; y is recomputed on read
//
// corecoin_test.go decodes these bytes.

// coreSpecialScripts is Core's ScriptCompression::nSpecialScripts.
const coreSpecialScripts = 6

// maxVLQLen is the longest VARINT of a 64-bit number.
const maxVLQLen = 10

// MaxCoreCoinSize bounds the bytes DecodeCoreCoin looks at: three VARINTs
// of at most maxVLQLen bytes and a script of at most 10,000 bytes. With
// this many bytes available (or the rest of the input, if shorter), it
// either decodes a coin or says why not, so a streaming reader can decode
// from a peeked window.
const MaxCoreCoinSize = 3*maxVLQLen + maxScriptSize

// Why DecodeCoreCoin refuses its input. Each is wrapped with detail, so
// test with errors.Is.
var (
	// ErrCoreTruncated: the input ends inside the coin.
	ErrCoreTruncated = errors.New("utxo: core coin truncated")
	// ErrCoreHeight: the height code does not fit 32 bits (Core reads it
	// as a uint32 VARINT).
	ErrCoreHeight = errors.New("utxo: core coin height out of range")
	// ErrCoreAmount: the compressed amount overflows 64 bits or stands for
	// more than MaxMoney.
	ErrCoreAmount = errors.New("utxo: core coin amount out of range")
	// ErrCorePubKey: an uncompressed P2PK (kinds 4, 5) whose x is not the x
	// coordinate of a secp256k1 point. Core never writes one (it compresses
	// only keys that parse); its reader would silently load an empty
	// script instead.
	ErrCorePubKey = errors.New("utxo: core coin P2PK key is not on secp256k1")
	// ErrCoreScriptSize: a raw script longer than Core's MAX_SCRIPT_SIZE.
	// Such outputs are unspendable and never in Core's set; its reader would
	// replace the script with OP_RETURN, which cannot be written back.
	ErrCoreScriptSize = errors.New("utxo: core coin script too long")
	// ErrCoreNonCanonical: a raw script that Core would have compressed
	// into a template (kinds 0-5). Core never writes one; refusing it keeps
	// decoding one-to-one, so a decoded coin re-encodes to the same bytes.
	ErrCoreNonCanonical = errors.New("utxo: core coin script not in canonical form")
)

// AppendCoreCoin appends Core's serialization of c (the coin part of a
// dumptxoutset record). c must be a coin Core could hold: 0 <= Value <=
// MaxMoney, Height >= 0; scripts longer than 10,000 bytes are written raw,
// as Core would, although DecodeCoreCoin refuses them.
func AppendCoreCoin(dst []byte, c *Coin) []byte {
	dst = putVLQ(dst, heightCode(c.Height, c.Coinbase))
	dst = putVLQ(dst, compressAmount(uint64(c.Value)))
	return appendCoreScript(dst, c.Script)
}

// appendCoreScript is Core's ScriptCompression::Ser: the engine's templates
// below kind 6 are exactly Core's (same numbering, same payloads, and an
// uncompressed key only when it is a valid point, as Core's IsFullyValid).
func appendCoreScript(dst, script []byte) []byte {
	if kind, payload := scriptTemplate(script); kind >= 0 && kind < coreSpecialScripts {
		dst = append(dst, byte(kind))
		return append(dst, payload...)
	}
	dst = putVLQ(dst, uint64(len(script))+coreSpecialScripts)
	return append(dst, script...)
}

// DecodeCoreCoin decodes a coin in Core's serialization from the front of b
// and returns it with the number of bytes used. The script is freshly
// allocated. It refuses, with an error wrapping one of the ErrCore
// sentinels, everything Core's reader refuses and, beyond that, encodings
// Core never writes (ErrCorePubKey, ErrCoreScriptSize, ErrCoreNonCanonical),
// so that AppendCoreCoin of the result gives back exactly the bytes read.
// The amount is checked against MaxMoney (Core's MoneyRange); the height is
// not checked against anything, which is the caller's business.
func DecodeCoreCoin(b []byte) (Coin, int, error) {
	var c Coin
	code, n, err := readCoreVLQ(b, ErrCoreHeight, "height code")
	if err != nil {
		return Coin{}, 0, err
	}
	if code > 0xffffffff {
		return Coin{}, 0, fmt.Errorf("%w: height code %d does not fit 32 bits", ErrCoreHeight, code)
	}
	if c.Height, c.Coinbase, err = splitHeightCode(code); err != nil {
		return Coin{}, 0, fmt.Errorf("%w: %v", ErrCoreHeight, err)
	}
	amt, m, err := readCoreVLQ(b[n:], ErrCoreAmount, "amount")
	if err != nil {
		return Coin{}, 0, err
	}
	n += m
	if c.Value, err = decompressAmount(amt); err != nil {
		return Coin{}, 0, fmt.Errorf("%w: compressed amount %d is above 21M BTC", ErrCoreAmount, amt)
	}
	c.Script, m, err = readCoreScript(b[n:])
	if err != nil {
		return Coin{}, 0, err
	}
	return c, n + m, nil
}

// readCoreScript is Core's ScriptCompression::Unser, refusing what Core
// would turn into something else (see DecodeCoreCoin).
func readCoreScript(b []byte) ([]byte, int, error) {
	kind, n, err := readCoreVLQ(b, ErrCoreScriptSize, "script kind")
	if err != nil {
		return nil, 0, err
	}
	if kind < coreSpecialScripts {
		if len(b)-n < payloadSize[kind] {
			return nil, 0, fmt.Errorf("%w: inside the %d-byte payload of script kind %d", ErrCoreTruncated, payloadSize[kind], kind)
		}
		// Kinds 0-5 are the engine's own; the payload is all there, so
		// the only failure left is a key that does not decompress.
		s, m, err := readCompressedScript(b)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: x %x (kind %d)", ErrCorePubKey, b[n:n+32], kind)
		}
		return s, m, nil
	}
	size := kind - coreSpecialScripts
	if size > maxScriptSize {
		return nil, 0, fmt.Errorf("%w: %d bytes (Core's limit is %d)", ErrCoreScriptSize, size, maxScriptSize)
	}
	if uint64(len(b)-n) < size {
		return nil, 0, fmt.Errorf("%w: inside a %d-byte script", ErrCoreTruncated, size)
	}
	s := bytes.Clone(b[n : n+int(size)])
	if s == nil {
		s = []byte{}
	}
	if k, _ := scriptTemplate(s); k >= 0 && k < coreSpecialScripts {
		return nil, 0, fmt.Errorf("%w: raw %d-byte script matches template %d", ErrCoreNonCanonical, size, k)
	}
	return s, n + int(size), nil
}

// readCoreVLQ is readVLQ telling truncation (ErrCoreTruncated) apart from
// overflow (the field's sentinel).
func readCoreVLQ(b []byte, field error, what string) (uint64, int, error) {
	v, n, err := readVLQ(b)
	if err == nil {
		return v, n, nil
	}
	// Ten bytes always end a valid VARINT; fewer without a last byte may
	// just be cut short.
	if len(b) < maxVLQLen && !hasVLQEnd(b) {
		return 0, 0, fmt.Errorf("%w: inside the %s", ErrCoreTruncated, what)
	}
	return 0, 0, fmt.Errorf("%w: %s VARINT overflows 64 bits", field, what)
}

// hasVLQEnd reports whether b holds the last byte of a VARINT.
func hasVLQEnd(b []byte) bool {
	for _, c := range b {
		if c&0x80 == 0 {
			return true
		}
	}
	return false
}

// CompareCoreOrder compares outpoints in the order of Bitcoin Core's
// chainstate keys, which is the order dumptxoutset writes coins in (it walks
// the LevelDB cursor): by the txid's 32 internal-order bytes, then by the
// bytes of VARINT(vout). That is numeric vout order up to 16,511 only:
// VARINT(16512) = 80 80 00 sorts before VARINT(256) = 81 00. The engine's
// coin keys (keys.go) have the same order. It returns -1, 0 or +1.
func CompareCoreOrder(a, b *Outpoint) int {
	if c := bytes.Compare(a.Hash[:], b.Hash[:]); c != 0 {
		return c
	}
	var ab, bb [maxVLQLen]byte
	return bytes.Compare(putVLQ(ab[:0], uint64(a.Index)), putVLQ(bb[:0], uint64(b.Index)))
}

// AppendMuHashElement appends the bytes Bitcoin Core's MuHash commits to
// for one coin (kernel/coinstats.cpp TxOutSer), exactly as the engine
// hashes its set: insert them into a muhash.MuHash3072 for every coin and
// the digest is `gettxoutsetinfo muhash`.
func AppendMuHashElement(dst []byte, op *Outpoint, c *Coin) []byte {
	return appendMuHashElement(dst, op, c)
}

// AppendCompactSize appends Bitcoin's CompactSize encoding of n (the
// counts and vouts of Core's snapshot files, and script lengths).
func AppendCompactSize(dst []byte, n uint64) []byte { return appendCompactSize(dst, n) }
