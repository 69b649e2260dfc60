package chaingen

import (
	"math"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

type txKind uint8

const (
	kindNormal txKind = iota
	kindConsolidation
	kindBatch
)

// prevOut is a spent coin plus where its txid will come from.
type prevOut struct {
	coin   coin
	parent int32 // index in blockBuilder.plans of the creating tx, or -1
}

// dest is a planned spendable output.
type dest struct {
	key   uint32
	typ   ScriptType
	value int64
}

// txPlan is a transaction chosen by the sequential builder and completed
// (signed, hashed) by a signing goroutine.
type txPlan struct {
	tx      *wire.MsgTx
	ins     []prevOut
	witness bool // has at least one witness input
	done    chan struct{}
	// Filled in by the signer.
	txid, wtxid     chainhash.Hash
	size, stripSize int
	err             error
}

// blockBuilder chooses the transactions of one block. Everything here runs
// on one goroutine and consumes the generator's PRNG in a fixed order.
type blockBuilder struct {
	g         *Generator
	height    int32
	active    bool   // segwit/taproot rules apply
	firstTx   uint32 // global index of this block's coinbase
	poolStart int    // first wallet index created in this block
	window    int
	plans     []*txPlan
	weight    int64 // upper bound of the transactions' weight
	sigops    int
	fees      int64
}

// pickWeighted returns an index drawn with probability proportional to ws.
func pickWeighted(g *Generator, ws []float64) int {
	total := 0.0
	for _, w := range ws {
		total += w
	}
	r := g.rng.Float64() * total
	for i, w := range ws {
		if r < w {
			return i
		}
		r -= w
	}
	return len(ws) - 1
}

// pickDest chooses the key and script type of a new output.
func (b *blockBuilder) pickDest() dest {
	g, cfg := b.g, &b.g.cfg
	if len(cfg.Hot) > 0 && g.rng.Float64() < cfg.HotShare {
		h := cfg.Hot[pickWeighted(g, g.hotWeights)]
		if b.active || h.Type.Legacy() {
			return dest{key: h.KeyIndex, typ: h.Type}
		}
	}
	key := uint32(len(cfg.Hot) + g.rng.IntN(cfg.KeyPoolSize-len(cfg.Hot)))
	return dest{key: key, typ: b.pickType()}
}

// exchangeDest is where batch change goes: the first hot address (the
// "exchange"), when usable at this height.
func (b *blockBuilder) exchangeDest() dest {
	cfg := &b.g.cfg
	if len(cfg.Hot) > 0 && (b.active || cfg.Hot[0].Type.Legacy()) {
		return dest{key: cfg.Hot[0].KeyIndex, typ: cfg.Hot[0].Type}
	}
	return b.pickDest()
}

func (b *blockBuilder) pickType() ScriptType {
	g, cfg := b.g, &b.g.cfg
	m := cfg.Mix
	if !b.active {
		if g.rng.Float64()*(m.P2PKH+m.P2SH) < m.P2PKH {
			return ScriptP2PKH
		}
		if g.rng.IntN(2) == 0 {
			return ScriptP2SHP2PK
		}
		return ScriptP2SHMultisig
	}
	switch pickWeighted(g, []float64{m.P2WPKH, m.P2TR, m.P2PKH, m.P2SH, m.P2WSH}) {
	case 0:
		return ScriptP2WPKH
	case 1:
		return ScriptP2TR
	case 2:
		return ScriptP2PKH
	case 3:
		if g.rng.Float64() < cfg.P2SHWrappedShare {
			return ScriptP2SHP2WPKH
		}
		if g.rng.IntN(2) == 0 {
			return ScriptP2SHP2PK
		}
		return ScriptP2SHMultisig
	default:
		if g.rng.Float64() < cfg.P2WSHMultisigShare {
			return ScriptP2WSHMultisig
		}
		return ScriptP2WSHP2PK
	}
}

// drawCoin selects (without taking) one input candidate according to the
// configured mix of in-block, old (uniform over all unspent) and recent (the
// window of coins created just before this block) spends. It returns the
// wallet index, or -1, and whether the uniform ("old") path supplied it.
func (b *blockBuilder) drawCoin(legacyOK bool) (int, bool) {
	g, cfg, w := b.g, &b.g.cfg, &b.g.wallet
	n := len(w.coins)
	r := g.rng.Float64()
	i, old := -1, false
	switch {
	case r < cfg.InBlockSpendRate:
		i = w.pickIn(g.rng, b.poolStart, n, 8, legacyOK)
	case r < cfg.InBlockSpendRate+cfg.OldSpendRate:
		i = w.pickIn(g.rng, 0, n, 32, legacyOK)
		old = i >= 0
	}
	if i < 0 {
		// The recent window ends where this block starts, so in-block spends
		// happen only at the configured rate.
		i = w.pickIn(g.rng, max(0, b.poolStart-b.window), b.poolStart, 16, legacyOK)
	}
	if i < 0 {
		i = w.pickIn(g.rng, 0, n, 32, legacyOK)
	}
	if i < 0 {
		i = w.scan(g.rng, legacyOK)
	}
	return i, old
}

// Coin preferences for pickCoin: like a wallet's coin selection, inputs
// added to fund a payment favour large coins and consolidations favour small
// ones. Without this, value fragments into coins too small to pay their own
// fee and every transaction needs several extra inputs (extra signatures).
const (
	preferAny     = 0
	preferLarge   = 4  // largest of 4 candidates
	preferLargest = 16 // largest of 16 candidates
	preferSmall   = -2
)

// pickCoin takes one input: the best of |pref| candidates (largest if pref
// > 0, smallest if < 0). It returns the wallet index, or -1, and whether the
// chosen coin came from the uniform ("old") path.
func (b *blockBuilder) pickCoin(legacyOK bool, pref int) (int, bool) {
	w := &b.g.wallet
	best, bestOld := b.drawCoin(legacyOK)
	if best < 0 {
		return -1, false
	}
	for range max(pref, -pref) - 1 {
		i, old := b.drawCoin(legacyOK)
		if i < 0 || i == best {
			continue
		}
		if v, bv := w.coins[i].value, w.coins[best].value; (pref > 0 && v > bv) || (pref < 0 && v < bv) {
			best, bestOld = i, old
		}
	}
	w.take(best)
	return best, bestOld
}

// txDraft accumulates a transaction's inputs while it is being funded.
type txDraft struct {
	b       *blockBuilder
	idx     []int // wallet indexes taken
	oldUsed int
	total   int64
	inW     int64
	legacy  int
	witness bool
}

func (d *txDraft) add(legacyOK bool, pref int) bool {
	// Cap legacy inputs per transaction: each one hashes the whole
	// transaction for its sighash, so many of them cost O(n^2).
	i, old := d.b.pickCoin(legacyOK && d.legacy < maxLegacyInputs, pref)
	if i < 0 {
		return false
	}
	d.use(i, old)
	return true
}

// use records the taken coin i as an input.
func (d *txDraft) use(i int, old bool) {
	c := &d.b.g.wallet.coins[i]
	d.idx = append(d.idx, i)
	d.total += c.value
	d.inW += inputWeight(c.typ)
	if c.typ.Legacy() {
		d.legacy++
	} else {
		d.witness = true
	}
	if old {
		d.oldUsed++
	}
}

func (d *txDraft) abandon() {
	for _, i := range d.idx {
		d.b.g.wallet.untake(i)
	}
}

// weight is the upper bound of the transaction weight with the given
// outputs (nullData < 0 means no OP_RETURN output).
func (d *txDraft) weight(outs []dest, nullData int) int64 {
	nOut := len(outs)
	w := d.inW
	for _, o := range outs {
		w += outputWeight(o.typ)
	}
	if nullData >= 0 {
		nOut++
		w += nullDataWeight(nullData)
	}
	w += 4 * (4 + 4 + varIntLen(len(d.idx)) + varIntLen(nOut))
	if d.witness {
		w += 2
	}
	return w
}

// buildTx plans one transaction, or returns nil if the wallet could not fund
// the chosen shape.
func (b *blockBuilder) buildTx() *txPlan {
	g, cfg := b.g, &b.g.cfg
	kind := kindNormal
	r := g.rng.Float64()
	if b.active && r < cfg.ConsolidationRate {
		kind = kindConsolidation
	} else if r >= cfg.ConsolidationRate && r < cfg.ConsolidationRate+cfg.BatchRate {
		kind = kindBatch
	}
	rate := cfg.FeeRate[0] + g.rng.Int64N(cfg.FeeRate[1]-cfg.FeeRate[0]+1)
	nullData, burn := -1, int64(0)
	if kind != kindConsolidation && g.rng.Float64() < cfg.OpReturnRate {
		nullData = 4 + g.rng.IntN(maxOpReturnData-3)
		if g.rng.Float64() < cfg.OpReturnValueRate {
			burn = 1 + g.rng.Int64N(999)
		}
	}
	d := &txDraft{b: b}
	var outs []dest
	var ok bool
	switch kind {
	case kindConsolidation:
		outs, ok = b.fundConsolidation(d, rate)
	case kindBatch:
		outs, ok = b.fundBatch(d, rate, nullData, burn)
	default:
		outs, ok = b.fundNormal(d, rate, nullData, burn)
	}
	if !ok {
		d.abandon()
		return nil
	}
	return b.commit(d, kind, outs, rate, nullData, burn)
}

// split distributes avail over outs (each at least MinOutputValue) with
// random weights, giving the rounding remainder to the last output.
func (b *blockBuilder) split(outs []dest, avail int64) {
	g, minV := b.g, b.g.cfg.MinOutputValue
	extra := avail - int64(len(outs))*minV
	ws := make([]float64, len(outs))
	sum := 0.0
	for i := range ws {
		ws[i] = 0.05 + g.rng.Float64()
		sum += ws[i]
	}
	var used int64
	for i := range outs {
		if i == len(outs)-1 {
			outs[i].value = avail - used
			break
		}
		outs[i].value = minV + int64(float64(extra)*ws[i]/sum)
		used += outs[i].value
	}
}

func (b *blockBuilder) fundNormal(d *txDraft, rate int64, nullData int, burn int64) ([]dest, bool) {
	g, cfg := b.g, &b.g.cfg
	nIn := 1 + pickWeighted(g, cfg.InputWeights[:])
	nPay := 1 + pickWeighted(g, cfg.OutputWeights[:])
	outs := make([]dest, nPay)
	for i := range outs {
		outs[i] = b.pickDest()
	}
	for range nIn {
		if !d.add(true, preferAny) {
			break
		}
	}
	if len(d.idx) == 0 {
		return nil, false
	}
	for {
		avail := d.total - feeFor(d.weight(outs, nullData), rate) - burn
		if avail >= int64(len(outs))*cfg.MinOutputValue {
			b.split(outs, avail)
			return outs, true
		}
		// Not enough value: add inputs first, then fewer outputs.
		if len(d.idx) < maxNormalInputs && d.add(true, preferLarge) {
			continue
		}
		if len(outs) > 1 {
			outs = outs[:len(outs)-1]
			continue
		}
		return nil, false
	}
}

func (b *blockBuilder) fundBatch(d *txDraft, rate int64, nullData int, burn int64) ([]dest, bool) {
	g, cfg := b.g, &b.g.cfg
	minV := cfg.MinOutputValue
	nPay := cfg.BatchOutputs[0] + g.rng.IntN(cfg.BatchOutputs[1]-cfg.BatchOutputs[0]+1)
	lo, hi := cfg.BatchPayout[0], cfg.BatchPayout[1]
	spread := math.Log(float64(hi) / float64(lo))
	outs := make([]dest, nPay+1) // payouts, then change
	var pay int64
	for i := range nPay {
		outs[i] = b.pickDest()
		outs[i].value = int64(float64(lo) * math.Exp(g.rng.Float64()*spread))
		pay += outs[i].value
	}
	outs[nPay] = b.exchangeDest()
	w := &g.wallet
	if a := w.anchorCoin(); a >= 0 && (b.active || w.coins[a].typ.Legacy()) {
		w.take(a)
		d.use(a, false)
	}
	for {
		avail := d.total - feeFor(d.weight(outs, nullData), rate) - burn
		change := avail - pay
		if len(d.idx) > 0 && change >= minV {
			outs[len(outs)-1].value = change
			return outs, true
		}
		if len(d.idx) < maxBatchInputs && d.add(true, preferLargest) {
			continue
		}
		if len(outs) > 2 && len(d.idx) > 0 {
			// Out of inputs: pay fewer recipients.
			pay -= outs[len(outs)-2].value
			outs = append(outs[:len(outs)-2], outs[len(outs)-1])
			continue
		}
		return nil, false
	}
}

func (b *blockBuilder) fundConsolidation(d *txDraft, rate int64) ([]dest, bool) {
	g, cfg := b.g, &b.g.cfg
	span := cfg.ConsolidationInputs[1] - cfg.ConsolidationInputs[0]
	nIn := cfg.ConsolidationInputs[0] + g.rng.IntN(span+1)
	outs := []dest{b.pickDest()}
	for range nIn {
		// Segwit/taproot inputs only: legacy sighash is quadratic.
		if !d.add(false, preferSmall) {
			break
		}
	}
	if len(d.idx) < 2 {
		return nil, false
	}
	for {
		avail := d.total - feeFor(d.weight(outs, -1), rate)
		if avail >= cfg.MinOutputValue {
			outs[0].value = avail
			return outs, true
		}
		if len(d.idx) < nIn+extraConsolidationIns && d.add(false, preferLarge) {
			continue
		}
		return nil, false
	}
}

// commit turns a funded draft into a transaction plan, registers its outputs
// in the wallet (spendable by later transactions of this block) and updates
// the block budgets and statistics.
func (b *blockBuilder) commit(d *txDraft, kind txKind, outs []dest, rate int64, nullData int, burn int64) *txPlan {
	g, w := b.g, &b.g.wallet
	global := b.firstTx + 1 + uint32(len(b.plans))
	tx := wire.NewMsgTx(2)
	if g.rng.IntN(8) == 0 {
		tx.Version = 1
	}
	seq := uint32(wire.MaxTxInSequenceNum)
	if g.rng.IntN(10) < 6 {
		// Anti-fee-sniping like Bitcoin Core: final at this height only.
		tx.LockTime = uint32(b.height - 1)
		seq = wire.MaxTxInSequenceNum - 2
	}
	p := &txPlan{tx: tx, ins: make([]prevOut, len(d.idx)), witness: d.witness, done: make(chan struct{})}
	st := &g.stats
	var in int64
	sigops := 0
	for k, i := range d.idx {
		c := w.coins[i]
		po := prevOut{coin: c, parent: -1}
		op := wire.OutPoint{Index: c.vout}
		if c.tx > b.firstTx {
			po.parent = int32(c.tx - b.firstTx - 1)
			st.inBlock++
		} else {
			op.Hash = g.txids[c.tx]
		}
		p.ins[k] = po
		tx.TxIn = append(tx.TxIn, &wire.TxIn{PreviousOutPoint: op, Sequence: seq})
		in += c.value
		sigops += inputSigops(c.typ)
		st.inByType[c.typ]++
	}
	st.old += d.oldUsed
	var out int64
	ndPos := -1
	if nullData >= 0 {
		ndPos = len(outs)
		if g.rng.IntN(2) == 0 {
			ndPos = 0
		}
	}
	for k, o := range outs {
		if len(tx.TxOut) == ndPos {
			tx.TxOut = append(tx.TxOut, b.nullDataOut(nullData, burn))
		}
		if kind == kindBatch && k == len(outs)-1 {
			w.anchor = len(w.coins) + 1 // the change, spent by the next batch
		}
		w.add(coin{tx: global, vout: uint32(len(tx.TxOut)), value: o.value, key: o.key, height: b.height, typ: o.typ})
		tx.TxOut = append(tx.TxOut, wire.NewTxOut(o.value, cloneBytes(g.keys.keys[o.key].scripts[o.typ].PkScript)))
		out += o.value
		sigops += outputSigops(o.typ)
		st.outByType[o.typ]++
	}
	if len(tx.TxOut) == ndPos {
		tx.TxOut = append(tx.TxOut, b.nullDataOut(nullData, burn))
	}
	if nullData >= 0 {
		out += burn
		st.outByType[ScriptNullData]++
		st.burned += burn
	}
	fee := in - out
	b.plans = append(b.plans, p)
	b.weight += d.weight(outs, nullData)
	b.sigops += sigops
	b.fees += fee
	st.txs++
	st.inputs += len(tx.TxIn)
	st.outputs += len(tx.TxOut)
	if d.witness {
		st.witnessTxs++
	}
	switch kind {
	case kindConsolidation:
		st.consolidations++
	case kindBatch:
		st.batches++
	}
	if len(tx.TxIn) <= 3 && len(outs) == 2 {
		st.typical++
	}
	return p
}

func (b *blockBuilder) nullDataOut(n int, burn int64) *wire.TxOut {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(b.g.rng.Uint32())
	}
	script := make([]byte, 0, 2+n)
	script = append(script, txscript.OP_RETURN, byte(n)) // n <= 75: direct push
	return wire.NewTxOut(burn, append(script, data...))
}

func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }
