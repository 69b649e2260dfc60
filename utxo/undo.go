package utxo

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Undo record value (key 'u' 01 u32be(height)). It holds everything needed
// to disconnect the block without its body, so a reorg never waits for a
// block download and bodies can be pruned independently:
//
//	field          encoding
//	tx count       VARINT(n)
//	per tx, in block order:
//	  txid         32 bytes
//	  created      VARINT(k), then k × VARINT(vout): the outputs this tx added
//	               to the set (unspendable outputs and the BIP30-skipped
//	               coinbases are absent)
//	  spent        VARINT(m), then m × (prev txid[32] ‖ VARINT(prev vout) ‖ coin):
//	               the coins its inputs removed, in input order
//
// Disconnecting walks the transactions backwards: it removes each one's
// created outputs and restores its spent coins, so an output created and
// spent inside the block is restored by the spender before its creator
// removes it.
//
// Worked example, mainnet block 170 (the first bitcoin transaction): two
// transactions, the second spending block 9's coinbase output 0 and
// creating two outputs. Hashes are in internal byte order, as stored.
//
//	02                                   two transactions
//	82501c1178fa0b222c1f3d474ec726b832013f0a532b44bb620cce8624a5feb1
//	                                     txid of the coinbase (b1fea524…1c5082)
//	01 00                                created: one output, vout 0
//	00                                   spent: none
//	169e1e83e930853391bc6f35f605c6754cfead57cf8387639d3b4096c54f18f4
//	                                     txid f4184fc5…1e9e16
//	02 00 01                             created: vouts 0 and 1
//	01                                   spent: one coin
//	c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704
//	00                                   prev txid 0437cd7f…a597c9 (block 9's coinbase), vout 0
//	13 32 05 11db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5c
//	                                     the coin, as in coin.go
//
// format_test.go connects blocks 0–170 and checks the stored record is
// exactly these bytes.

// txUndo is the undo data of one transaction.
type txUndo struct {
	txid    chainhash.Hash
	created []uint32
	spent   []spentCoin
}

type spentCoin struct {
	op   Outpoint
	coin Coin
}

// undoBuilder accumulates a block's undo record while it is connected.
type undoBuilder struct {
	buf []byte
	nTx int
}

func (u *undoBuilder) reset() {
	u.buf = u.buf[:0]
	u.nTx = 0
}

// addTx appends one transaction's undo data. created lists the vouts added;
// spent lists the coins removed.
func (u *undoBuilder) addTx(txid *chainhash.Hash, created []uint32, spentOps []Outpoint, spentCoins []Coin) {
	u.nTx++
	u.buf = append(u.buf, txid[:]...)
	u.buf = putVLQ(u.buf, uint64(len(created)))
	for _, v := range created {
		u.buf = putVLQ(u.buf, uint64(v))
	}
	u.buf = putVLQ(u.buf, uint64(len(spentOps)))
	for i := range spentOps {
		u.buf = append(u.buf, spentOps[i].Hash[:]...)
		u.buf = putVLQ(u.buf, uint64(spentOps[i].Index))
		u.buf = appendCoin(u.buf, &spentCoins[i])
	}
}

// bytes returns the finished record (a fresh slice).
func (u *undoBuilder) bytes() []byte {
	out := make([]byte, 0, vlqSize(uint64(u.nTx))+len(u.buf))
	out = putVLQ(out, uint64(u.nTx))
	return append(out, u.buf...)
}

// maxUndoItems bounds the counts in an undo record so a corrupt record
// cannot make the decoder allocate unbounded memory: a block of 4 MWU holds
// far fewer than this many transactions, inputs or outputs.
const maxUndoItems = 1 << 20

// decodeUndo parses an undo record.
func decodeUndo(b []byte) ([]txUndo, error) {
	d := decoder{b: b}
	n := d.vlq()
	if d.err != nil {
		return nil, malformedf("undo: %v", d.err)
	}
	if n > maxUndoItems || n > uint64(len(d.b))/34 {
		return nil, malformedf("undo: tx count %d out of range", n)
	}
	txs := make([]txUndo, n)
	for i := range txs {
		t := &txs[i]
		copy(t.txid[:], d.bytes(32))
		k := d.vlq()
		if d.err == nil && (k > maxUndoItems || k > uint64(len(d.b))) {
			return nil, malformedf("undo: created count %d out of range", k)
		}
		if k > 0 && d.err == nil {
			t.created = make([]uint32, k)
			for j := range t.created {
				t.created[j] = d.u32()
			}
		}
		m := d.vlq()
		if d.err == nil && (m > maxUndoItems || m > uint64(len(d.b))/35) {
			return nil, malformedf("undo: spent count %d out of range", m)
		}
		if m > 0 && d.err == nil {
			t.spent = make([]spentCoin, m)
			for j := range t.spent {
				s := &t.spent[j]
				copy(s.op.Hash[:], d.bytes(32))
				s.op.Index = d.u32()
				if d.err != nil {
					break
				}
				c, used, err := readCoin(d.b)
				if err != nil {
					return nil, malformedf("undo: tx %d spent %d: %v", i, j, err)
				}
				d.b = d.b[used:]
				s.coin = c
			}
		}
		if d.err != nil {
			return nil, malformedf("undo: tx %d: %v", i, d.err)
		}
	}
	if len(d.b) != 0 {
		return nil, malformedf("undo: %d trailing bytes", len(d.b))
	}
	return txs, nil
}
