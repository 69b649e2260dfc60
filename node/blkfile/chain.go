package blkfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ChainStats counts how the indexed blocks relate to the chosen chain.
type ChainStats struct {
	Blocks      int // indexed blocks on the chosen chain
	Stale       int // blocks descending from the base but not on the chosen chain
	Unconnected int // blocks not descending from the base: orphans, other chains, blocks below a mid-chain base
}

// Chain is the best chain found in an Index: for each height from the base
// to the tip, a block hash and where the block is stored. It is immutable and
// safe for concurrent use; each Stream reading it is not.
type Chain struct {
	ix         *Index
	baseHash   chainhash.Hash
	baseHeight int32
	start      int32   // height of entries[0]: baseHeight, or baseHeight+1 if the base block is not in the sources
	entries    []int32 // record index per height, from start
	sizeSum    []int64 // sizeSum[i] = total size of entries[:i]
	heightOf   []int32 // per record: height on this chain, or -1
	work       work    // work of the blocks in entries
	stats      ChainStats
}

// BestChain builds the chain with the most cumulative proof of work rooted
// at the network's genesis block. Ties go to the tip seen first in file
// order, which keeps the result deterministic.
func (ix *Index) BestChain() (*Chain, error) {
	return ix.BestChainFrom(*ix.params.GenesisHash, 0)
}

// BestChainFrom is BestChain rooted at a known block instead of genesis, for
// stores seeded mid-chain: base is that block's hash and height its height.
// The base block itself need not be in the sources; if it is not, the chain
// starts at height+1 with the blocks that build on it.
func (ix *Index) BestChainFrom(base chainhash.Hash, height int32) (*Chain, error) {
	if height < 0 {
		return nil, fmt.Errorf("blkfile: negative base height %d", height)
	}
	n := int32(len(ix.recs))
	root, present := ix.byHash[base]
	if !present {
		root = n // a virtual node standing for the absent base block
	}

	// Children lists in compressed form (offsets into one slice), ordered by
	// record index so that the traversal visits blocks in file order.
	parent := make([]int32, n)
	first := make([]int32, n+2)
	for i := range ix.recs {
		p, ok := ix.byHash[ix.recs[i].prev]
		switch {
		case ok && p != int32(i):
			parent[i] = p
		case !ok && !present && ix.recs[i].prev == base:
			parent[i] = n
		default:
			parent[i] = -1
			continue
		}
		first[parent[i]+1]++
	}
	for i := int32(1); i < n+2; i++ {
		first[i] += first[i-1]
	}
	children := make([]int32, first[n+1])
	fill := append([]int32(nil), first[:n+1]...)
	for i, p := range parent {
		if p >= 0 {
			children[fill[p]] = int32(i)
			fill[p]++
		}
	}

	// Breadth-first from the root, accumulating work. Cumulative work is
	// kept in a fixed 320-bit form: compact and exact even for absurd bits.
	perBits := make(map[uint32]work)
	cum := make([]work, n+1)
	depth := make([]int32, n+1)
	visited := make([]bool, n+1)
	queue := []int32{root}
	visited[root] = true
	if present {
		cum[root] = workFromBits(ix.recs[root].bits)
	}
	best := root
	reached := 0
	for q := 0; q < len(queue); q++ {
		v := queue[q]
		if v != n {
			reached++
			if better(cum[v], v, cum[best], best, n) {
				best = v
			}
		}
		for _, c := range children[first[v]:first[v+1]] {
			if visited[c] {
				continue // only possible with a hash cycle; never loop
			}
			visited[c] = true
			w, ok := perBits[ix.recs[c].bits]
			if !ok {
				w = workFromBits(ix.recs[c].bits)
				perBits[ix.recs[c].bits] = w
			}
			cum[c] = cum[v].add(w)
			depth[c] = depth[v] + 1
			queue = append(queue, c)
		}
	}
	if reached == 0 {
		return nil, fmt.Errorf("%w: base %s (height %d) is not in the %d indexed blocks and none builds on it",
			ErrNoChain, base, height, n)
	}
	if int64(height)+int64(depth[best]) > math.MaxInt32 {
		return nil, fmt.Errorf("blkfile: chain from base height %d with %d blocks overflows int32 heights", height, depth[best])
	}

	c := &Chain{
		ix:         ix,
		baseHash:   base,
		baseHeight: height,
		start:      height,
		heightOf:   make([]int32, n),
		work:       cum[best],
	}
	if !present {
		c.start = height + 1
	}
	for i := range c.heightOf {
		c.heightOf[i] = -1
	}
	count := int(depth[best])
	if present {
		count++
	}
	c.entries = make([]int32, count)
	for v, i := best, count-1; v != n && i >= 0; v, i = parent[v], i-1 {
		c.entries[i] = v
		c.heightOf[v] = c.start + int32(i)
		if v == root {
			break
		}
	}
	c.sizeSum = make([]int64, count+1)
	for i, r := range c.entries {
		c.sizeSum[i+1] = c.sizeSum[i] + int64(ix.recs[r].size)
	}
	c.stats = ChainStats{Blocks: count, Stale: reached - count, Unconnected: int(n) - reached}
	return c, nil
}

// better reports whether candidate a beats the current best b: more work,
// or equal work and seen first in file order. The virtual root (index n)
// counts as seen first, since it stands for the base.
func better(wa work, a int32, wb work, b int32, n int32) bool {
	switch wa.cmp(wb) {
	case 1:
		return true
	case -1:
		return false
	}
	if b == n {
		return false
	}
	return a < b
}

// work is an unsigned 320-bit integer in little-endian 64-bit limbs. One
// block's work is below 2^256 and there are fewer than 2^32 blocks, so sums
// never overflow.
type work [5]uint64

func workFromBits(bits uint32) work {
	var buf [40]byte
	blockchain.CalcWork(bits).FillBytes(buf[:]) // at most 2^255: fits
	var w work
	for i := range w {
		w[i] = binary.BigEndian.Uint64(buf[32-8*i:])
	}
	return w
}

func (a work) add(b work) work {
	var carry uint64
	for i := range a {
		a[i], carry = bits.Add64(a[i], b[i], carry)
	}
	return a
}

func (a work) cmp(b work) int {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (a work) big() *big.Int {
	var buf [40]byte
	for i := range a {
		binary.BigEndian.PutUint64(buf[32-8*i:], a[i])
	}
	return new(big.Int).SetBytes(buf[:])
}

// Base returns the block the chain was rooted at (genesis for BestChain).
func (c *Chain) Base() (height int32, hash chainhash.Hash) { return c.baseHeight, c.baseHash }

// Start returns the first height whose block is in the sources: the base
// height, or one above it when the base block itself was not found.
func (c *Chain) Start() int32 { return c.start }

// Tip returns the height and hash of the chain's last block.
func (c *Chain) Tip() (height int32, hash chainhash.Hash) {
	if len(c.entries) == 0 {
		return c.baseHeight, c.baseHash
	}
	last := len(c.entries) - 1
	return c.start + int32(last), c.ix.recs[c.entries[last]].hash
}

// Work returns the total work of the chain's blocks from Start to the tip.
func (c *Chain) Work() *big.Int { return c.work.big() }

// Stats returns block counts: on the chain, stale, and unconnected.
func (c *Chain) Stats() ChainStats { return c.stats }

// Height returns the height of a block on this chain; false if the block is
// not on it (unknown, stale, or unconnected). The base hash always maps to
// the base height, so a store whose tip is the base resumes at Start.
func (c *Chain) Height(hash chainhash.Hash) (int32, bool) {
	if hash == c.baseHash {
		return c.baseHeight, true
	}
	i, ok := c.ix.byHash[hash]
	if !ok || c.heightOf[i] < 0 {
		return 0, false
	}
	return c.heightOf[i], true
}

// Hash returns the hash of the block at height.
func (c *Chain) Hash(height int32) (chainhash.Hash, bool) {
	if height == c.baseHeight {
		return c.baseHash, true
	}
	i, ok := c.entry(height)
	if !ok {
		return chainhash.Hash{}, false
	}
	return c.ix.recs[i].hash, true
}

// Location returns where the block at height is stored.
func (c *Chain) Location(height int32) (Location, bool) {
	i, ok := c.entry(height)
	if !ok {
		return Location{}, false
	}
	return c.ix.location(i), true
}

// BytesFrom returns the total size of the blocks from height to the tip,
// for progress and ETA reporting. Heights below Start count from Start.
func (c *Chain) BytesFrom(height int32) int64 {
	i := int64(height) - int64(c.start)
	switch {
	case i < 0:
		i = 0
	case i > int64(len(c.entries)):
		i = int64(len(c.entries))
	}
	return c.sizeSum[len(c.entries)] - c.sizeSum[i]
}

func (c *Chain) entry(height int32) (int32, bool) {
	i := int64(height) - int64(c.start)
	if i < 0 || i >= int64(len(c.entries)) {
		return 0, false
	}
	return c.entries[i], true
}
