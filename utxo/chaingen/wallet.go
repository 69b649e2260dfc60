package chaingen

import "math/rand/v2"

const (
	flagSpent uint8 = 1 << iota
	flagCoinbase
)

// coin is one output the generator can spend. It is kept small (32 bytes)
// because the bench profile holds several million of them; the outpoint's
// txid lives in Generator.txids, indexed by tx, so coins created in the
// block being built can be referenced before their txid is known.
type coin struct {
	tx     uint32 // global transaction index (coinbases included)
	vout   uint32
	value  int64
	key    uint32
	height int32
	typ    ScriptType
	flags  uint8
}

func (c *coin) spent() bool { return c.flags&flagSpent != 0 }

// wallet holds the spendable outputs in creation order. Spent entries stay in
// place (tombstones) so that "recent" is simply the tail of the slice and
// picks stay O(1); compact removes them between blocks once they dominate.
type wallet struct {
	coins []coin
	live  int
	// liveSegwit counts live non-legacy coins, so searches for them can give
	// up at once when there are none (before activation).
	liveSegwit int
	// anchor is 1 + the index of the exchange's last batch change output
	// (0: none). Batches spend it first, like an exchange paying
	// withdrawals from its big coin, which keeps them to one or two inputs.
	anchor int
	// immature holds coinbase outputs, in height order, until they reach
	// coinbase maturity.
	immature []coin
}

func (w *wallet) add(c coin) {
	w.coins = append(w.coins, c)
	w.count(&c, 1)
}

func (w *wallet) count(c *coin, delta int) {
	w.live += delta
	if !c.typ.Legacy() {
		w.liveSegwit += delta
	}
}

// take marks coin i spent.
func (w *wallet) take(i int) {
	w.coins[i].flags |= flagSpent
	w.count(&w.coins[i], -1)
}

// untake reverts take, for transactions abandoned while being built.
func (w *wallet) untake(i int) {
	w.coins[i].flags &^= flagSpent
	w.count(&w.coins[i], 1)
}

// anchorCoin returns the index of the unspent batch change coin, or -1.
func (w *wallet) anchorCoin() int {
	if i := w.anchor - 1; i >= 0 && !w.coins[i].spent() {
		return i
	}
	return -1
}

func (w *wallet) usable(i int, legacyOK bool) bool {
	c := &w.coins[i]
	return !c.spent() && (legacyOK || !c.typ.Legacy())
}

// pickIn draws a usable coin index uniformly from [lo, hi) by rejection
// sampling, giving up after tries attempts.
func (w *wallet) pickIn(rng *rand.Rand, lo, hi, tries int, legacyOK bool) int {
	if hi <= lo {
		return -1
	}
	for range tries {
		i := lo + rng.IntN(hi-lo)
		if w.usable(i, legacyOK) {
			return i
		}
	}
	return -1
}

// scan is the fallback when rejection sampling failed: the first usable coin
// at or after a random position (wrapping around), or -1 if there is none.
func (w *wallet) scan(rng *rand.Rand, legacyOK bool) int {
	n := len(w.coins)
	if n == 0 || w.live == 0 || (!legacyOK && w.liveSegwit == 0) {
		return -1
	}
	start := rng.IntN(n)
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		if w.usable(i, legacyOK) {
			return i
		}
	}
	return -1
}

// mature moves coinbase outputs that may be spent at height into the pool.
func (w *wallet) mature(height int32) {
	k := 0
	for k < len(w.immature) && w.immature[k].height+coinbaseMaturity <= height {
		w.add(w.immature[k])
		k++
	}
	if k > 0 {
		w.immature = append(w.immature[:0], w.immature[k:]...)
	}
}

// maybeCompact drops tombstones, preserving creation order, once they
// outnumber live coins; this bounds the rejection rate of uniform picks.
func (w *wallet) maybeCompact() {
	dead := len(w.coins) - w.live
	if dead < 1024 || dead < w.live {
		return
	}
	anchor := w.anchorCoin()
	w.anchor = 0
	j := 0
	for i := range w.coins {
		if !w.coins[i].spent() {
			if i == anchor {
				w.anchor = j + 1
			}
			w.coins[j] = w.coins[i]
			j++
		}
	}
	clear(w.coins[j:])
	w.coins = w.coins[:j]
}
