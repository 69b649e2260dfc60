package utxo

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// connectScratch is per-block working memory, reused across blocks.
type connectScratch struct {
	height   int32 // of the block being connected or disconnected
	keyBuf   [72]byte
	spentSet map[Outpoint]struct{}
	created  map[Outpoint]outRef
	spends   []spendRec
	outAccts []int32 // counter slots of the outputs added, in order
	undo     undoBuilder
	vouts    []uint32
	undoOps  []Outpoint
	undoCns  []Coin
	txAccts  []int32
}

// outRef locates an output created earlier in the block being connected.
type outRef struct{ tx, out int32 }

// spendRec is one input of the block: the coin it spends and the slot of
// its script hash's counters. The coin's script aliases the cache arena or
// the block.
type spendRec struct {
	op   Outpoint
	coin Coin
	acct int32
}

func (cx *connectScratch) reset() {
	if cx.spentSet == nil {
		cx.spentSet = make(map[Outpoint]struct{})
		cx.created = make(map[Outpoint]outRef)
	}
	clear(cx.spentSet)
	clear(cx.created)
	cx.spends = cx.spends[:0]
	cx.outAccts = cx.outAccts[:0]
	cx.undo.reset()
}

// Connect validates b against the set and, if it is valid, applies it:
// spends its inputs, adds its outputs, records undo data, statistics and
// headers, and updates MuHash. A block that breaks a rule is rejected with
// a RuleError and leaves the set exactly as it was.
//
// The change is durable after the next flush (Flush, Close, or an automatic
// flush when the cache budget or flush interval is reached).
func (e *Engine) Connect(b *Block) (*BlockStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usable(); err != nil {
		return nil, err
	}
	height, err := e.nextHeight(b)
	if err != nil {
		return nil, err
	}
	if err := CheckBlock(b, e.params, height); err != nil {
		return nil, err
	}
	stats, err := e.connect(b, height)
	if err != nil {
		return nil, err
	}
	if err := e.maybeFlush(); err != nil {
		return nil, err
	}
	return stats, nil
}

// usable reports whether the engine can take work.
func (e *Engine) usable() error {
	if e.closed {
		return ErrClosed
	}
	if e.failed != nil {
		return fmt.Errorf("utxo: engine stopped after an earlier failure: %w", e.failed)
	}
	if e.loading != nil {
		return e.loading.incomplete()
	}
	return nil
}

// nextHeight checks that b extends the tip and returns its height.
func (e *Engine) nextHeight(b *Block) (int32, error) {
	if !e.state.HasTip {
		if b.Hash != *e.params.Chain.GenesisHash {
			return 0, ruleError(ErrBadGenesis, "first block %s is not the %s genesis block %s",
				b.Hash, e.params.Name, e.params.Chain.GenesisHash)
		}
		return 0, nil
	}
	if b.Header.PrevBlock != e.state.TipHash {
		return 0, ruleError(ErrPrevBlockMismatch, "block %s extends %s, the tip is %s at height %d",
			b.Hash, b.Header.PrevBlock, e.state.TipHash, e.state.TipHeight)
	}
	return e.state.TipHeight + 1, nil
}

// enforceBIP30 is Core's rule for when to look up every new output: always,
// except in the two historical repeat blocks and, once BIP34 is active on
// this chain (the block at BIP34Height has BIP34Hash), below the height
// where BIP34 stops implying BIP30.
//
// It also skips the lookups where they provably find nothing: if every
// coinbase from height 1 up to this block starts with its own BIP34 height
// push, no two coinbases are equal, so no transaction can be repeated at
// all (a repeated non-coinbase transaction needs repeated inputs). Core's
// regtest and signet always look, and would find nothing; skipping saves
// a store lookup per output and changes no outcome.
func (e *Engine) enforceBIP30(b *Block, height int32) bool {
	p := e.params
	if h, ok := p.BIP30Repeat[height]; ok && h == b.Hash {
		return false
	}
	if e.state.NonBIP34Height == 0 && hasBIP34Push(b.Txs[0].TxIn[0].SignatureScript, height) {
		return false
	}
	if height >= bip34ImpliesBIP30Limit || p.BIP34Hash == (chainhash.Hash{}) || height <= p.BIP34Height {
		return true
	}
	if e.bip34Hash == nil {
		hdr, err := e.header(p.BIP34Height)
		if err != nil {
			return true // unknown ancestry (a seeded store): check, to be safe
		}
		h := hdr.BlockHash()
		e.bip34Hash = &h
	}
	return *e.bip34Hash != p.BIP34Hash
}

// connect applies a block that passed CheckBlock at height.
func (e *Engine) connect(b *Block, height int32) (*BlockStats, error) {
	p := e.params
	cx := &e.cx
	cx.reset()
	cx.height = height
	blockTime := uint32(b.Header.Timestamp.Unix())
	genesis := height == 0 && b.Hash == *p.Chain.GenesisHash
	skipCoinbase := false
	if h, ok := p.BIP30Unspendable[height]; ok && h == b.Hash {
		skipCoinbase = true
	}
	subsidy := p.Subsidy(height)
	stats := BlockStats{Height: height, Hash: b.Hash, Time: blockTime, Size: uint32(b.Size),
		Weight: uint32(b.Weight()), Txs: uint32(len(b.Txs)), Subsidy: subsidy}

	// Pass 1 reads and checks everything and changes nothing but clean
	// cache entries, so a rejected block leaves the set untouched.
	if !genesis {
		if err := e.checkInputs(b, height, blockTime, skipCoinbase, &stats); err != nil {
			return nil, err
		}
	}
	// Pass 2 applies the block. It does no I/O and cannot fail.
	rec := &BlockRecord{Hash: b.Hash, Totals: e.totals}
	t := &rec.Totals
	t.TotalSubsidy += subsidy
	job := &hashJob{rec: rec}
	if genesis {
		// Core never adds the genesis coinbase: it is unspendable.
		t.UnspendableGenesis += subsidy
		t.TotalUnspendable += subsidy
		for _, out := range b.Txs[0].TxOut {
			stats.Outputs++
			stats.CoinbaseAmount += out.Value
		}
	} else {
		e.apply(b, height, skipCoinbase, subsidy, t, job, &stats)
	}
	// Whatever the block's coins did not account for, the miner left
	// unclaimed, and it is unspendable (coinstatsindex.cpp).
	unclaimed := (t.TotalPrevoutSpent + t.TotalSubsidy) -
		(t.TotalNewOutputsExCoinbase + t.TotalCoinbase + t.TotalUnspendable)
	t.TotalUnspendable += unclaimed
	t.UnspendableUnclaimed += unclaimed
	rec.Stats = stats

	var hb bytes.Buffer
	_ = b.Header.Serialize(&hb)
	e.put(heightKey(tagHeader, height), hb.Bytes())
	e.put(hashHeightKey(&b.Hash), binary.BigEndian.AppendUint32(nil, uint32(height)))
	if !genesis {
		e.put(heightKey(tagUndo, height), cx.undo.bytes())
		if d := e.cfg.UndoDepth; d > 0 && height-d > e.state.BaseHeight {
			e.del(heightKey(tagUndo, height-d))
		}
	}
	e.setRecord(height, rec)
	e.hasher.submit(job)
	if height > 0 && e.state.NonBIP34Height == 0 && !hasBIP34Push(b.Txs[0].TxIn[0].SignatureScript, height) {
		e.state.NonBIP34Height = height
	}
	e.totals = *t
	e.state.HasTip, e.state.TipHeight, e.state.TipHash = true, height, b.Hash
	e.times[height] = blockTime
	e.sinceFlush++
	if e.cfg.OnBlock != nil {
		ch := &BlockChange{Connected: true, Height: height, Hash: b.Hash, Header: b.Header, Txs: uint32(len(b.Txs))}
		if !genesis {
			ch = e.connectChange(b, height, skipCoinbase)
		}
		e.cfg.OnBlock(ch)
	}
	out := stats
	return &out, nil
}

// checkInputs is pass 1: it finds every spent coin (in the set or created
// earlier in the block), checks maturity, amounts, fees, the coinbase value
// and BIP30, computes coin-days destroyed, loads the script-hash counters
// pass 2 will update, and optionally verifies scripts.
func (e *Engine) checkInputs(b *Block, height int32, blockTime uint32, skipCoinbase bool, st *BlockStats) error {
	p := e.params
	cx := &e.cx
	bip30 := e.enforceBIP30(b, height)
	maturity := int32(p.Chain.CoinbaseMaturity)
	var fees int64
	for i, tx := range b.Txs {
		txid := &b.TxIDs[i]
		if i > 0 {
			var in int64
			for j, txin := range tx.TxIn {
				op := Outpoint{txin.PreviousOutPoint.Hash, txin.PreviousOutPoint.Index}
				if _, dup := cx.spentSet[op]; dup {
					return ruleError(ErrMissingInput, "transaction %d input %d spends %s, already spent in this block", i, j, op)
				}
				var coin Coin
				if ref, ok := cx.created[op]; ok {
					out := b.Txs[ref.tx].TxOut[ref.out]
					coin = Coin{Value: out.Value, Script: out.PkScript, Height: height, Coinbase: ref.tx == 0}
				} else {
					c, ok, err := e.fetchCoin(&op)
					if err != nil {
						return err
					}
					if !ok {
						return ruleError(ErrMissingInput, "transaction %d input %d spends %s, which is not in the set", i, j, op)
					}
					coin = c
				}
				if coin.Coinbase && height-coin.Height < maturity {
					return ruleError(ErrImmatureSpend, "transaction %d input %d spends the coinbase of height %d at height %d",
						i, j, coin.Height, height)
				}
				in += coin.Value
				if in > MaxMoney {
					return ruleError(ErrInputValueOutOfRange, "transaction %d inputs total more than 21M BTC", i)
				}
				cx.spentSet[op] = struct{}{}
				sh := scriptHash(coin.Script)
				slot, err := e.loadAcct(&sh)
				if err != nil {
					return err
				}
				rec := spendRec{op: op, coin: coin, acct: slot}
				if ct, ok := e.blockTime(coin.Height); ok && blockTime > ct {
					st.CoinDaysDestroyed = st.CoinDaysDestroyed.Add(mulU64(uint64(coin.Value), uint64(blockTime-ct)))
				}
				cx.spends = append(cx.spends, rec)
			}
			out := txOutSum(tx)
			if in < out {
				return ruleError(ErrSpendTooHigh, "transaction %d (%s) spends %d but its inputs hold %d", i, txid, out, in)
			}
			fees += in - out
			if fees > MaxMoney {
				return ruleError(ErrInputValueOutOfRange, "block fees exceed 21M BTC")
			}
			st.Inputs += uint32(len(tx.TxIn))
			st.InAmount += in
			st.OutAmount += out
		}
		if i == 0 && skipCoinbase {
			continue
		}
		for j, out := range tx.TxOut {
			op := Outpoint{*txid, uint32(j)}
			if bip30 {
				have, err := e.haveCoin(&op)
				if err != nil {
					return err
				}
				if have {
					return ruleError(ErrOverwriteTx, "transaction %d (%s) would overwrite the unspent output %s", i, txid, op)
				}
			}
			if IsUnspendable(out.PkScript) {
				continue
			}
			cx.created[op] = outRef{int32(i), int32(j)}
			sh := scriptHash(out.PkScript)
			slot, err := e.loadAcct(&sh)
			if err != nil {
				return err
			}
			cx.outAccts = append(cx.outAccts, slot)
		}
	}
	st.Fees = fees
	cb := txOutSum(b.Txs[0])
	if limit := p.Subsidy(height) + fees; cb > limit {
		return ruleError(ErrBadCoinbaseValue, "coinbase pays %d, more than subsidy plus fees %d", cb, limit)
	}
	if e.cfg.ValidateScripts {
		return e.verifyScripts(b, height)
	}
	return nil
}

// verifyScripts gathers each transaction's prevouts from pass 1's spends
// and runs the script interpreter.
func (e *Engine) verifyScripts(b *Block, height int32) error {
	prevouts := make([][]*wire.TxOut, len(b.Txs))
	k := 0
	for i := 1; i < len(b.Txs); i++ {
		prevouts[i] = make([]*wire.TxOut, len(b.Txs[i].TxIn))
		for j := range prevouts[i] {
			s := &e.cx.spends[k]
			prevouts[i][j] = &wire.TxOut{Value: s.coin.Value, PkScript: s.coin.Script}
			k++
		}
	}
	return verifyScripts(b, prevouts, e.params.scriptFlags(b, height), e.cfg.Workers)
}

// hasBIP34Push reports whether a coinbase script starts with height pushed
// the way Core's BIP34 check builds it (CScript() << nHeight: OP_0, OP_1 to
// OP_16, or a minimal push of the CScriptNum).
func hasBIP34Push(script []byte, height int32) bool {
	var want []byte
	switch {
	case height == 0:
		want = []byte{0x00}
	case height <= 16:
		want = []byte{0x50 + byte(height)}
	default:
		var num []byte
		for v := uint32(height); v > 0; v >>= 8 {
			num = append(num, byte(v))
		}
		if num[len(num)-1]&0x80 != 0 {
			num = append(num, 0) // keep the number positive
		}
		want = append([]byte{byte(len(num))}, num...)
	}
	return bytes.HasPrefix(script, want)
}

func txOutSum(tx *wire.MsgTx) int64 {
	var s int64
	for _, o := range tx.TxOut {
		s += o.Value
	}
	return s
}

// apply is pass 2: it moves the block's coins in the cache, builds the undo
// record and the MuHash job, and updates totals and script-hash counters.
func (e *Engine) apply(b *Block, height int32, skipCoinbase bool, subsidy int64, t *SetTotals, job *hashJob, st *BlockStats) {
	cx := &e.cx
	k, o := 0, 0
	for i, tx := range b.Txs {
		txid := &b.TxIDs[i]
		cx.vouts, cx.undoOps, cx.undoCns, cx.txAccts = cx.vouts[:0], cx.undoOps[:0], cx.undoCns[:0], cx.txAccts[:0]
		if i > 0 {
			for range tx.TxIn {
				s := &cx.spends[k]
				k++
				e.cache.spend(&s.op)
				cx.undoOps = append(cx.undoOps, s.op)
				cx.undoCns = append(cx.undoCns, s.coin)
				job.remove.appendCoin(&s.op, &s.coin)
				e.accts.spend(s.acct, s.coin.Value, 1)
				cx.txAccts = append(cx.txAccts, s.acct)
				v := s.coin.Value
				t.TotalPrevoutSpent += v
				t.TxOuts--
				t.TotalAmount -= v
				t.BogoSize -= bogoSize(len(s.coin.Script))
				st.SetSpent++
			}
		}
		for _, out := range tx.TxOut {
			st.Outputs++
			if i == 0 {
				st.CoinbaseAmount += out.Value
			}
		}
		if i == 0 && skipCoinbase {
			// Core counts the subsidy, not the outputs, as unspendable.
			t.UnspendableBIP30 += subsidy
			t.TotalUnspendable += subsidy
			cx.undo.addTx(txid, nil, nil, nil)
			continue
		}
		for j, out := range tx.TxOut {
			v := out.Value
			if IsUnspendable(out.PkScript) {
				t.UnspendableScripts += v
				t.TotalUnspendable += v
				continue
			}
			op := Outpoint{*txid, uint32(j)}
			coin := Coin{Value: v, Script: out.PkScript, Height: height, Coinbase: i == 0}
			e.cache.add(&op, &coin)
			cx.vouts = append(cx.vouts, uint32(j))
			job.add.appendCoin(&op, &coin)
			slot := cx.outAccts[o]
			o++
			e.accts.fund(slot, v, 1)
			cx.txAccts = append(cx.txAccts, slot)
			if i == 0 {
				t.TotalCoinbase += v
			} else {
				t.TotalNewOutputsExCoinbase += v
			}
			t.TxOuts++
			t.TotalAmount += v
			t.BogoSize += bogoSize(len(out.PkScript))
			st.SetAdded++
		}
		cx.undo.addTx(txid, cx.vouts, cx.undoOps, cx.undoCns)
		e.accts.countTx(cx.txAccts, 1)
	}
}
