package utxo

import (
	"bytes"
	"crypto/sha256"
	"hash"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Block is a decoded Bitcoin block with the hashes the engine needs.
// Decoding and hashing are pure and independent of the store, so an importer
// can prepare blocks on other goroutines while the engine connects earlier
// ones.
type Block struct {
	Header wire.BlockHeader
	Hash   chainhash.Hash
	Txs    []*wire.MsgTx
	// TxIDs[i] is the txid of Txs[i]; WTxIDs[i] its witness txid (equal to
	// the txid for transactions without witness data).
	TxIDs  []chainhash.Hash
	WTxIDs []chainhash.Hash
	// Size is the serialized size with witness data, StrippedSize without.
	Size         int
	StrippedSize int
	// HasWitness reports whether any transaction carries witness data.
	HasWitness bool

	// checked records a successful CheckBlock, so Connect need not repeat
	// it when an importer ran it on another goroutine.
	checked checkMark
}

type checkMark struct {
	params *Params
	height int32
	ok     bool
}

// Weight is the BIP141 block weight.
func (b *Block) Weight() int { return b.StrippedSize*3 + b.Size }

// minTxSize is the smallest possible serialized transaction (version, one
// input with an empty script, no outputs... rounded down); it bounds the
// transaction count a block's length can hold, so a lying count cannot make
// the decoder allocate.
const minTxSize = 10

// DecodeBlock decodes a serialized block (with or without witness data).
// Malformed bytes, including trailing bytes and superfluous witness
// markers, are a RuleError with code ErrMalformedBlock.
func DecodeBlock(raw []byte) (*Block, error) {
	if len(raw) < wire.MaxBlockHeaderPayload+1 {
		return nil, ruleError(ErrMalformedBlock, "block of %d bytes is shorter than a header", len(raw))
	}
	if len(raw) > wire.MaxBlockPayload {
		return nil, ruleError(ErrMalformedBlock, "block of %d bytes exceeds %d", len(raw), wire.MaxBlockPayload)
	}
	r := bytes.NewReader(raw)
	b := &Block{Size: len(raw)}
	if err := b.Header.Deserialize(r); err != nil {
		return nil, ruleError(ErrMalformedBlock, "header: %v", err)
	}
	b.Hash = doubleSHA256(raw[:wire.MaxBlockHeaderPayload])
	count, err := wire.ReadVarInt(r, 0)
	if err != nil {
		return nil, ruleError(ErrMalformedBlock, "transaction count: %v", err)
	}
	if count > uint64(len(raw)/minTxSize) {
		return nil, ruleError(ErrMalformedBlock, "transaction count %d cannot fit in %d bytes", count, len(raw))
	}
	b.Txs = make([]*wire.MsgTx, count)
	b.TxIDs = make([]chainhash.Hash, count)
	b.WTxIDs = make([]chainhash.Hash, count)
	b.StrippedSize = len(raw) - r.Len()
	h := sha256.New()
	for i := range b.Txs {
		start := len(raw) - r.Len()
		tx := &wire.MsgTx{}
		if err := tx.BtcDecode(r, 0, wire.WitnessEncoding); err != nil {
			return nil, ruleError(ErrMalformedBlock, "transaction %d: %v", i, err)
		}
		end := len(raw) - r.Len()
		txRaw := raw[start:end]
		b.Txs[i] = tx
		segwitSerialized := len(txRaw) > 6 && txRaw[4] == 0 && txRaw[5] == 1
		if !segwitSerialized {
			b.TxIDs[i] = doubleSHA256(txRaw)
			b.WTxIDs[i] = b.TxIDs[i]
			b.StrippedSize += len(txRaw)
			continue
		}
		if !tx.HasWitness() {
			// Core refuses a witness marker with no witness data
			// ("Superfluous witness record").
			return nil, ruleError(ErrMalformedBlock, "transaction %d: superfluous witness record", i)
		}
		b.HasWitness = true
		w := witnessSize(tx)
		stripped := len(txRaw) - 2 - w
		if stripped < 8 {
			return nil, ruleError(ErrMalformedBlock, "transaction %d: inconsistent witness size", i)
		}
		// The txid hashes the transaction without marker, flag and
		// witnesses: version ‖ inputs and outputs ‖ locktime.
		b.TxIDs[i] = hashParts(h, txRaw[:4], txRaw[6:len(txRaw)-4-w], txRaw[len(txRaw)-4:])
		b.WTxIDs[i] = doubleSHA256(txRaw)
		b.StrippedSize += stripped
	}
	if r.Len() != 0 {
		return nil, ruleError(ErrMalformedBlock, "%d trailing bytes after the last transaction", r.Len())
	}
	return b, nil
}

// NewBlock prepares an in-memory block by serializing and decoding it, so
// hashes and sizes come from the same code as for blocks read from disk.
func NewBlock(msg *wire.MsgBlock) (*Block, error) {
	var buf bytes.Buffer
	buf.Grow(msg.SerializeSize())
	if err := msg.Serialize(&buf); err != nil {
		return nil, ruleError(ErrMalformedBlock, "serialize: %v", err)
	}
	return DecodeBlock(buf.Bytes())
}

// witnessSize is the serialized size of a transaction's witness section.
func witnessSize(tx *wire.MsgTx) int {
	n := 0
	for _, in := range tx.TxIn {
		n += wire.VarIntSerializeSize(uint64(len(in.Witness)))
		for _, item := range in.Witness {
			n += wire.VarIntSerializeSize(uint64(len(item))) + len(item)
		}
	}
	return n
}

func doubleSHA256(b []byte) chainhash.Hash {
	first := sha256.Sum256(b)
	return chainhash.Hash(sha256.Sum256(first[:]))
}

func hashParts(h hash.Hash, parts ...[]byte) chainhash.Hash {
	h.Reset()
	for _, p := range parts {
		h.Write(p)
	}
	var first [32]byte
	h.Sum(first[:0])
	return chainhash.Hash(sha256.Sum256(first[:]))
}

// isCoinbase reports whether tx has the coinbase shape: one input spending
// the null outpoint.
func isCoinbase(tx *wire.MsgTx) bool {
	if len(tx.TxIn) != 1 {
		return false
	}
	p := &tx.TxIn[0].PreviousOutPoint
	return p.Index == wire.MaxPrevOutIndex && p.Hash == (chainhash.Hash{})
}
