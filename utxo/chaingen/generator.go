package chaingen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// coinbaseTag follows the BIP34 height in every coinbase scriptSig; it also
// keeps the scriptSig at least 2 bytes long for heights 1..16 (OP_1..OP_16).
const coinbaseTag = "/satnode-chaingen/"

// maxBuildFailures ends a block after this many transactions in a row could
// not be funded.
const maxBuildFailures = 8

// Generator produces the chain block by block. It is not safe for concurrent
// use.
type Generator struct {
	cfg        Config
	params     *chaincfg.Params
	rng        *rand.Rand
	keys       *keyring
	wallet     wallet
	hotWeights []float64
	workers    int
	activation int32
	maxTxW     int64 // worst-case weight of one non-coinbase transaction
	maxTxSig   int   // worst-case sigop cost of one non-coinbase transaction

	// txids holds the txid of every transaction emitted so far (and of the
	// current block while it is being signed), indexed by global position;
	// coins refer to it instead of carrying 32-byte hashes.
	txids    []chainhash.Hash
	height   int32 // height of the last emitted block, -1 before genesis
	prevHash chainhash.Hash
	stats    stats
	err      error // sticky: the generator state is undefined after an error
}

// New validates cfg and derives the key pool.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Params = cfg.params()
	g := &Generator{
		cfg:        cfg,
		params:     cfg.Params,
		rng:        rand.New(rand.NewPCG(cfg.Seed, 0x636861696e67656e)), // "chaingen"
		workers:    cfg.Workers,
		activation: cfg.ActivationHeight(),
		height:     -1,
	}
	if g.workers == 0 {
		g.workers = runtime.GOMAXPROCS(0)
	}
	for _, h := range cfg.Hot {
		g.hotWeights = append(g.hotWeights, h.Weight)
	}
	g.keys = newKeyring(cfg.Seed, cfg.KeyPoolSize, g.workers)
	g.maxTxW, g.maxTxSig = worstCaseTx(&cfg)
	return g, nil
}

// Height is the height of the last block returned by Next (-1 before the
// genesis block).
func (g *Generator) Height() int32 { return g.height }

// Each calls fn with every block Next returns until io.EOF, and returns
// the first error from Next or fn (nil at the end of the chain).
func (g *Generator) Each(fn func(*wire.MsgBlock) error) error {
	for {
		b, err := g.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}

// Next returns the next block: the regtest genesis block first, then blocks
// 1..Config.Blocks, then io.EOF.
func (g *Generator) Next() (*wire.MsgBlock, error) {
	if g.err != nil {
		return nil, g.err
	}
	if g.height < 0 {
		blk, err := copyBlock(g.params.GenesisBlock)
		if err != nil {
			g.err = err
			return nil, err
		}
		g.height = 0
		g.prevHash = *g.params.GenesisHash
		// The genesis coinbase is unspendable; it only occupies an index.
		g.txids = append(g.txids, blk.Transactions[0].TxHash())
		return blk, nil
	}
	if int(g.height) >= g.cfg.Blocks {
		return nil, io.EOF
	}
	blk, err := g.nextBlock()
	if err != nil {
		g.err = err
		return nil, err
	}
	return blk, nil
}

func copyBlock(b *wire.MsgBlock) (*wire.MsgBlock, error) {
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		return nil, err
	}
	var out wire.MsgBlock
	if err := out.Deserialize(&buf); err != nil {
		return nil, err
	}
	return &out, nil
}

func (g *Generator) nextBlock() (*wire.MsgBlock, error) {
	h := g.height + 1
	g.wallet.mature(h)
	b := &blockBuilder{
		g:         g,
		height:    h,
		active:    h >= g.activation,
		firstTx:   uint32(len(g.txids)),
		poolStart: len(g.wallet.coins),
	}
	target := g.cfg.PreActivationTxsPerBlock
	if b.active {
		target = g.cfg.TxsPerBlock
	}
	b.window = g.cfg.RecentWindow
	if b.window == 0 {
		b.window = max(256, 8*target)
	}
	for fails := 0; len(b.plans) < target && fails < maxBuildFailures; {
		if b.weight+g.maxTxW > maxBlockWeight-coinbaseReserve ||
			b.sigops+g.maxTxSig > maxBlockSigOpsCost-coinbaseSigops {
			break
		}
		if b.buildTx() == nil {
			// The wallet could not fund this one (empty early on, or only
			// dust left for a large shape); another shape may still work.
			fails++
		}
	}
	// Reserve the txid slots (coinbase first) the signers fill in.
	g.txids = append(g.txids, make([]chainhash.Hash, 1+len(b.plans))...)
	if err := g.signBlock(b); err != nil {
		return nil, err
	}
	cb, witness, cbSigops := g.coinbase(b)
	txs := make([]*wire.MsgTx, 0, 1+len(b.plans))
	txs = append(txs, cb)
	weight := int64(3*cb.SerializeSizeStripped() + cb.SerializeSize())
	ids := make([]chainhash.Hash, 1+len(b.plans))
	ids[0] = cb.TxHash()
	g.txids[b.firstTx] = ids[0]
	for i, p := range b.plans {
		txs = append(txs, p.tx)
		ids[i+1] = p.txid
		weight += int64(3*p.stripSize + p.size)
	}
	weight += 4 * int64(80+wire.VarIntSerializeSize(uint64(len(txs))))
	sigops := b.sigops + cbSigops
	if weight > maxBlockWeight || sigops > maxBlockSigOpsCost {
		// The budgets above make this impossible; fail loudly if not.
		return nil, &LimitError{Height: h, Weight: weight, SigOpCost: sigops}
	}
	ts := g.cfg.StartTime.Unix() + int64(h-1)*blockSpacing + int64(g.rng.IntN(2*timeJitter+1)-timeJitter)
	blk := &wire.MsgBlock{
		Header: wire.BlockHeader{
			Version:    blockVersion,
			PrevBlock:  g.prevHash,
			MerkleRoot: merkleRoot(ids),
			Timestamp:  time.Unix(ts, 0),
			Bits:       g.params.PowLimitBits,
		},
		Transactions: txs,
	}
	if err := solve(&blk.Header); err != nil {
		return nil, err
	}
	g.height = h
	g.prevHash = blk.Header.BlockHash()
	g.wallet.maybeCompact()
	st := &g.stats
	st.blocks++
	st.maxWeight = max(st.maxWeight, weight)
	st.maxSigops = max(st.maxSigops, sigops)
	if witness {
		st.witnessBlocks++
	}
	return blk, nil
}

// LimitError reports a generated block over a consensus limit (a bug).
type LimitError struct {
	Height    int32
	Weight    int64
	SigOpCost int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("chaingen: block %d over limits: weight %d sigop cost %d", e.Height, e.Weight, e.SigOpCost)
}

// subsidy mirrors blockchain.CalcBlockSubsidy.
func subsidy(height int32, p *chaincfg.Params) int64 {
	const base = 50 * 1e8
	if p.SubsidyReductionInterval == 0 {
		return base
	}
	halvings := uint(height) / uint(p.SubsidyReductionInterval)
	if halvings >= 64 {
		return 0
	}
	return base >> halvings
}

// coinbase builds the block's coinbase: BIP34 height push, one output to a
// pool key claiming subsidy plus fees (occasionally slightly less), and the
// BIP141 witness commitment when the block has witness transactions.
func (g *Generator) coinbase(b *blockBuilder) (*wire.MsgTx, bool, int) {
	st := &g.stats
	sub := subsidy(b.height, g.params)
	claim := sub + b.fees
	if claim > 0 && g.rng.Float64() < g.cfg.UnderclaimRate {
		u := 1 + g.rng.Int64N(min(claim, 10_000))
		claim -= u
		st.underclaimed++
		st.unclaimed += u
	}
	st.fees += b.fees
	st.subsidy += sub
	d := b.pickDest()
	if d.typ.Legacy() && b.active {
		d.typ = ScriptP2WPKH
	}
	sigScript, err := txscript.NewScriptBuilder().AddInt64(int64(b.height)).AddData([]byte(coinbaseTag)).Script()
	if err != nil {
		panic("chaingen: coinbase script: " + err.Error()) // fixed small pushes cannot fail
	}
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  sigScript,
		Sequence:         wire.MaxTxInSequenceNum,
	})
	cb.AddTxOut(wire.NewTxOut(claim, cloneBytes(g.keys.keys[d.key].scripts[d.typ].PkScript)))
	g.wallet.immature = append(g.wallet.immature, coin{
		tx: b.firstTx, vout: 0, value: claim, key: d.key, height: b.height, typ: d.typ, flags: flagCoinbase,
	})
	st.outByType[d.typ]++
	st.cbOutputs++
	witness := false
	for _, p := range b.plans {
		witness = witness || p.witness
	}
	if witness {
		// Witness merkle root: the coinbase wtxid counts as all zeroes.
		var reserved [32]byte
		w := make([]chainhash.Hash, 1+len(b.plans))
		for i, p := range b.plans {
			w[i+1] = p.wtxid
		}
		root := merkleRoot(w)
		commitment := chainhash.DoubleHashB(append(root[:], reserved[:]...))
		script := append([]byte{txscript.OP_RETURN, txscript.OP_DATA_36, 0xaa, 0x21, 0xa9, 0xed}, commitment...)
		cb.AddTxOut(wire.NewTxOut(0, script))
		cb.TxIn[0].Witness = wire.TxWitness{reserved[:]}
	}
	return cb, witness, outputSigops(d.typ)
}

// merkleRoot computes the Bitcoin merkle root of hashes (duplicating the
// last node of odd levels); it overwrites hashes.
func merkleRoot(hashes []chainhash.Hash) chainhash.Hash {
	var buf [64]byte
	for n := len(hashes); n > 1; n = (n + 1) / 2 {
		for i := 0; i < n; i += 2 {
			j := min(i+1, n-1)
			copy(buf[:32], hashes[i][:])
			copy(buf[32:], hashes[j][:])
			hashes[i/2] = chainhash.DoubleHashH(buf[:])
		}
	}
	return hashes[0]
}

// PowError reports that no nonce satisfies the target (impossible at the
// regtest limit, where about every second hash qualifies).
type PowError struct{ Bits uint32 }

func (e *PowError) Error() string {
	return fmt.Sprintf("chaingen: nonce space exhausted for bits %08x", e.Bits)
}

// solve grinds the nonce from zero until the header hash meets its target.
func solve(h *wire.BlockHeader) error {
	target := compactToTarget(h.Bits)
	for nonce := uint64(0); nonce <= 0xffffffff; nonce++ {
		h.Nonce = uint32(nonce)
		if hash := h.BlockHash(); hashMeets(&hash, &target) {
			return nil
		}
	}
	return &PowError{Bits: h.Bits}
}

// compactToTarget expands compact difficulty bits into a 32-byte big-endian
// target (the exponent counts bytes; sign bit and overflow never occur for
// the regtest limit, and are treated as a zero target).
func compactToTarget(bits uint32) [32]byte {
	var t [32]byte
	mant := bits & 0x007fffff
	exp := int(bits >> 24)
	if bits&0x00800000 != 0 || exp > 32 {
		return t
	}
	m := [3]byte{byte(mant >> 16), byte(mant >> 8), byte(mant)}
	for k := range 3 {
		pos := 32 - exp + k // big-endian position of mantissa byte k
		if pos >= 0 && pos < 32 {
			t[pos] = m[k]
		}
	}
	return t
}

// hashMeets reports whether hash, read as a little-endian 256-bit number, is
// at most the big-endian target.
func hashMeets(hash *chainhash.Hash, target *[32]byte) bool {
	for i := range 32 {
		hb := hash[31-i]
		if hb != target[i] {
			return hb < target[i]
		}
	}
	return true
}

// Fork returns an independent copy of the generator at its current height
// whose later blocks draw from another random stream (salt): the two then
// build competing branches from the same parent, spending the same wallet,
// so their transactions conflict (double-spend the same coins) as a real
// reorg's do. Blocks of either branch stay valid. The key pool is shared:
// it is read-only.
func (g *Generator) Fork(salt uint64) *Generator {
	f := *g
	f.rng = rand.New(rand.NewPCG(g.cfg.Seed^salt, 0x666f726b^salt)) // "fork"
	f.wallet.coins = slices.Clone(g.wallet.coins)
	f.wallet.immature = slices.Clone(g.wallet.immature)
	f.txids = slices.Clone(g.txids)
	return &f
}
