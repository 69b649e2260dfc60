package utxo

import "errors"

// acctCache caches script-hash counters for update. A block finds each
// counter once, in pass 1, by script hash; pass 2 and the transaction
// counting then work on slot numbers, with no map lookups. The slots are a
// plain slice and the map holds no pointers, so the garbage collector does
// not scan either.
type acctCache struct {
	idx  map[[32]byte]int32
	list []acctEntry
}

type acctEntry struct {
	sh      [32]byte
	s       AddrStats
	touched int32 // height of the last block that loaded or changed it, for eviction
	dirty   bool
}

// acctEntryBytes estimates one cached counter's memory: the slot, and the
// map entry with its share of the table.
const acctEntryBytes = 160

func newAcctCache() acctCache { return acctCache{idx: make(map[[32]byte]int32)} }

func (a *acctCache) bytes() int64 { return int64(len(a.list)) * acctEntryBytes }

// loadAcct returns the slot of the script hash's counters, reading them from
// the store if they are not cached, so later updates need no I/O.
func (e *Engine) loadAcct(sh *[32]byte) (int32, error) {
	a := &e.accts
	if i, ok := a.idx[*sh]; ok {
		a.list[i].touched = e.cx.height
		return i, nil
	}
	ent := acctEntry{sh: *sh, touched: e.cx.height}
	raw, err := e.db.Get(addrStatsKey(sh))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if ent.s, err = decodeAddrStats(raw); err != nil {
			return 0, corruptf("%v", err)
		}
	}
	i := int32(len(a.list))
	a.list = append(a.list, ent)
	a.idx[*sh] = i
	return i, nil
}

// fund counts an output of value v added for slot i (or removed, with
// sign -1, when a block is disconnected).
func (a *acctCache) fund(i int32, v int64, sign int) {
	e := &a.list[i]
	if sign > 0 {
		e.s.FundedCount++
		e.s.FundedSum += uint64(v)
	} else {
		e.s.FundedCount--
		e.s.FundedSum -= uint64(v)
	}
	e.dirty = true
}

// spend counts an output of value v spent from slot i (or unspent, with
// sign -1).
func (a *acctCache) spend(i int32, v int64, sign int) {
	e := &a.list[i]
	if sign > 0 {
		e.s.SpentCount++
		e.s.SpentSum += uint64(v)
	} else {
		e.s.SpentCount--
		e.s.SpentSum -= uint64(v)
	}
	e.dirty = true
}

// countTx adds sign to the transaction count of each distinct slot a
// transaction touched. slots is reordered.
func (a *acctCache) countTx(slots []int32, sign int) {
	for k, i := range slots {
		dup := false
		// Transactions touch a handful of scripts; consolidations and batch
		// payouts a few hundred, where the quadratic scan still costs less
		// than hashing into a set.
		for _, j := range slots[:k] {
			if j == i {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		e := &a.list[i]
		if sign > 0 {
			e.s.TxCount++
		} else {
			e.s.TxCount--
		}
		e.dirty = true
	}
}

// clean marks every counter as written.
func (a *acctCache) clean() {
	for i := range a.list {
		a.list[i].dirty = false
	}
}

// reset drops every counter, keeping the map's table for reuse.
func (a *acctCache) reset() {
	clear(a.idx)
	a.list = a.list[:0]
}

// keep drops the counters last touched below height from, rebuilding the
// map (a Go map never shrinks) and the slice.
func (a *acctCache) keep(from int32) {
	var list []acctEntry
	for _, ent := range a.list {
		if ent.touched >= from {
			list = append(list, ent)
		}
	}
	a.list = list
	a.idx = make(map[[32]byte]int32, len(list))
	for i := range list {
		a.idx[list[i].sh] = int32(i)
	}
}
