package utxo

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// SeedInMemory is Seed as it was before SeedStream: every coin in the
// cache, a map of (script hash, txid) pairs for the tx counts, one flush.
// The tests compare SeedStream's stores with it byte for byte.
func (e *Engine) SeedInMemory(base SeedBase, coins []SeedCoin) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return err
	}
	if e.state.HasTip || len(e.cache.m) != 0 {
		return ErrNotEmpty
	}
	hash := base.Hash
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
	e.state.NonBIP34Height = max(base.Height, 1)
	return e.flush(0, nil)
}

// EncodeLoadState exposes the loading marker's encoding to the format test.
func EncodeLoadState(l *LoadState) []byte { return l.encode() }
