package utxo

import (
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// BlockChange is what connecting or disconnecting one block did to the set,
// coin by coin, for subscribers that follow script hashes (the RPC
// server's stream). The engine builds it only when Config.OnBlock is set.
type BlockChange struct {
	// Connected is false for a disconnect: Created then lists the coins
	// that left the set again and Spent the coins that came back.
	//
	// A coin created and spent within the block is in both lists of a
	// connect (subscribers see it funded and spent) and in neither list of
	// a disconnect (it was never in the set between blocks). So replaying
	// a connect adds Created then removes Spent, and replaying a
	// disconnect removes Created and adds Spent, in any order.
	Connected bool
	Height    int32
	Hash      chainhash.Hash
	Header    wire.BlockHeader
	// Txs is the block's transaction count.
	Txs uint32
	// Created are the outputs the block added to the set, in block order
	// (provably unspendable outputs are never in the set, so not here).
	Created []CoinChange
	// Spent are the coins the block's inputs spent, in block order.
	Spent []CoinChange
}

// CoinChange is one coin a block created or spent.
type CoinChange struct {
	Outpoint   Outpoint
	ScriptHash [32]byte
	Value      int64
	// Height and Coinbase are the coin's own: the block that created it.
	Height   int32
	Coinbase bool
	// SpentBy is the txid of the spending transaction (Spent only).
	SpentBy chainhash.Hash
}

// connectChange describes the block apply just connected. It runs before
// the scratch space is reset: the spends and the script-hash slots of pass 1
// are still there, so no script is hashed twice.
func (e *Engine) connectChange(b *Block, height int32, skipCoinbase bool) *BlockChange {
	cx := &e.cx
	ch := &BlockChange{Connected: true, Height: height, Hash: b.Hash, Header: b.Header, Txs: uint32(len(b.Txs))}
	k, o := 0, 0
	for i, tx := range b.Txs {
		if i > 0 {
			for range tx.TxIn {
				s := &cx.spends[k]
				k++
				ch.Spent = append(ch.Spent, CoinChange{Outpoint: s.op, ScriptHash: e.accts.list[s.acct].sh,
					Value: s.coin.Value, Height: s.coin.Height, Coinbase: s.coin.Coinbase, SpentBy: b.TxIDs[i]})
			}
		}
		if i == 0 && skipCoinbase {
			continue
		}
		for j, out := range tx.TxOut {
			if IsUnspendable(out.PkScript) {
				continue
			}
			ch.Created = append(ch.Created, CoinChange{Outpoint: Outpoint{b.TxIDs[i], uint32(j)},
				ScriptHash: e.accts.list[cx.outAccts[o]].sh, Value: out.Value, Height: height, Coinbase: i == 0})
			o++
		}
	}
	return ch
}

// disconnectChange describes the block Disconnect is taking away, from its
// undo record and the coins pass 1 loaded. The header is read before
// Disconnect deletes it.
func (e *Engine) disconnectChange(height int32, rec *BlockRecord, txs []txUndo, created [][]Coin, createdSlots, spentSlots [][]int32) (*BlockChange, error) {
	h, err := e.header(height)
	if err != nil {
		return nil, corruptf("header %d: %v", height, err)
	}
	ch := &BlockChange{Height: height, Hash: rec.Hash, Header: *h, Txs: rec.Stats.Txs}
	// Coins both created and spent in this block: in neither list.
	inBlock := map[Outpoint]bool{}
	createdHere := map[Outpoint]bool{}
	for i := range txs {
		for _, v := range txs[i].created {
			createdHere[Outpoint{txs[i].txid, v}] = true
		}
	}
	for i := range txs {
		for _, s := range txs[i].spent {
			if createdHere[s.op] {
				inBlock[s.op] = true
			}
		}
	}
	for i := range txs {
		t := &txs[i]
		for j, s := range t.spent {
			if inBlock[s.op] {
				continue
			}
			ch.Spent = append(ch.Spent, CoinChange{Outpoint: s.op, ScriptHash: e.accts.list[spentSlots[i][j]].sh,
				Value: s.coin.Value, Height: s.coin.Height, Coinbase: s.coin.Coinbase, SpentBy: t.txid})
		}
		for j, v := range t.created {
			if inBlock[Outpoint{t.txid, v}] {
				continue
			}
			c := &created[i][j]
			ch.Created = append(ch.Created, CoinChange{Outpoint: Outpoint{t.txid, v},
				ScriptHash: e.accts.list[createdSlots[i][j]].sh, Value: c.Value, Height: c.Height, Coinbase: c.Coinbase})
		}
	}
	return ch, nil
}
