package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

// refTree is an independent compact sparse Merkle tree: the recursive
// definition of the commitment, written apart from the builders it
// checks, and slow (every hash is recomputed from the leaves).
type refTree struct {
	leaves []refLeaf // sorted by path once finish has run
	dirty  bool
}

type refLeaf struct {
	path       [32]byte
	key, value []byte
}

func newRefTree() *refTree { return &refTree{} }

// put adds key = value, replacing a value under the same key.
func (t *refTree) put(key, value []byte) {
	t.leaves = append(t.leaves, refLeaf{path: sha256.Sum256(key), key: key, value: value})
	t.dirty = true
}

// finish sorts the leaves by path, the last put of a key winning.
func (t *refTree) finish() {
	if !t.dirty {
		return
	}
	sort.SliceStable(t.leaves, func(i, j int) bool { return bytes.Compare(t.leaves[i].path[:], t.leaves[j].path[:]) < 0 })
	out := t.leaves[:0]
	for i, l := range t.leaves {
		if i+1 < len(t.leaves) && t.leaves[i+1].path == l.path {
			continue
		}
		out = append(out, l)
	}
	t.leaves, t.dirty = out, false
}

func refBit(p [32]byte, d int) int { return int(p[d/8]>>(7-d%8)) & 1 }

func refLeafHash(l refLeaf) [32]byte {
	vh := sha256.Sum256(l.value)
	return sha256.Sum256(append(append([]byte{0}, l.path[:]...), vh[:]...))
}

func refInner(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// split is the index of the first leaf whose bit d is 1.
func refSplit(leaves []refLeaf, d int) int {
	return sort.Search(len(leaves), func(i int) bool { return refBit(leaves[i].path, d) == 1 })
}

func refHash(d int, leaves []refLeaf) [32]byte {
	switch len(leaves) {
	case 0:
		return [32]byte{}
	case 1:
		return refLeafHash(leaves[0])
	}
	i := refSplit(leaves, d)
	return refInner(refHash(d+1, leaves[:i]), refHash(d+1, leaves[i:]))
}

func (t *refTree) root() [32]byte {
	t.finish()
	return refHash(0, t.leaves)
}

// index is key's leaf index, or -1.
func (t *refTree) index(key []byte) int {
	p := sha256.Sum256(key)
	i := t.after(p) - 1
	if i >= 0 && t.leaves[i].path == p {
		return i
	}
	return -1
}

// after is the index of the first leaf whose path is above p.
func (t *refTree) after(p [32]byte) int {
	t.finish()
	return sort.Search(len(t.leaves), func(i int) bool { return bytes.Compare(t.leaves[i].path[:], p[:]) > 0 })
}

// siblings are leaf i's siblings, top-down.
func (t *refTree) siblings(i int) [][32]byte {
	t.finish()
	p := t.leaves[i].path
	leaves := t.leaves
	var sibs [][32]byte
	for d := 0; len(leaves) > 1; d++ {
		s := refSplit(leaves, d)
		if refBit(p, d) == 0 {
			sibs = append(sibs, refHash(d+1, leaves[s:]))
			leaves = leaves[:s]
		} else {
			sibs = append(sibs, refHash(d+1, leaves[:s]))
			leaves = leaves[s:]
		}
	}
	return sibs
}

func (t *refTree) exist(i int) *ics23.ExistenceProof {
	l := t.leaves[i]
	return SMTExistence(l.key, l.value, l.path, t.siblings(i))
}

func (t *refTree) member(i int) *ics23.CommitmentProof {
	return &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: t.exist(i)}}
}

// absent is the non-membership proof of a key not in the tree.
func (t *refTree) absent(key []byte) *ics23.CommitmentProof {
	i := t.after(sha256.Sum256(key))
	var left, right *ics23.ExistenceProof
	if i > 0 {
		left = t.exist(i - 1)
	}
	if i < len(t.leaves) {
		right = t.exist(i)
	}
	return SMTNonExistence(key, left, right)
}

// commitments are a v2 app hash's inputs, hashed here by hand and by
// CometBFT's crypto/merkle, not by consensus/apphash.
type commitments struct {
	tip                     BitcoinTip
	consensus, muhash, utxo [32]byte
}

func (c *commitments) values() [4][]byte {
	return [4][]byte{TipValue(c.tip), c.consensus[:], c.muhash[:], c.utxo[:]}
}

func item(name string, value []byte) []byte {
	vh := sha256.Sum256(value)
	b := binary.AppendUvarint(nil, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, 32)
	return append(b, vh[:]...)
}

func (c *commitments) leaves() [4][32]byte {
	var out [4][32]byte
	for i, v := range c.values() {
		out[i] = sha256.Sum256(append([]byte{0}, item(appHashNames[i], v)...))
	}
	return out
}

// root is the app hash, hand-built (TestWorkedAppHash checks it against
// crypto/merkle.HashFromByteSlices).
func (c *commitments) root() [32]byte {
	l := c.leaves()
	return refInner(refInner(l[0], l[1]), refInner(l[2], l[3]))
}

// items are the encoded items, for crypto/merkle.
func (c *commitments) items() [][]byte {
	var items [][]byte
	for i, v := range c.values() {
		items = append(items, item(appHashNames[i], v))
	}
	return items
}

// prove is the TendermintSpec proof of the i-th commitment.
func (c *commitments) prove(i int) *ics23.CommitmentProof {
	l := c.leaves()
	pairs := [2][32]byte{refInner(l[0], l[1]), refInner(l[2], l[3])}
	op := func(side int, sib [32]byte) *ics23.InnerOp {
		if side == 0 {
			return &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: []byte{1}, Suffix: append([]byte(nil), sib[:]...)}
		}
		return &ics23.InnerOp{Hash: ics23.HashOp_SHA256, Prefix: append([]byte{1}, sib[:]...)}
	}
	ls := ics23.TendermintSpec.LeafSpec
	return &ics23.CommitmentProof{Proof: &ics23.CommitmentProof_Exist{Exist: &ics23.ExistenceProof{
		Key:   []byte(appHashNames[i]),
		Value: c.values()[i],
		Leaf: &ics23.LeafOp{Hash: ls.Hash, PrehashKey: ls.PrehashKey, PrehashValue: ls.PrehashValue,
			Length: ls.Length, Prefix: []byte{0}},
		Path: []*ics23.InnerOp{op(i&1, l[i^1]), op(i>>1, pairs[1-(i>>1)])},
	}}}
}

// fixture is a UTXO set, its tree, and the app hash of one commit.
type fixture struct {
	tree    *refTree
	ops     []Outpoint // the coins, in insertion order
	coins   map[Outpoint]Coin
	c       commitments
	appHash [32]byte
	chainID string
	height  int64
}

const testChainID = "satnode-test"

// newFixture makes n random coins plus extra, deterministically from seed.
func newFixture(tb testing.TB, seed uint64, n int, extra map[Outpoint]Coin) *fixture {
	rng := rand.New(rand.NewPCG(seed, 1))
	f := &fixture{tree: newRefTree(), coins: make(map[Outpoint]Coin), chainID: testChainID, height: 41}
	add := func(op Outpoint, c Coin) {
		f.ops = append(f.ops, op)
		f.coins[op] = c
		f.tree.put(op.Key(), c.TreeValue())
	}
	for i := 0; i < n; i++ {
		add(randOutpoint(rng), randCoin(rng))
	}
	for op, c := range extra {
		add(op, c)
	}
	sort.Slice(f.ops[n:], func(i, j int) bool { return f.ops[n+i].String() < f.ops[n+j].String() })
	f.c = commitments{
		tip:       BitcoinTip{Height: 840000 + int32(seed), Hash: BlockHash(randHash(rng))},
		consensus: randHash(rng),
		muhash:    randHash(rng),
		utxo:      f.tree.root(),
	}
	f.appHash = f.c.root()
	return f
}

func randHash(rng *rand.Rand) (h [32]byte) {
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	return h
}

func randOutpoint(rng *rand.Rand) Outpoint {
	return Outpoint{TxID: BlockHash(randHash(rng)), Vout: uint32(rng.IntN(4))}
}

func randCoin(rng *rand.Rand) Coin {
	h := randHash(rng)
	script := append([]byte{0x00, 0x14}, h[:20]...) // P2WPKH
	switch rng.IntN(8) {
	case 0:
		script = bytes.Repeat(h[:1], 300) // a CompactSize of 3 bytes
	case 1:
		script = []byte{0x6a} // OP_RETURN alone never reaches the set, but the tree does not care
	}
	return Coin{Value: rng.Int64N(5e10), ScriptPubKey: script, Height: rng.Int32N(900000), Coinbase: rng.IntN(10) == 0}
}

func mustEncode(tb testing.TB, p *ics23.CommitmentProof) Hex {
	tb.Helper()
	b, err := EncodeProof(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func (f *fixture) state(tb testing.TB) State {
	return State{
		ChainID:        f.chainID,
		Height:         f.height,
		HeaderHeight:   f.height + 1,
		AppHash:        append(Hex(nil), f.appHash[:]...),
		AppHashVersion: 2,
		Bitcoin:        f.c.tip,
		TipProof:       mustEncode(tb, f.c.prove(0)),
		UTXORoot:       append(Hex(nil), f.c.utxo[:]...),
		RootProof:      mustEncode(tb, f.c.prove(3)),
	}
}

// utxoProof is the honest answer for op.
func (f *fixture) utxoProof(tb testing.TB, op Outpoint) *UTXOProof {
	p := &UTXOProof{Kind: KindUTXO, State: f.state(tb), Outpoint: op}
	if i := f.tree.index(op.Key()); i >= 0 {
		c := f.coins[op]
		p.Unspent, p.Coin = true, &c
		p.Proof = mustEncode(tb, f.tree.member(i))
	} else {
		p.Proof = mustEncode(tb, f.tree.absent(op.Key()))
	}
	return p
}

// clone deep-copies p through JSON, as a file would carry it.
func cloneUTXO(tb testing.TB, p *UTXOProof) *UTXOProof {
	tb.Helper()
	q, err := DecodeUTXOProof(bytes.NewReader(mustJSON(tb, p)))
	if err != nil {
		tb.Fatal(err)
	}
	return q
}
