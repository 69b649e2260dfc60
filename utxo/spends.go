package utxo

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// The undo records (undo.go) are the store's only memory of spent coins:
// for each of the last blocks (Config.UndoDepth of them, the consensus
// layer's finality depth plus one) they hold, transaction by transaction
// and input by input, the coin every input removed. The two readers below
// answer the RPC server's questions about spends from them: which coins a
// block's transactions spent (for fees and prevouts), and which input
// spent a given outpoint. Neither can answer for blocks whose record is
// gone; the store keeps no spend index, and these readers never guess.

// SpentCoin is one coin an input removed from the set: the outpoint it
// spent and the coin as it was.
type SpentCoin struct {
	Outpoint Outpoint
	Coin     Coin
}

// TxSpends is what one transaction of a block spent: its txid and, in
// input order, the coins its inputs removed (none for a coinbase).
type TxSpends struct {
	TxID  chainhash.Hash
	Coins []SpentCoin
}

// BlockSpends returns, for every transaction of the block at height in
// block order, the coins it spent, read from the block's undo record. It
// wraps ErrNotFound when the record is gone (the block is deeper than the
// undo depth, at or below the base of a seeded store, or the genesis
// block, which spends nothing and has none). It costs one read and one
// decode of the record, about the size of the block's spent outputs.
func (r *Reader) BlockSpends(height int32) ([]TxSpends, error) {
	raw, err := r.kv.Get(heightKey(tagUndo, height))
	if err != nil {
		return nil, fmt.Errorf("utxo: undo record of block %d: %w", height, err)
	}
	txs, err := decodeUndo(raw)
	if err != nil {
		return nil, fmt.Errorf("utxo: undo record of block %d: %w", height, err)
	}
	out := make([]TxSpends, len(txs))
	for i := range txs {
		out[i].TxID = txs[i].txid
		if len(txs[i].spent) == 0 {
			continue
		}
		out[i].Coins = make([]SpentCoin, len(txs[i].spent))
		for j, s := range txs[i].spent {
			out[i].Coins[j] = SpentCoin{Outpoint: s.op, Coin: s.coin}
		}
	}
	return out, nil
}

// Spend names the input that spent an outpoint: the spending
// transaction, the input's index in it, and the height of its block.
type Spend struct {
	TxID   chainhash.Hash
	Vin    uint32
	Height int32
}

// ErrSpendSearchArgs is returned by FindSpend for a negative tip or a
// depth below one.
var ErrSpendSearchArgs = errors.New("utxo: spend search needs a tip ≥ 0 and a depth ≥ 1")

// FindSpend looks for the input that spent op in the undo records of the
// blocks tip, tip-1, … down to tip-depth+1, newest first, and stops at the
// first height whose record is missing (pruned, below a seeded base, or
// the genesis block). It returns the spend, or nil when none of those
// blocks spent op, and searched, the number of blocks whose records were
// read: a nil spend means "not spent in the last searched blocks", never
// "unspent" (look in the set for that) nor "never existed".
//
// Cost: up to depth record reads, each walked once without allocating per
// coin (coins are skipped by their encoded length, only the outpoints are
// compared), so about the bytes of those blocks' spent outputs: for
// depth 101 on mainnet, tens of megabytes of reads in the worst case,
// which is why the depth is the caller's bound, not the chain's length.
// Pass the undo depth the store was written with; a larger one only
// stops earlier at the first missing record.
func (r *Reader) FindSpend(op Outpoint, tip, depth int32) (spend *Spend, searched int32, err error) {
	if tip < 0 || depth < 1 {
		return nil, 0, ErrSpendSearchArgs
	}
	for h := tip; h >= 0 && h > tip-depth; h-- {
		raw, err := r.kv.Get(heightKey(tagUndo, h))
		if errors.Is(err, ErrNotFound) {
			return nil, searched, nil
		}
		if err != nil {
			return nil, searched, err
		}
		searched++
		txid, vin, found, err := findInUndo(raw, &op)
		if err != nil {
			return nil, searched, fmt.Errorf("utxo: undo record of block %d: %w", h, err)
		}
		if found {
			return &Spend{TxID: txid, Vin: vin, Height: h}, searched, nil
		}
	}
	return nil, searched, nil
}

// findInUndo walks one undo record for a spent entry equal to op and
// returns the spending txid and input index. It reads the same layout as
// decodeUndo, bounds-checked the same way, but skips each coin by its
// length instead of decoding it.
func findInUndo(b []byte, op *Outpoint) (txid chainhash.Hash, vin uint32, found bool, err error) {
	d := decoder{b: b}
	n := d.vlq()
	if d.err == nil && (n > maxUndoItems || n > uint64(len(d.b))/34) {
		return txid, 0, false, malformedf("undo: tx count %d out of range", n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		cur := d.bytes(32)
		k := d.vlq()
		if d.err == nil && (k > maxUndoItems || k > uint64(len(d.b))) {
			return txid, 0, false, malformedf("undo: created count %d out of range", k)
		}
		for j := uint64(0); j < k && d.err == nil; j++ {
			d.u32()
		}
		m := d.vlq()
		if d.err == nil && (m > maxUndoItems || m > uint64(len(d.b))/35) {
			return txid, 0, false, malformedf("undo: spent count %d out of range", m)
		}
		for j := uint64(0); j < m && d.err == nil; j++ {
			hash := d.bytes(32)
			index := d.u32()
			if d.err != nil {
				break
			}
			if index == op.Index && bytes.Equal(hash, op.Hash[:]) {
				copy(txid[:], cur)
				return txid, uint32(j), true, nil
			}
			used, err := coinLen(d.b)
			if err != nil {
				return txid, 0, false, malformedf("undo: tx %d spent %d: %v", i, j, err)
			}
			d.b = d.b[used:]
		}
	}
	if d.err != nil {
		return txid, 0, false, malformedf("undo: %v", d.err)
	}
	return txid, 0, false, nil
}

// coinLen is the length of the coin encoded at the start of b (coin.go's
// format: VARINT(code), VARINT(compressed amount), compressed script),
// found without decoding the script.
func coinLen(b []byte) (int, error) {
	n := 0
	for range 2 { // height code, amount
		_, m, err := readVLQ(b[n:])
		if err != nil {
			return 0, err
		}
		n += m
	}
	kind, m, err := readVLQ(b[n:])
	if err != nil {
		return 0, err
	}
	n += m
	var size uint64
	if kind >= numSpecialScripts {
		size = kind - numSpecialScripts
		if size > maxCompressedScriptSz {
			return 0, malformedf("compressed script: raw length %d out of range", size)
		}
	} else {
		size = uint64(payloadSize[kind])
	}
	if uint64(len(b)-n) < size {
		return 0, malformedf("compressed script: truncated")
	}
	return n + int(size), nil
}
