package utxo

import (
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Key layout. Every key starts with a table tag and a version byte, so a
// later schema can change one table's format and keep both versions
// readable during a migration. Heights are big-endian so that iteration
// order is height order.
//
//	table              key                                         value
//	coins              'c' 01 txid[32] VARINT(vout)                coin (coin.go)
//	scripthash utxos   's' 01 sha256(script)[32] txid[32] VARINT(vout)
//	                                                               VARINT(height*2+cb) VARINT(CompressAmount(value))
//	scripthash stats   'a' 01 sha256(script)[32]                   5 × VARINT: funded count, funded sum,
//	                                                               spent count, spent sum, tx count
//	header by height   'h' 01 u32be(height)                        80-byte header
//	height by hash     'n' 01 hash[32]                             u32be(height)
//	block record       'b' 01 u32be(height)                        records.go
//	undo record        'u' 01 u32be(height)                        undo.go
//	seeded times       't' 01 u32be(height)                        u32be(block time), only below a seeded base
//	tree leaves        'l' 01 sha256(txid ‖ u32le(vout))[0:8] ‖ txid[0:5] ‖ VARINT(vout)   leaf hash[32]
//	tree nodes         'k' 01 depth[1] path prefix[⌈depth/8⌉]     hash[32] ‖ uvarint(leaf count)  (tree.go, utxo/smt)
//	meta               'm' 01 "state"                              state record (records.go)
//	                   'm' 01 "load"                               loading marker (load.go), only while a
//	                                                               snapshot load is unfinished
//
// A store holds a state record or a loading marker, never both: a
// snapshot load (Engine.SeedStream) writes the marker before its first
// coin and the batch that writes the first state record deletes it. A
// store with the marker holds part of a set; Open and Reader.State refuse
// it with ErrLoadIncomplete.
//
// The engine reserves every key that starts with a lower-case ASCII letter
// (ReservedKey); whoever shares the store (the consensus state, written in
// the same atomic update through FlushWith) uses other first bytes.
//
// Worked example: output 0 of block 170's coinbase (txid b1fea524…1c5082)
// is stored under
//
//	63 01 82501c1178fa0b222c1f3d474ec726b832013f0a532b44bb620cce8624a5feb1 00
//	'c' v1 txid in internal byte order                                   vout 0
//
// (format_test.go looks it up by these bytes).
const (
	tagCoin       byte = 'c'
	tagAddrUTXO   byte = 's'
	tagAddrStats  byte = 'a'
	tagHeader     byte = 'h'
	tagHashHeight byte = 'n'
	tagBlock      byte = 'b'
	tagUndo       byte = 'u'
	tagTime       byte = 't'
	tagMeta       byte = 'm'
	tagTreeLeaf   byte = 'l'
	tagTreeNode   byte = 'k'

	keyVersion byte = 1
)

var stateName = []byte("state")

func prefix(tag byte) []byte { return []byte{tag, keyVersion} }

func appendCoinKey(dst []byte, op *Outpoint) []byte {
	dst = append(dst, tagCoin, keyVersion)
	dst = append(dst, op.Hash[:]...)
	return putVLQ(dst, uint64(op.Index))
}

func appendAddrUTXOKey(dst []byte, sh *[32]byte, op *Outpoint) []byte {
	dst = append(dst, tagAddrUTXO, keyVersion)
	dst = append(dst, sh[:]...)
	dst = append(dst, op.Hash[:]...)
	return putVLQ(dst, uint64(op.Index))
}

func addrStatsKey(sh *[32]byte) []byte {
	return append([]byte{tagAddrStats, keyVersion}, sh[:]...)
}

func heightKey(tag byte, height int32) []byte {
	k := []byte{tag, keyVersion, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(k[2:], uint32(height))
	return k
}

func hashHeightKey(h *chainhash.Hash) []byte {
	return append([]byte{tagHashHeight, keyVersion}, h[:]...)
}

func stateKey() []byte { return append([]byte{tagMeta, keyVersion}, stateName...) }

// Key is a decoded store key, for tools and tests that walk a database.
type Key struct {
	Table      string // coin, scripthash-utxo, scripthash-stats, header, hash-height, block, undo, time, meta
	Outpoint   Outpoint
	ScriptHash [32]byte
	Height     int32
	Hash       chainhash.Hash
	Name       string
}

var tableNames = map[byte]string{
	tagCoin: "coin", tagAddrUTXO: "scripthash-utxo", tagAddrStats: "scripthash-stats",
	tagHeader: "header", tagHashHeight: "hash-height", tagBlock: "block", tagUndo: "undo",
	tagTime: "time", tagMeta: "meta",
}

// ParseKey decodes a store key. Unknown tables, versions and malformed keys
// are errors wrapping ErrMalformed.
func ParseKey(k []byte) (Key, error) {
	if len(k) < 2 {
		return Key{}, malformedf("key shorter than its prefix")
	}
	name, ok := tableNames[k[0]]
	if !ok {
		return Key{}, malformedf("unknown table tag %#x", k[0])
	}
	if k[1] != keyVersion {
		return Key{}, malformedf("table %s: unknown key version %d", name, k[1])
	}
	key := Key{Table: name}
	body := k[2:]
	switch k[0] {
	case tagCoin:
		op, err := parseOutpoint(body)
		if err != nil {
			return Key{}, err
		}
		key.Outpoint = op
	case tagAddrUTXO:
		if len(body) < 32 {
			return Key{}, malformedf("scripthash-utxo key too short")
		}
		copy(key.ScriptHash[:], body)
		op, err := parseOutpoint(body[32:])
		if err != nil {
			return Key{}, err
		}
		key.Outpoint = op
	case tagAddrStats:
		if len(body) != 32 {
			return Key{}, malformedf("scripthash-stats key has %d bytes", len(body))
		}
		copy(key.ScriptHash[:], body)
	case tagHeader, tagBlock, tagUndo, tagTime:
		if len(body) != 4 {
			return Key{}, malformedf("%s key has %d bytes", name, len(body))
		}
		h := binary.BigEndian.Uint32(body)
		if h > 1<<31-1 {
			return Key{}, malformedf("%s key height out of range", name)
		}
		key.Height = int32(h)
	case tagHashHeight:
		if len(body) != 32 {
			return Key{}, malformedf("hash-height key has %d bytes", len(body))
		}
		copy(key.Hash[:], body)
	case tagMeta:
		key.Name = string(body)
	}
	return key, nil
}

// parseOutpoint decodes txid ‖ VARINT(vout) with nothing after it.
func parseOutpoint(b []byte) (Outpoint, error) {
	var op Outpoint
	if len(b) < 33 {
		return op, malformedf("outpoint too short")
	}
	copy(op.Hash[:], b)
	idx, n, err := readVLQ(b[32:])
	if err != nil {
		return op, err
	}
	if 32+n != len(b) || idx > 0xffffffff {
		return op, malformedf("outpoint index malformed")
	}
	op.Index = uint32(idx)
	return op, nil
}

// String renders the key for diagnostics.
func (k Key) String() string {
	switch k.Table {
	case "coin":
		return "coin " + k.Outpoint.String()
	case "scripthash-utxo":
		return fmt.Sprintf("scripthash-utxo %x %s", k.ScriptHash, k.Outpoint)
	case "scripthash-stats":
		return fmt.Sprintf("scripthash-stats %x", k.ScriptHash)
	case "hash-height":
		return "hash-height " + k.Hash.String()
	case "meta":
		return "meta " + k.Name
	}
	return fmt.Sprintf("%s %d", k.Table, k.Height)
}
