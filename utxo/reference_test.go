package utxo_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/wire"
	"golang.org/x/crypto/chacha20"

	"github.com/satnode/satnode/utxo"
)

// refSet is an independent model of Bitcoin Core's coinstatsindex, written
// from Core's description with none of the engine's code: a plain map for
// the set and math/big for MuHash (one normalized value, multiplied by an
// element's inverse on removal). Tests connect the same blocks to both and
// compare every height.
type refSet struct {
	t      *testing.T
	coins  map[utxo.Outpoint]utxo.Coin
	acc    *big.Int
	amount int64
	bogo   uint64
	// per height
	digests [][32]byte
	txouts  []uint64
	amounts []int64
	bogos   []uint64
}

var refP = func() *big.Int {
	p := new(big.Int).Lsh(big.NewInt(1), 3072)
	return p.Sub(p, big.NewInt(1103717))
}()

func newRefSet(t *testing.T) *refSet {
	return &refSet{t: t, coins: make(map[utxo.Outpoint]utxo.Coin), acc: big.NewInt(1)}
}

// refElement is Core's MuHash3072::ToNum3072 on TxOutSer.
func refElement(op utxo.Outpoint, c utxo.Coin) *big.Int {
	var buf []byte
	buf = append(buf, op.Hash[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, op.Index)
	code := uint32(c.Height) * 2
	if c.Coinbase {
		code++
	}
	buf = binary.LittleEndian.AppendUint32(buf, code)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(c.Value))
	var w sliceW
	_ = wire.WriteVarBytes(&w, 0, c.Script)
	buf = append(buf, w...)
	key := sha256.Sum256(buf)
	cc, err := chacha20.NewUnauthenticatedCipher(key[:], make([]byte, 12))
	if err != nil {
		panic(err)
	}
	stream := make([]byte, 384)
	cc.XORKeyStream(stream, stream)
	// little-endian to big.Int
	be := make([]byte, 384)
	for i := range stream {
		be[383-i] = stream[i]
	}
	return new(big.Int).SetBytes(be)
}

type sliceW []byte

func (w *sliceW) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

func (r *refSet) digest() [32]byte {
	v := new(big.Int).Mod(r.acc, refP)
	be := make([]byte, 384)
	v.FillBytes(be)
	le := make([]byte, 384)
	for i := range be {
		le[383-i] = be[i]
	}
	return sha256.Sum256(le)
}

func (r *refSet) add(op utxo.Outpoint, c utxo.Coin) {
	if _, dup := r.coins[op]; dup {
		r.t.Fatalf("reference: %s added twice", op)
	}
	r.coins[op] = c
	r.acc.Mul(r.acc, refElement(op, c))
	r.acc.Mod(r.acc, refP)
	r.amount += c.Value
	r.bogo += 50 + uint64(len(c.Script))
}

func (r *refSet) remove(op utxo.Outpoint) utxo.Coin {
	c, ok := r.coins[op]
	if !ok {
		r.t.Fatalf("reference: %s spent but not in the set", op)
	}
	delete(r.coins, op)
	inv := new(big.Int).ModInverse(refElement(op, c), refP)
	r.acc.Mul(r.acc, inv)
	r.acc.Mod(r.acc, refP)
	r.amount -= c.Value
	r.bogo -= 50 + uint64(len(c.Script))
	return c
}

// connect applies a block the way Core's coinstatsindex sees it.
func (r *refSet) connect(msg *wire.MsgBlock, height int32) {
	if height > 0 {
		for i, tx := range msg.Transactions {
			txid := tx.TxHash()
			if i > 0 {
				for _, in := range tx.TxIn {
					r.remove(utxo.Outpoint{Hash: in.PreviousOutPoint.Hash, Index: in.PreviousOutPoint.Index})
				}
			}
			for j, out := range tx.TxOut {
				if len(out.PkScript) > 0 && out.PkScript[0] == 0x6a || len(out.PkScript) > 10000 {
					continue
				}
				r.add(utxo.Outpoint{Hash: txid, Index: uint32(j)},
					utxo.Coin{Value: out.Value, Script: out.PkScript, Height: height, Coinbase: i == 0})
			}
		}
	}
	r.digests = append(r.digests, r.digest())
	r.txouts = append(r.txouts, uint64(len(r.coins)))
	r.amounts = append(r.amounts, r.amount)
	r.bogos = append(r.bogos, r.bogo)
}
