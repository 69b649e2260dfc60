package btcheaders

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// medianTimeSpan is how many headers below a new header the median-time-past
// rule reads besides its parent: btcd's medianTimeBlocks (11) minus one.
const medianTimeSpan = 10

// Tree is the header tree: the finalized base, the ancestry below it that
// the contextual rules still read, and every valid header added above it.
// It is not safe for concurrent use; the state machine owns it.
type Tree struct {
	params *chaincfg.Params
	prefix []byte
	index  map[chainhash.Hash]*Node
	base   *Node
	bottom *Node // lowest node kept: base's ancestor at RequiredBottom
	// tips holds the leaves. It is a map for O(1) updates; Tips sorts it,
	// so its order never leaks.
	tips map[*Node]struct{}
	cp   *Node // highest checkpoint node in the tree, nil if none
	// best is BestChain(nil), kept up to date so that the state machine can
	// ask for it every block without a walk of the tree.
	best    *Node
	nextSeq uint64

	blocksPerRetarget int32
	minTimespan       int64
	maxTimespan       int64

	// Changes since the last WriteChanges.
	added     []*Node
	deleted   [][]byte
	metaDirty bool

	// root keeps Root's bucket hashes up to date; every node in index is in
	// it.
	root rootState
}

// StartPoint is where a tree starts: its base, and the ancestry the
// contextual rules need to validate the headers above it.
type StartPoint struct {
	// Height of the start header.
	Height int32
	// Headers are consecutive headers ending with the start header, oldest
	// first: heights Height−len(Headers)+1 … Height. They must include at
	// least RequiredAncestry(params, Height) headers below the start header;
	// extra older headers are checked for linkage and proof of work, then
	// dropped. At height 0 Headers may be empty, and the network's genesis
	// header is used.
	Headers []wire.BlockHeader
	// ChainWork is the cumulative work through the start header as a
	// big-endian uint256 (Bitcoin Core's getblockheader "chainwork").
	// Optional: zero means unknown, and work is then counted from the oldest
	// header kept, so only differences between nodes mean anything. Ignored
	// at height 0, where the genesis header's own work is used.
	ChainWork [32]byte
}

// RequiredAncestry returns how many headers below height a start point (or
// a base moved there by SetBase) must come with, so that every header above
// it can be checked exactly as btcd checks it on a full chain:
//
//   - median-time-past reads the parent and the 10 headers before it, so the
//     first header above the base needs the 10 below the base;
//   - a retarget at height r (r a multiple of BlocksPerRetarget) reads the
//     header at r−BlocksPerRetarget, the start of the window before r; for
//     the first retarget above the base that is the start of the base's own
//     window, height − height mod BlocksPerRetarget. The window's last header
//     is the new header's parent, above the base;
//   - the min-difficulty rule of networks with ReduceMinDifficulty (testnet3,
//     simnet) walks back from the parent over min-difficulty headers but
//     stops at a retarget boundary, which is again at or above the start of
//     the base's window.
//
// So it is max(10, height mod BlocksPerRetarget), capped at height: from
// genesis nothing is missing. On mainnet that is between 10 and 2015 headers
// (the previous window's first and last headers are never needed: the base
// itself is trusted, not re-validated). The same count applies to every
// network, including those without retargeting, so a start point is portable.
func RequiredAncestry(params *chaincfg.Params, height int32) int32 {
	return height - RequiredBottom(params, height)
}

// RequiredBottom returns the height of the lowest header kept below a base at
// height: height − RequiredAncestry.
func RequiredBottom(params *chaincfg.Params, height int32) int32 {
	if height <= 0 {
		return 0
	}
	k := int32(medianTimeSpan)
	if bpr := blocksPerRetarget(params); bpr > 0 && height%bpr > k {
		k = height % bpr
	}
	if k > height {
		k = height
	}
	return height - k
}

// blocksPerRetarget is computed as btcd's blockchain.New computes it.
func blocksPerRetarget(params *chaincfg.Params) int32 {
	per := int64(params.TargetTimePerBlock / time.Second)
	if per <= 0 {
		return 0
	}
	n := int64(params.TargetTimespan/time.Second) / per
	if n <= 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}

func newTree(params *chaincfg.Params, prefix []byte) (*Tree, error) {
	if params == nil || params.PowLimit == nil || params.GenesisBlock == nil ||
		params.GenesisHash == nil || params.RetargetAdjustmentFactor <= 0 {
		return nil, fmt.Errorf("%w: incomplete chain parameters", ErrBadParams)
	}
	bpr := blocksPerRetarget(params)
	if bpr <= 0 {
		return nil, fmt.Errorf("%w: no whole number of blocks per retarget", ErrBadParams)
	}
	if len(prefix) == 0 {
		return nil, fmt.Errorf("%w: empty key prefix", ErrBadParams)
	}
	span := int64(params.TargetTimespan / time.Second)
	t := &Tree{
		params:            params,
		prefix:            bytes.Clone(prefix),
		index:             make(map[chainhash.Hash]*Node),
		tips:              make(map[*Node]struct{}),
		blocksPerRetarget: bpr,
		minTimespan:       span / params.RetargetAdjustmentFactor,
		maxTimespan:       span * params.RetargetAdjustmentFactor,
	}
	t.root.init()
	return t, nil
}

// New returns a tree rooted at start, for the network of params, that will
// store itself under the key prefix (see doc.go). A bad start point is a
// RuleError with code ErrBadStart.
//
// Every header of the start point is checked to link to the one before it
// by hash and to meet the proof of work its bits claim (with bits within the
// network's limit); headers at checkpoint heights must match the checkpoint,
// and a header at height 0 must be the network's genesis header. The start
// header is trusted beyond that: it is the finalized base.
func New(params *chaincfg.Params, start StartPoint, prefix []byte) (*Tree, error) {
	t, err := newTree(params, prefix)
	if err != nil {
		return nil, err
	}
	hdrs := start.Headers
	if start.Height < 0 {
		return nil, ruleError(ErrBadStart, "negative start height %d", start.Height)
	}
	if start.Height == 0 && len(hdrs) == 0 {
		hdrs = []wire.BlockHeader{params.GenesisBlock.Header}
	}
	need := int(RequiredAncestry(params, start.Height)) + 1
	if len(hdrs) < need {
		return nil, ruleError(ErrBadStart, "start at height %d needs %d headers (heights %d to %d), got %d",
			start.Height, need, start.Height-int32(need)+1, start.Height, len(hdrs))
	}
	if int64(len(hdrs)) > int64(start.Height)+1 {
		return nil, ruleError(ErrBadStart, "%d headers do not fit below height %d", len(hdrs), start.Height)
	}
	nodes, err := t.checkStart(start.Height, hdrs)
	if err != nil {
		return nil, err
	}
	nodes = nodes[len(nodes)-need:]
	if err := setStartWork(nodes, start); err != nil {
		return nil, err
	}
	for i, n := range nodes {
		if i > 0 {
			n.parent = nodes[i-1]
			nodes[i-1].children = []*Node{n}
		}
		n.seq = t.nextSeq
		t.nextSeq++
		t.index[n.hash] = n
		t.root.add(n)
		t.added = append(t.added, n)
	}
	t.bottom = nodes[0]
	p := hdrs[len(hdrs)-need].PrevBlock
	t.bottom.prev = &p
	t.base = nodes[len(nodes)-1]
	t.best = t.base // the only node at or above the base
	t.tips[t.base] = struct{}{}
	t.cp = t.findCheckpoint()
	t.metaDirty = true
	return t, nil
}

// checkStart validates the start point's headers, oldest first, and returns
// them as unlinked nodes.
func (t *Tree) checkStart(height int32, hdrs []wire.BlockHeader) ([]*Node, error) {
	first := height - int32(len(hdrs)) + 1
	nodes := make([]*Node, len(hdrs))
	noClock := fixedTime(time.Unix(math.MaxUint32, 0))
	for i := range hdrs {
		h := &hdrs[i]
		hh := first + int32(i)
		if err := checkTimestampField(h); err != nil {
			return nil, ruleError(ErrBadStart, "header at height %d: %v", hh, err)
		}
		hash := h.BlockHash()
		if i > 0 && h.PrevBlock != nodes[i-1].hash {
			return nil, ruleError(ErrBadStart, "header at height %d does not link to the one before it", hh)
		}
		if hh == 0 {
			if hash != *t.params.GenesisHash {
				return nil, ruleError(ErrBadStart, "header at height 0 is %s, not the %s genesis %s",
					hash, t.params.Name, t.params.GenesisHash)
			}
		} else if err := blockchain.CheckBlockHeaderSanity(h, t.params.PowLimit, noClock, blockchain.BFNone); err != nil {
			return nil, ruleError(ErrBadStart, "header at height %d: %v", hh, err)
		}
		if !t.verifyCheckpoint(hh, &hash) {
			return nil, ruleError(ErrBadStart, "header at height %d contradicts the checkpoint", hh)
		}
		nodes[i] = newNode(h, hash, hh)
	}
	return nodes, nil
}

// setStartWork fills in the cumulative work of the start nodes.
func setStartWork(nodes []*Node, start StartPoint) error {
	if start.Height == 0 || start.ChainWork == ([32]byte{}) {
		acc := [32]byte{}
		for _, n := range nodes {
			var over bool
			if acc, over = add256(acc, headerWork(n.bits)); over {
				return ruleError(ErrBadStart, "cumulative work overflows")
			}
			n.work = acc
		}
		return nil
	}
	acc := start.ChainWork
	for i := len(nodes) - 1; i >= 0; i-- {
		nodes[i].work = acc
		var under bool
		if acc, under = sub256(acc, headerWork(nodes[i].bits)); under {
			return ruleError(ErrBadStart, "chain work %x is less than the work of the start headers", start.ChainWork)
		}
	}
	return nil
}

// checkTimestampField rejects times the 80-byte header cannot carry: the
// hash covers uint32 seconds, so anything else would be stored as a
// different header than the one checked.
func checkTimestampField(h *wire.BlockHeader) error {
	s := h.Timestamp.Unix()
	if s < 0 || s > math.MaxUint32 || h.Timestamp.Nanosecond() != 0 {
		return fmt.Errorf("timestamp %ds+%dns is not whole seconds in 0..2^32-1", s, h.Timestamp.Nanosecond())
	}
	return nil
}

// Add validates h against its parent in the tree and the consensus rules of
// the network, with now (the CometBFT block time) as the clock for the
// future-time rule, and adds it. A rejected header is a RuleError and leaves
// the tree unchanged. The result depends only on the tree and the arguments.
//
// Checks, in order: the timestamp fits the header (ErrBadHeader), not
// already in the tree (ErrDuplicate), parent in the tree (ErrUnknownParent),
// above the finalized base (ErrBelowFinalized), then btcd's
// CheckBlockHeaderSanity and CheckBlockHeaderContext.
func (t *Tree) Add(h *wire.BlockHeader, now time.Time) (*Node, error) {
	if h == nil {
		return nil, ruleError(ErrBadHeader, "nil header")
	}
	if err := checkTimestampField(h); err != nil {
		return nil, ruleError(ErrBadHeader, "%v", err)
	}
	hash := h.BlockHash()
	if _, ok := t.index[hash]; ok {
		return nil, ruleError(ErrDuplicate, "header %s is already in the tree", hash)
	}
	parent, ok := t.index[h.PrevBlock]
	if !ok {
		return nil, ruleError(ErrUnknownParent, "parent %s of header %s is not in the tree", h.PrevBlock, hash)
	}
	if parent.height >= math.MaxInt32 {
		return nil, ruleError(ErrBadHeader, "height overflows")
	}
	height := parent.height + 1
	if height <= t.base.height {
		return nil, ruleError(ErrBelowFinalized, "header %s at height %d is at or below the finalized base at %d",
			hash, height, t.base.height)
	}
	if err := blockchain.CheckBlockHeaderSanity(h, t.params.PowLimit, fixedTime(now), blockchain.BFNone); err != nil {
		return nil, fromBtcd(err)
	}
	if err := blockchain.CheckBlockHeaderContext(h, (*ctxNode)(parent), blockchain.BFNone, chainCtx{t}, false); err != nil {
		return nil, fromBtcd(err)
	}
	work, over := add256(parent.work, headerWork(h.Bits))
	if over {
		return nil, ruleError(ErrBadHeader, "cumulative work overflows 256 bits")
	}
	n := newNode(h, hash, height)
	n.work = work
	n.parent = parent
	n.seq = t.nextSeq
	t.nextSeq++
	parent.children = append(parent.children, n)
	t.index[hash] = n
	t.root.add(n)
	if better(n, t.best) {
		t.best = n
	}
	delete(t.tips, parent)
	t.tips[n] = struct{}{}
	// A header at a checkpoint height got here only by matching it.
	if t.isCheckpointHeight(height) && (t.cp == nil || height > t.cp.height) {
		t.cp = n
	}
	t.added = append(t.added, n)
	t.metaDirty = true
	return n, nil
}

// Params returns the network parameters.
func (t *Tree) Params() *chaincfg.Params { return t.params }

// Get returns the node with the given hash.
func (t *Tree) Get(hash chainhash.Hash) (*Node, bool) {
	n, ok := t.index[hash]
	return n, ok
}

// Base returns the finalized base.
func (t *Tree) Base() *Node { return t.base }

// Bottom returns the lowest node kept, the oldest of the base's ancestry.
func (t *Tree) Bottom() *Node { return t.bottom }

// Len returns the number of nodes, the base's ancestry included.
func (t *Tree) Len() int { return len(t.index) }

// MedianTimePast returns the median time of n and the 10 headers before it
// (fewer for nodes near the bottom of the tree), as btcd computes it: the
// time a child of n must exceed.
func (t *Tree) MedianTimePast(n *Node) time.Time {
	return blockchain.CalcPastMedianTime((*ctxNode)(n))
}

func (t *Tree) isCheckpointHeight(height int32) bool {
	for i := range t.params.Checkpoints {
		if t.params.Checkpoints[i].Height == height {
			return true
		}
	}
	return false
}

func (t *Tree) verifyCheckpoint(height int32, hash *chainhash.Hash) bool {
	for i := range t.params.Checkpoints {
		c := &t.params.Checkpoints[i]
		if c.Height == height && c.Hash != nil && *c.Hash != *hash {
			return false
		}
	}
	return true
}

// findCheckpoint returns the highest checkpoint whose header is in the tree.
// Once a checkpoint is in the tree every header at or above its height
// descends from it (a header at its height must match it, and one below it
// is refused), which is what btcd's "on the best chain" means here. If
// SetBase prunes it the base is above it, so the finalized-base rule refuses
// everything this one would.
func (t *Tree) findCheckpoint() *Node {
	var best *Node
	for i := range t.params.Checkpoints {
		c := &t.params.Checkpoints[i]
		if c.Hash == nil {
			continue
		}
		if n, ok := t.index[*c.Hash]; ok && n.height == c.Height && (best == nil || n.height > best.height) {
			best = n
		}
	}
	return best
}

// chainCtx is the tree seen through btcd's blockchain.ChainCtx.
type chainCtx struct{ t *Tree }

var _ blockchain.ChainCtx = chainCtx{}

func (c chainCtx) ChainParams() *chaincfg.Params { return c.t.params }
func (c chainCtx) BlocksPerRetarget() int32      { return c.t.blocksPerRetarget }
func (c chainCtx) MinRetargetTimespan() int64    { return c.t.minTimespan }
func (c chainCtx) MaxRetargetTimespan() int64    { return c.t.maxTimespan }

func (c chainCtx) VerifyCheckpoint(height int32, hash *chainhash.Hash) bool {
	return c.t.verifyCheckpoint(height, hash)
}

func (c chainCtx) FindPreviousCheckpoint() (blockchain.HeaderCtx, error) {
	if c.t.cp == nil {
		return nil, nil // untyped nil, see ctxNode.Parent
	}
	return (*ctxNode)(c.t.cp), nil
}

// fixedTime is a blockchain.MedianTimeSource that always reports one time:
// the CometBFT block time, so that the future-time rule never reads the
// local clock. Header times are whole seconds, so a fractional now gives the
// same verdicts as now truncated.
type fixedTime time.Time

var _ blockchain.MedianTimeSource = fixedTime{}

func (f fixedTime) AdjustedTime() time.Time         { return time.Time(f) }
func (f fixedTime) AddTimeSample(string, time.Time) {}
func (f fixedTime) Offset() time.Duration           { return 0 }
