package utxo

import (
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Outpoint names a transaction output: the txid in internal byte order and
// the output index.
type Outpoint struct {
	Hash  chainhash.Hash
	Index uint32
}

// String formats the outpoint as TXID:VOUT with the txid byte-reversed, the
// way Bitcoin Core and block explorers show it.
func (o Outpoint) String() string { return fmt.Sprintf("%s:%d", o.Hash, o.Index) }

// Coin is an unspent output: value, locking script, the height of the block
// that created it, and whether it came from a coinbase. These are exactly
// the fields of Bitcoin Core's Coin, and what MuHash commits to.
type Coin struct {
	Value    int64
	Script   []byte
	Height   int32
	Coinbase bool
}

// maxScriptSize is Core's MAX_SCRIPT_SIZE: longer output scripts can never
// be spent, so they are not added to the set.
const maxScriptSize = 10_000

// IsUnspendable reports whether an output script is provably unspendable by
// Core's rule (CScript::IsUnspendable): it starts with OP_RETURN or is
// longer than 10,000 bytes. Such outputs never enter the set.
func IsUnspendable(script []byte) bool {
	return (len(script) > 0 && script[0] == 0x6a) || len(script) > maxScriptSize
}

// bogoSize is Core's GetBogoSize, the per-coin contribution to
// gettxoutsetinfo's bogosize: txid, vout, height+coinbase, amount, a
// two-byte script length, and the script.
func bogoSize(scriptLen int) uint64 { return 32 + 4 + 4 + 8 + 2 + uint64(scriptLen) }

// heightCode packs height and the coinbase flag as Core does
// (nHeight*2 + fCoinBase).
func heightCode(height int32, coinbase bool) uint64 {
	c := uint64(uint32(height)) << 1
	if coinbase {
		c |= 1
	}
	return c
}

func splitHeightCode(c uint64) (int32, bool, error) {
	if c>>1 > uint64(1<<31-1) {
		return 0, false, malformedf("coin height out of range")
	}
	return int32(c >> 1), c&1 == 1, nil
}

// Coin value format (the value of a coin key, and the coins of undo
// records):
//
//	field            encoding
//	height+coinbase  VARINT(height*2 + coinbase)
//	amount           VARINT(CompressAmount(value))
//	script           compressed script: VARINT(kind) then a template payload
//	                 (kinds 0-8), or VARINT(len+9) then the raw script
//
// Worked example: the coin spent by the first bitcoin transaction
// (f4184fc5…e9e16 in block 170), block 9's coinbase output 0 — 50 BTC to a
// 65-byte uncompressed P2PK of key 0411db93e1dc…b412a3:
//
//	13     VARINT(9*2 + 1): height 9, coinbase
//	32     VARINT(CompressAmount(5,000,000,000)) = VARINT(50)
//	05     kind 5: uncompressed P2PK whose y is odd (y ends in …a3)
//	11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c
//	       the key's x coordinate; y is recomputed on read
//
// That is 35 bytes for a 67-byte script plus amount and height.
// format_test.go decodes these bytes and compares them with block 9.

// appendCoin appends the stored encoding of c.
func appendCoin(dst []byte, c *Coin) []byte {
	dst = putVLQ(dst, heightCode(c.Height, c.Coinbase))
	dst = putVLQ(dst, compressAmount(uint64(c.Value)))
	return putCompressedScript(dst, c.Script)
}

// coinSize is len(appendCoin(nil, c)).
func coinSize(c *Coin) int {
	return vlqSize(heightCode(c.Height, c.Coinbase)) + vlqSize(compressAmount(uint64(c.Value))) +
		compressedScriptSize(c.Script)
}

// readCoin decodes a coin from the front of b and returns the bytes used.
func readCoin(b []byte) (Coin, int, error) {
	var c Coin
	code, n, err := readVLQ(b)
	if err != nil {
		return c, 0, err
	}
	c.Height, c.Coinbase, err = splitHeightCode(code)
	if err != nil {
		return c, 0, err
	}
	amt, m, err := readVLQ(b[n:])
	if err != nil {
		return c, 0, err
	}
	n += m
	if c.Value, err = decompressAmount(amt); err != nil {
		return c, 0, err
	}
	c.Script, m, err = readCompressedScript(b[n:])
	if err != nil {
		return c, 0, err
	}
	return c, n + m, nil
}

// DecodeCoin decodes a stored coin value, which must have no trailing bytes.
func DecodeCoin(b []byte) (Coin, error) {
	c, n, err := readCoin(b)
	if err != nil {
		return Coin{}, err
	}
	if n != len(b) {
		return Coin{}, malformedf("coin: %d trailing bytes", len(b)-n)
	}
	return c, nil
}

// EncodeCoin returns the stored encoding of c.
func EncodeCoin(c *Coin) []byte { return appendCoin(make([]byte, 0, coinSize(c)), c) }

// appendMuHashElement appends the serialization Bitcoin Core's MuHash
// commits to for one coin (kernel/coinstats.cpp TxOutSer): the outpoint
// (txid, u32le vout), u32le(height*2+coinbase), the output as it is
// serialized in a transaction (i64le value, compactsize script length,
// script).
//
// The UTXO tree's key and value for the coin are its two halves
// (tree.go), so the tree commits to the very bytes MuHash does.
func appendMuHashElement(dst []byte, op *Outpoint, c *Coin) []byte {
	return appendTreeValue(appendTreeKey(dst, op), c)
}

// appendTreeKey appends the outpoint as Bitcoin serializes it: txid ‖
// u32le(vout).
func appendTreeKey(dst []byte, op *Outpoint) []byte {
	dst = append(dst, op.Hash[:]...)
	return binary.LittleEndian.AppendUint32(dst, op.Index)
}

// appendTreeValue appends u32le(height*2+coinbase) and the output as a
// transaction serializes it (i64le value, CompactSize script length,
// script).
func appendTreeValue(dst []byte, c *Coin) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(heightCode(c.Height, c.Coinbase)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(c.Value))
	dst = appendCompactSize(dst, uint64(len(c.Script)))
	return append(dst, c.Script...)
}

// appendCompactSize appends Bitcoin's CompactSize length prefix.
func appendCompactSize(dst []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(dst, 0xfe), uint32(n))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), n)
}
