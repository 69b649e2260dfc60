package rpctest

import (
	"fmt"
	"math/big"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// fanOutPerBlock is how many outputs one fan-out coinbase pays: a P2PKH
// output is 34 bytes, so 25,000 of them weigh 3.4M, under BIP141's 4M.
const fanOutPerBlock = 25_000

// FanOut connects coinbase-only blocks on the tip that pay n outputs of
// value satoshis to script, fanOutPerBlock per block, and commits once.
// It is the cheap way to give one address 100k unspent outputs: the
// engine and the store index them as they do any block (real proof of
// work at the regtest limit, BIP34 height pushes, merkle roots), but no
// transaction is signed, so it takes seconds where chaingen would take
// minutes. n*value must fit in the subsidy of n/fanOutPerBlock blocks.
//
// The generator does not know these blocks: call FanOut after the last
// Extend or Fork, never before.
func (c *Chain) FanOut(script []byte, n int, value int64) {
	c.tb.Helper()
	for n > 0 {
		k := min(n, fanOutPerBlock)
		n -= k
		mb, err := c.fanOutBlock(script, k, value)
		if err != nil {
			c.tb.Fatalf("rpctest: fan-out block: %v", err)
		}
		c.connectBlock(mb)
	}
	c.Commit()
}

// fanOutBlock builds the next block: a coinbase paying k outputs.
func (c *Chain) fanOutBlock(script []byte, k int, value int64) (*wire.MsgBlock, error) {
	prev := c.Blocks[len(c.Blocks)-1]
	height := int64(len(c.Blocks))
	sig, err := txscript.NewScriptBuilder().AddInt64(height).AddData([]byte("rpctest fan-out")).Script()
	if err != nil {
		return nil, err
	}
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex}, SignatureScript: sig,
		Sequence: wire.MaxTxInSequenceNum})
	for range k {
		cb.AddTxOut(&wire.TxOut{Value: value, PkScript: script})
	}
	hdr := wire.BlockHeader{Version: 0x20000000, PrevBlock: prev.BlockHash(), MerkleRoot: cb.TxHash(),
		Timestamp: prev.Header.Timestamp.Add(time.Second), Bits: prev.Header.Bits}
	target := blockchain.CompactToBig(hdr.Bits)
	// At the regtest limit about every second nonce qualifies; the bound
	// only keeps a broken target from spinning forever.
	for nonce := range uint32(1 << 20) {
		hdr.Nonce = nonce
		h := hdr.BlockHash()
		if blockchain.HashToBig(&h).Cmp(target) <= 0 {
			mb := wire.NewMsgBlock(&hdr)
			if err := mb.AddTransaction(cb); err != nil {
				return nil, err
			}
			return mb, nil
		}
	}
	return nil, fmt.Errorf("no nonce meets bits %08x (target %s)", hdr.Bits, new(big.Int).Set(target))
}
