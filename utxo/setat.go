package utxo

import (
	"errors"
	"fmt"
	"slices"
)

// ErrNoUndo: the set at a past height cannot be rebuilt because the undo
// record of a block above it is gone (beyond the undo depth, or below a
// seeded base).
var ErrNoUndo = errors.New("utxo: no undo data to roll back that far")

// SetAt streams the unspent coins at height, the tip or a past height
// whose blocks above are all still undoable, in the order Bitcoin Core's
// dumptxoutset writes them: by txid (its 32 internal-order bytes), then
// vout. It returns the count of the set at height from the block record
// before the first call of fn, through count, so that a writer can put it
// in a header; fn is then called once per coin. An error from fn stops the
// walk and is returned. The order is the coins table's, the bytes of
// VARINT(vout) after the txid (CompareCoreOrder), which is Core's too.
//
// The stored set is the tip's; for a past height the blocks above it are
// undone in passing, from their undo records, without writing anything:
// an overlay of the coins they created (left out) and spent (put back),
// merged into the ordered walk of the coins table. The overlay holds only
// what those blocks touched.
func (r *Reader) SetAt(height int32, count func(uint64) error, fn func(Outpoint, Coin) error) error {
	st, err := r.State()
	if err != nil {
		return err
	}
	if !st.HasTip {
		return fmt.Errorf("utxo: the store has no UTXO set")
	}
	if height > st.TipHeight || height < st.BaseHeight {
		return fmt.Errorf("utxo: height %d is outside the store's %d..%d", height, st.BaseHeight, st.TipHeight)
	}
	rec, err := r.BlockRecord(height)
	if err != nil {
		return fmt.Errorf("utxo: record of block %d: %w", height, err)
	}
	overlay, err := r.undoOverlay(height, st.TipHeight)
	if err != nil {
		return err
	}
	if err := count(uint64(rec.Totals.TxOuts)); err != nil {
		return err
	}
	ops := make([]Outpoint, 0, len(overlay))
	for op := range overlay {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b Outpoint) int { return CompareCoreOrder(&a, &b) })
	next := 0 // the first overlay outpoint not yet merged
	emitUpTo := func(stop *Outpoint) error {
		for ; next < len(ops) && (stop == nil || CompareCoreOrder(&ops[next], stop) < 0); next++ {
			if c := overlay[ops[next]]; c != nil {
				if err := fn(ops[next], *c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	it := r.kv.Iterate(prefix(tagCoin), nil)
	defer it.Release()
	for it.Next() {
		op, err := parseOutpoint(it.Key()[2:])
		if err != nil {
			return fmt.Errorf("utxo: coin key %x: %w", it.Key(), err)
		}
		if err := emitUpTo(&op); err != nil {
			return err
		}
		if c, touched := overlay[op]; touched {
			// Created above height (nil: left out), or, impossibly for
			// a unique outpoint, spent and stored again.
			if next < len(ops) && ops[next] == op {
				next++
			}
			if c != nil {
				if err := fn(op, *c); err != nil {
					return err
				}
			}
			continue
		}
		c, err := DecodeCoin(it.Value())
		if err != nil {
			return fmt.Errorf("utxo: coin %s: %w", op, err)
		}
		if err := fn(op, c); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return emitUpTo(nil)
}

// undoOverlay replays the undo records of the blocks above height, the
// newest first and each one's transactions backwards, as Disconnect does:
// a created output maps to nil (not in the set at height), a spent coin to
// itself (back in the set).
func (r *Reader) undoOverlay(height, tip int32) (map[Outpoint]*Coin, error) {
	overlay := make(map[Outpoint]*Coin)
	for h := tip; h > height; h-- {
		raw, err := r.kv.Get(heightKey(tagUndo, h))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: the undo record of block %d is gone (kept: the last blocks up to the undo depth)", ErrNoUndo, h)
		}
		if err != nil {
			return nil, err
		}
		txs, err := decodeUndo(raw)
		if err != nil {
			return nil, fmt.Errorf("utxo: undo record of block %d: %w", h, err)
		}
		for i := len(txs) - 1; i >= 0; i-- {
			t := &txs[i]
			for _, vout := range t.created {
				overlay[Outpoint{Hash: t.txid, Index: vout}] = nil
			}
			for j := range t.spent {
				c := t.spent[j].coin
				overlay[t.spent[j].op] = &c
			}
		}
	}
	return overlay, nil
}
