package utxo

// Disconnect removes the tip block from the set using its undo record:
// its created outputs leave the set, the coins it spent return, and its
// header, record and undo data are deleted. After disconnecting blocks and
// flushing, the store holds exactly the bytes it held before they were
// connected. It returns the disconnected block's statistics.
//
// The MuHash after the disconnect is checked against the previous block's
// recorded digest; a mismatch means the store is corrupt (ErrCorrupt).
func (e *Engine) Disconnect() (*BlockStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	if !e.state.HasTip || e.state.TipHeight <= e.state.BaseHeight {
		return nil, ErrNothingToDisconnect
	}
	height := e.state.TipHeight
	raw, err := e.get(heightKey(tagUndo, height))
	if err != nil {
		if IsNotFound(err) {
			return nil, ErrUndoPruned
		}
		return nil, err
	}
	txs, err := decodeUndo(raw)
	if err != nil {
		return nil, corruptf("undo record %d: %v", height, err)
	}
	rec, err := e.record(height)
	if err != nil {
		return nil, corruptf("block record %d: %v", height, err)
	}
	prev, err := e.record(height - 1)
	if err != nil {
		return nil, corruptf("block record %d: %v", height-1, err)
	}
	if err := e.hasher.wait(); err != nil {
		return nil, err
	}
	want := prev.MuHash
	e.cx.height = height
	// Pass 1: load every coin the block created and the counters. A
	// created coin is in the set, since later blocks are already
	// disconnected, unless a later transaction of this block spent it: then
	// its undo entry holds it.
	spentHere := make(map[Outpoint]*Coin)
	for i := range txs {
		for j := range txs[i].spent {
			s := &txs[i].spent[j]
			spentHere[s.op] = &s.coin
		}
	}
	created := make([][]Coin, len(txs))
	for i := range txs {
		t := &txs[i]
		created[i] = make([]Coin, len(t.created))
		for j, v := range t.created {
			op := Outpoint{t.txid, v}
			if c, ok := spentHere[op]; ok {
				created[i][j] = *c
				continue
			}
			c, ok, err := e.fetchCoin(&op)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, corruptf("disconnecting %d: created output %s is not in the set", height, op)
			}
			// c.Script aliases the cache arena, which stays valid until
			// the next flush.
			created[i][j] = c
		}
	}
	// The counter slots, found now so that pass 2 does no I/O.
	createdSlots := make([][]int32, len(txs))
	spentSlots := make([][]int32, len(txs))
	for i := range txs {
		for j := range created[i] {
			sh := scriptHash(created[i][j].Script)
			slot, err := e.loadAcct(&sh)
			if err != nil {
				return nil, err
			}
			createdSlots[i] = append(createdSlots[i], slot)
		}
		for _, s := range txs[i].spent {
			sh := scriptHash(s.coin.Script)
			slot, err := e.loadAcct(&sh)
			if err != nil {
				return nil, err
			}
			spentSlots[i] = append(spentSlots[i], slot)
		}
	}
	// Pass 2: apply backwards.
	job := &hashJob{want: &want}
	cx := &e.cx
	for i := len(txs) - 1; i >= 0; i-- {
		t := &txs[i]
		cx.txAccts = cx.txAccts[:0]
		for j := len(t.created) - 1; j >= 0; j-- {
			op := Outpoint{t.txid, t.created[j]}
			c := &created[i][j]
			e.cache.spend(&op)
			job.remove.appendCoin(&op, c)
			e.accts.fund(createdSlots[i][j], c.Value, -1)
			cx.txAccts = append(cx.txAccts, createdSlots[i][j])
		}
		for j := len(t.spent) - 1; j >= 0; j-- {
			s := &t.spent[j]
			e.cache.add(&s.op, &s.coin)
			job.add.appendCoin(&s.op, &s.coin)
			e.accts.spend(spentSlots[i][j], s.coin.Value, -1)
			cx.txAccts = append(cx.txAccts, spentSlots[i][j])
		}
		e.accts.countTx(cx.txAccts, -1)
	}
	var change *BlockChange
	if e.cfg.OnBlock != nil {
		if change, err = e.disconnectChange(height, rec, txs, created, createdSlots, spentSlots); err != nil {
			return nil, err
		}
	}
	e.hasher.submit(job)
	if err := e.hasher.wait(); err != nil {
		// The in-memory set no longer matches any consistent state.
		e.failed = err
		return nil, err
	}

	e.del(heightKey(tagHeader, height))
	e.del(hashHeightKey(&rec.Hash))
	e.del(heightKey(tagUndo, height))
	delete(e.pendingRecs, height)
	e.del(heightKey(tagBlock, height))
	delete(e.times, height)
	if e.params.BIP34Height == height {
		e.bip34Hash = nil
	}
	e.totals = prev.Totals
	e.state.TipHeight, e.state.TipHash = height-1, prev.Hash
	if e.state.NonBIP34Height == height {
		// It was the lowest such block and the tip: none remain.
		e.state.NonBIP34Height = 0
	}
	e.sinceFlush++
	stats := rec.Stats
	if change != nil {
		e.cfg.OnBlock(change)
	}
	if err := e.maybeFlush(); err != nil {
		return nil, err
	}
	return &stats, nil
}
