package utxo

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// SeedBase describes the block a seeded store starts at.
type SeedBase struct {
	// Height of the base block; the next connected block is Height+1.
	Height int32
	// Hash of the base block: it becomes the tip, and the next block must
	// name it as its parent.
	Hash chainhash.Hash
	// Header of the base block, if known; it is stored like any other.
	Header *wire.BlockHeader
	// Times gives the timestamps of the blocks that seeded coins were
	// created in (and of the base, if no header is given), so that spending
	// them counts coin-days destroyed. Coins of heights without a time count
	// as zero age.
	Times map[int32]uint32
}

// SeedCoin is one coin of a snapshot.
type SeedCoin struct {
	Outpoint Outpoint
	Coin     Coin
}

// Seed initializes an empty store with a UTXO snapshot at base, instead of
// connecting from genesis. The MuHash, totals and script-hash index are
// computed from the coins. Cumulative amounts that depend on history Core
// would know (subsidy, unspendables) start from zero at the base.
//
// Coins must be spendable (not IsUnspendable), created at or below the base
// height, and distinct.
func (e *Engine) Seed(base SeedBase, coins []SeedCoin) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return err
	}
	if e.state.HasTip || len(e.cache.m) != 0 {
		return ErrNotEmpty
	}
	if base.Height < 0 {
		return fmt.Errorf("utxo: negative seed height")
	}
	hash := base.Hash
	if base.Header != nil && base.Header.BlockHash() != hash {
		return fmt.Errorf("utxo: seed header does not hash to %s", hash)
	}
	rec := &BlockRecord{Hash: hash}
	t := &rec.Totals
	job := &hashJob{rec: rec}
	type shTx struct {
		sh   [32]byte
		txid [32]byte
	}
	seenTx := make(map[shTx]struct{})
	for i := range coins {
		sc := &coins[i]
		c := &sc.Coin
		if IsUnspendable(c.Script) || c.Value < 0 || c.Value > MaxMoney || c.Height < 0 || c.Height > base.Height {
			return fmt.Errorf("utxo: seed coin %s is unspendable or out of range", sc.Outpoint)
		}
		if _, ok := e.cache.get(&sc.Outpoint); ok {
			return fmt.Errorf("utxo: seed coin %s appears twice", sc.Outpoint)
		}
		e.cache.add(&sc.Outpoint, c)
		job.add.appendCoin(&sc.Outpoint, c)
		sh := scriptHash(c.Script)
		slot, err := e.loadAcct(&sh)
		if err != nil {
			return err
		}
		e.accts.fund(slot, c.Value, 1)
		if _, ok := seenTx[shTx{sh, sc.Outpoint.Hash}]; !ok {
			seenTx[shTx{sh, sc.Outpoint.Hash}] = struct{}{}
			e.accts.countTx([]int32{slot}, 1)
		}
		t.TxOuts++
		t.TotalAmount += c.Value
		t.BogoSize += bogoSize(len(c.Script))
		if t.TotalAmount > MaxMoney {
			return fmt.Errorf("utxo: seed coins total more than 21M BTC")
		}
	}
	rec.Stats = BlockStats{Height: base.Height, Hash: hash}
	for h, ts := range base.Times {
		if h <= base.Height && (h < base.Height || base.Header == nil) {
			e.put(heightKey(tagTime, h), binary.BigEndian.AppendUint32(nil, ts))
		}
	}
	if base.Header != nil {
		var hb bytes.Buffer
		_ = base.Header.Serialize(&hb)
		e.put(heightKey(tagHeader, base.Height), hb.Bytes())
		rec.Stats.Time = uint32(base.Header.Timestamp.Unix())
	}
	e.put(hashHeightKey(&hash), binary.BigEndian.AppendUint32(nil, uint32(base.Height)))
	e.setRecord(base.Height, rec)
	e.hasher.submit(job)
	e.totals = *t
	e.state.HasTip, e.state.TipHeight, e.state.TipHash, e.state.BaseHeight = true, base.Height, hash, base.Height
	// The coinbases below the base are unknown: keep the BIP30 lookups.
	e.state.NonBIP34Height = max(base.Height, 1)
	return e.flush(0, nil)
}
