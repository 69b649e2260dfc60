package snapgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/coresnap"
)

// Config says what to generate. The file is a pure function of it.
type Config struct {
	// Network is written in the header (required).
	Network coresnap.Network
	// BaseHash is written as the base block (required; any value loads,
	// but only a real block's hash makes a snapshot of a real chain).
	BaseHash chainhash.Hash
	// Height is the base height: every coin is at or below it (required,
	// at least 0; the tables describe mainnet 866342 and are scaled to it).
	Height int32
	// Coins is the number of coins (required, at least 1).
	Coins uint64
	// Seed seeds every random choice (optional).
	Seed uint64
}

// ErrConfig is wrapped by the errors of an invalid Config.
var ErrConfig = errors.New("snapgen: invalid config")

func (c *Config) validate() error {
	switch {
	case c.Network == 0:
		return fmt.Errorf("%w: no network", ErrConfig)
	case c.Height < 0:
		return fmt.Errorf("%w: negative base height %d", ErrConfig, c.Height)
	case c.Coins == 0:
		return fmt.Errorf("%w: no coins (Core's loader refuses an empty set)", ErrConfig)
	}
	return nil
}

// Summary describes a generated set.
type Summary struct {
	Coins, Txs, Coinbase uint64
	// Amount is the sum of the values, in satoshi.
	Amount int64
	// ByType counts the coins by script type, in typeNames' order.
	ByType [numTypes]uint64
	// MinHeight and MaxHeight bound the coins' heights.
	MinHeight, MaxHeight int32
	// Reused counts the coins paying a script an earlier coin pays.
	Reused uint64
}

// String prints the summary with the share of each script type.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d coins in %d transactions (%d coinbase), %d.%08d BTC, heights %d..%d\n",
		s.Coins, s.Txs, s.Coinbase, s.Amount/1e8, s.Amount%1e8, s.MinHeight, s.MaxHeight)
	fmt.Fprintf(&b, "  %d coins (%.1f%%) pay a script an earlier coin pays\n", s.Reused, 100*float64(s.Reused)/float64(max(s.Coins, 1)))
	for t := range numTypes {
		fmt.Fprintf(&b, "  %-20s %12d  %6.2f%%\n", t, s.ByType[t], 100*float64(s.ByType[t])/float64(max(s.Coins, 1)))
	}
	return b.String()
}

// Generator produces the coins of a Config in Core's order.
type Generator struct {
	cfg  Config
	rng  *rand.Rand
	left uint64 // coins still to produce
	sum  Summary

	// The current transaction.
	txid     chainhash.Hash
	prefix   uint64 // txid's first 8 bytes, big-endian
	vouts    int    // coins of it still to produce
	vout     uint32
	height   int32
	mHeight  int32 // its mainnet-equivalent height
	coinbase bool

	typeTotals []uint64
	ageTotal   uint64
	outTotal   uint64
	script     []byte
	pools      [numTypes]scriptPool
}

// New returns a generator for cfg.
func New(cfg Config) (*Generator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x736e617067656e)), left: cfg.Coins,
		typeTotals: make([]uint64, len(eraMixes))}
	g.sum.MinHeight = math.MaxInt32
	for i, e := range eraMixes {
		g.typeTotals[i] = sumWeights(e.weights[:])
	}
	for _, b := range ageBins {
		g.ageTotal += b.weight
	}
	for _, o := range outputsPerTx {
		g.outTotal += o.txs
	}
	return g, nil
}

// Summary returns the totals of the coins produced so far.
func (g *Generator) Summary() Summary { return g.sum }

// Next returns the next coin, or false after the last. The coin's script
// is only valid until the next call.
func (g *Generator) Next() (utxo.Outpoint, utxo.Coin, bool) {
	if g.left == 0 {
		return utxo.Outpoint{}, utxo.Coin{}, false
	}
	if g.vouts == 0 {
		g.newTx()
	}
	op := utxo.Outpoint{Hash: g.txid, Index: g.vout}
	c := g.coin()
	g.vouts--
	g.left--
	// Most outputs are consecutive; a gap is an output already spent.
	g.vout += 1 + uint32(g.pick(8, 1))

	s := &g.sum
	s.Coins++
	s.Amount += c.Value
	s.MinHeight, s.MaxHeight = min(s.MinHeight, c.Height), max(s.MaxHeight, c.Height)
	return op, c, true
}

// pick returns 1 with probability num/den, else 0.
func (g *Generator) pick(den, num uint64) uint64 {
	if g.rng.Uint64N(den) < num {
		return 1
	}
	return 0
}

// newTx starts a transaction: its txid, height, coinbase flag and number
// of unspent outputs.
func (g *Generator) newTx() {
	g.advanceTxid()
	g.sum.Txs++
	g.mHeight = g.drawHeight()
	g.height = int32(int64(g.mHeight) * int64(g.cfg.Height) / refHeight)
	g.coinbase = false
	if g.mHeight < earlyHeight {
		g.coinbase = g.pick(1000, earlyCoinbasePermille) == 1
	} else {
		g.coinbase = g.pick(coinbaseOneIn, 1) == 1
	}
	n := 1
	if !g.coinbase {
		x := g.rng.Uint64N(g.outTotal)
		for _, o := range outputsPerTx {
			if x < o.txs {
				n = o.outputs
				break
			}
			x -= o.txs
		}
	} else {
		g.sum.Coinbase++
	}
	g.vouts = int(min(uint64(n), g.left))
	// A spent first output (a payment whose change survives) shifts the
	// vouts up one in three times.
	g.vout = uint32(g.pick(3, 1))
}

// advanceTxid moves the txid prefix on by a random gap whose mean spreads
// the expected remaining transactions over what is left of the 2^64
// range, always leaving room for one distinct prefix per remaining coin.
func (g *Generator) advanceTxid() {
	room := math.MaxUint64 - g.prefix - g.left // prefixes we may skip
	txsLeft := g.left*outputsDen/outputsNum + 1
	gap := uint64(1)
	if mean := room / txsLeft; mean > 0 {
		hi, _ := bits.Mul64(mean, 2)
		span := 2 * mean
		if hi != 0 || span > room {
			span = room
		}
		gap += g.rng.Uint64N(span)
	}
	g.prefix += gap
	var b [8]byte
	for i := range b {
		b[i] = byte(g.prefix >> (56 - 8*i))
	}
	copy(g.txid[:8], b[:])
	g.fill(g.txid[8:])
}

// fill sets b to random bytes.
func (g *Generator) fill(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := g.rng.Uint64()
		for j := i; j < len(b) && j < i+8; j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}

// drawHeight draws a mainnet height from ageBins.
func (g *Generator) drawHeight() int32 {
	x := g.rng.Uint64N(g.ageTotal)
	for _, b := range ageBins {
		if x < b.weight {
			return b.lo + int32(g.rng.Uint64N(uint64(b.hi-b.lo)))
		}
		x -= b.weight
	}
	panic("snapgen: ageBins weights do not add up")
}

// coin makes the current transaction's next coin.
func (g *Generator) coin() utxo.Coin {
	var t scriptType
	var v int64
	if g.coinbase {
		t = p2pkUncmp
		if g.mHeight >= earlyHeight {
			t = g.drawType()
		}
		v = g.coinbaseValue()
	} else {
		t = g.drawType()
		v = g.drawValue(t)
	}
	// The set never holds more than 21M BTC: past that, dust.
	if g.sum.Amount+v > utxo.MaxMoney {
		v = 546
	}
	g.sum.ByType[t]++
	g.script = g.script[:0]
	pool := &g.pools[t]
	if !g.coinbase && len(pool.scripts) > 0 && g.pick(reuseDen, reuseNum) == 1 {
		g.script = append(g.script, pool.draw(g)...)
		g.sum.Reused++
	} else {
		g.script = g.makeScript(g.script, t)
		pool.keep(g.script)
	}
	return utxo.Coin{Value: v, Script: g.script, Height: g.height, Coinbase: g.coinbase}
}

// scriptPool holds scripts already paid, for reuse: the first hotScripts
// ever kept (the exchanges' and pools' addresses that take a large share
// of all payments) and a ring of the latest poolSize.
type scriptPool struct {
	scripts [][]byte
	next    int
	hot     int
}

func (p *scriptPool) keep(script []byte) {
	if len(p.scripts) < poolSize {
		p.scripts = append(p.scripts, append([]byte(nil), script...))
		if p.hot < hotScripts {
			p.hot++
		}
		return
	}
	// The ring turns over the slots after the hot ones.
	i := hotScripts + p.next
	p.scripts[i] = append(p.scripts[i][:0], script...)
	p.next = (p.next + 1) % (poolSize - hotScripts)
}

// draw picks a script to pay again: a hot one a quarter of the time.
func (p *scriptPool) draw(g *Generator) []byte {
	if g.pick(4, 1) == 1 {
		return p.scripts[g.rng.IntN(p.hot)]
	}
	return p.scripts[g.rng.IntN(len(p.scripts))]
}

// drawType draws a script type by the current transaction's era.
func (g *Generator) drawType() scriptType {
	era := 0
	for i, e := range eraMixes {
		if g.mHeight >= e.from {
			era = i
		}
	}
	x := g.rng.Uint64N(g.typeTotals[era])
	for t, w := range eraMixes[era].weights {
		if x < w {
			return scriptType(t)
		}
		x -= w
	}
	panic("snapgen: era weights do not add up")
}

// drawValue draws a value for a coin of type t: a decade by valueBins,
// then an exact dust value by dustValues or a log-uniform value in the
// decade.
func (g *Generator) drawValue(t scriptType) int64 {
	bins := &valueBins[t]
	x := g.rng.Uint64N(sumWeights(bins[:]))
	d := 0
	for i, w := range bins {
		if x < w {
			d = i
			break
		}
		x -= w
	}
	if d == 2 {
		y := g.rng.Uint64N(bins[2])
		for _, dv := range dustValues[t] {
			if y < dv.count {
				return dv.value
			}
			y -= dv.count
		}
	}
	lo := math.Pow10(d)
	return int64(lo * math.Pow(10, g.rng.Float64()))
}

// coinbaseValue is the subsidy at the mainnet-equivalent height, plus
// fees of up to 2% of it.
func (g *Generator) coinbaseValue() int64 {
	subsidy := int64(50e8) >> (g.mHeight / 210_000)
	return subsidy + int64(g.rng.Uint64N(uint64(subsidy/50)+1))
}

// makeScript appends a random script of type t.
func (g *Generator) makeScript(dst []byte, t scriptType) []byte {
	grow := func(n int) []byte {
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		g.fill(dst[start:])
		return dst[start:]
	}
	switch t {
	case p2wpkh:
		dst = append(dst, 0x00, 20)
		grow(20)
	case p2tr:
		dst = append(dst, 0x51, 32)
		grow(32)
	case p2wsh:
		dst = append(dst, 0x00, 32)
		grow(32)
	case p2pkh:
		dst = append(dst, 0x76, 0xa9, 20)
		grow(20)
		dst = append(dst, 0x88, 0xac)
	case p2sh:
		dst = append(dst, 0xa9, 20)
		grow(20)
		dst = append(dst, 0x87)
	case p2pk:
		dst = append(dst, 33)
		dst = g.appendCompressedKey(dst)
		dst = append(dst, 0xac)
	case p2pkUncmp:
		// Core stores an uncompressed key by its x only if the point is
		// on the curve (and coresnap refuses one that is not): a real
		// key, from a random private key.
		var k [32]byte
		g.fill(k[:])
		k[31] |= 1
		priv, _ := btcec.PrivKeyFromBytes(k[:])
		dst = append(dst, 65)
		dst = append(dst, priv.PubKey().SerializeUncompressed()...)
		dst = append(dst, 0xac)
	case multisig:
		n := 2 + int(g.pick(3, 2)) // 1-of-3 twice as often as 1-of-2
		dst = append(dst, 0x51)
		for range n {
			dst = append(dst, 33)
			dst = g.appendCompressedKey(dst)
		}
		dst = append(dst, byte(0x50+n), 0xae)
	default:
		panic(fmt.Sprintf("snapgen: script type %d", t))
	}
	return dst
}

// appendCompressedKey appends 02 or 03 and 32 random bytes. Core stores
// compressed keys without checking them, so the x need not be on the
// curve.
func (g *Generator) appendCompressedKey(dst []byte) []byte {
	dst = append(dst, 2+byte(g.pick(2, 1)))
	start := len(dst)
	dst = append(dst, make([]byte, 32)...)
	g.fill(dst[start:])
	return dst
}

func sumWeights(w []uint64) uint64 {
	var s uint64
	for _, x := range w {
		s += x
	}
	return s
}

// Write writes the snapshot of cfg to w (through a coresnap.Writer, which
// buffers) and returns its summary. It does not close w.
func Write(w io.Writer, cfg Config) (Summary, error) {
	g, err := New(cfg)
	if err != nil {
		return Summary{}, err
	}
	sw := coresnap.NewWriter(w, coresnap.Meta{Network: cfg.Network, BaseHash: cfg.BaseHash, Count: cfg.Coins})
	for {
		op, c, ok := g.Next()
		if !ok {
			break
		}
		if err := sw.Write(op, c); err != nil {
			return g.Summary(), err
		}
	}
	return g.Summary(), sw.Close()
}
