package app

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// ErrNoView: nothing has been committed yet (a fresh chain before its first
// block), so there is no state to read.
var ErrNoView = errors.New("app: no committed state yet")

// BlockRef names a Bitcoin block.
type BlockRef struct {
	Height int32
	Hash   chainhash.Hash
}

// String is the block as a paging cursor, HEIGHT:HASH with the hash as
// Bitcoin prints it: what ParseBlockRef reads back.
func (r BlockRef) String() string {
	return strconv.FormatInt(int64(r.Height), 10) + ":" + r.Hash.String()
}

// ParseBlockRef reads HEIGHT:HASH: a plain decimal height (no sign) and a
// 64-digit hex hash.
func ParseBlockRef(s string) (BlockRef, error) {
	hs, hashHex, found := strings.Cut(s, ":")
	height, err := strconv.ParseInt(hs, 10, 32)
	if !found || err != nil || height < 0 || hs == "" || strings.TrimLeft(hs, "0123456789") != "" ||
		len(hashHex) != 2*chainhash.HashSize {
		return BlockRef{}, fmt.Errorf("app: %q is not HEIGHT:HASH", s)
	}
	hash, err := chainhash.NewHashFromStr(hashHex)
	if err != nil {
		return BlockRef{}, fmt.Errorf("app: %q is not HEIGHT:HASH: %v", s, err)
	}
	return BlockRef{Height: int32(height), Hash: *hash}, nil
}

// View is the state of one commit, for readers outside consensus (the RPC
// server): a snapshot of the store taken right after the commit's atomic
// write, so every key read through Reader belongs to that commit, and a
// copy of the consensus summary at the same instant. Nothing in a View
// changes. Hold it with Views.Acquire and give it back with Release: the
// snapshot is freed when the last holder releases it.
type View struct {
	ChainID string
	// Height, AppHash and Time are the CometBFT block's.
	Height  int64
	AppHash [32]byte
	Time    time.Time
	// AppHashVersion is the chain's app hash version (1 or 2), and
	// Commitments what AppHash was computed from. When AppHashVersion is
	// 2, Commitments.Root() == AppHash, so Commitments.Prove proves a
	// part of this view's state (the UTXO tree's root, say) against the
	// app hash of the block at Height, which CometBFT's header of block
	// Height+1 carries (and ≥ 2/3 of the stake signs with the commit of
	// Height+1). In a v1 chain they are the same
	// values, but AppHash is not their Root (and UTXORoot is zero in a
	// store that keeps no UTXO tree).
	AppHashVersion int
	Commitments    apphash.Commitments
	Params         *utxo.Params
	// FinalityDepth is the chain parameter: how far below Tip the
	// finalized base is kept.
	FinalityDepth int32
	// ChainParams are the chain's genesis parameters.
	ChainParams Params
	// Tip is the UTXO set's tip: the last applied block of the canonical
	// chain. TipWork is its cumulative work as the header tree counts it.
	Tip     BlockRef
	TipWork [32]byte
	// Final is the finalized base: no reorg reaches it.
	Final BlockRef
	// BestHeader is the most-work header known, endorsed or not.
	BestHeader BlockRef
	// Endorsed is the tip of the most-work chain of endorsed headers: where
	// the set is heading (equal to Tip once every endorsed body is applied).
	Endorsed BlockRef
	// Pending is what PendingPage pages over in a view built by hand
	// (tests); the application's views leave it empty and PendingPage
	// reads the committed records from the store instead, so publishing a
	// view costs nothing per pending header.
	Pending []PendingBlock
	// Unendorsed counts the pending blocks (PendingPage) not yet endorsed.
	Unendorsed    int
	Validators    []staking.Validator
	Powers        map[tx.Address]int64
	Synchronizers []staking.Synchronizer
	// TotalPower is the bonded voting power; NeededPower the least power
	// whose endorsements make a block endorsed (two thirds, rounded up).
	TotalPower, NeededPower int64
	// Reader reads the committed store. Valid until Release.
	Reader *utxo.Reader

	snap      utxo.Snapshot
	fromStore bool
	refs      atomic.Int64
}

// PendingBlock is a header above the finalized base and how far its
// endorsement got.
type PendingBlock struct {
	BlockRef
	Submitter     tx.Address
	Endorsers     []tx.Address
	EndorsedPower int64
	Endorsed      bool
	// Canonical: on the chain of Tip (its block is applied).
	Canonical bool
	Paid      bool
}

// PendingPage lists pending blocks, the headers above the finalized base
// whose block is not applied (not on Tip's chain), in (height, hash) order:
// at most limit of them after the cursor (nil: from the first), and the
// cursor of the next page (nil after the last). Blocks already applied are
// finished and never listed, so the cost of a page does not grow with the
// chain's history.
func (v *View) PendingPage(after *BlockRef, limit int) ([]PendingBlock, *BlockRef, error) {
	if limit < 1 {
		limit = 1
	}
	if !v.fromStore {
		return v.pendingFromList(after, limit)
	}
	var out []PendingBlock
	var next *BlockRef
	err := v.eachRecord(after, func(r *blockRec) (bool, error) {
		if r.height <= v.Tip.Height {
			h, err := v.Reader.HeightOf(r.hash)
			if err == nil && h == r.height {
				return true, nil // applied: finished
			}
			if err != nil && !errors.Is(err, utxo.ErrNotFound) {
				return false, err
			}
		}
		if len(out) == limit {
			last := out[len(out)-1].BlockRef
			next = &last
			return false, nil
		}
		p := PendingBlock{BlockRef: BlockRef{r.height, r.hash}, Submitter: r.submitter, Endorsers: r.endorsers,
			Endorsed: r.endorsed, Paid: r.paid}
		for _, op := range r.endorsers {
			p.EndorsedPower += v.Powers[op]
		}
		out = append(out, p)
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// eachRecord calls fn with the committed endorsement records after the
// cursor (nil: from the first), in key order (height, hash), until fn
// returns false or an error. Every record is above the finalized base, so
// the walk starts there whatever the cursor says.
func (v *View) eachRecord(after *BlockRef, fn func(*blockRec) (bool, error)) error {
	start := recKey(v.Final.Height+1, chainhash.Hash{})
	if after != nil && after.Height > v.Final.Height {
		start = append(recKey(after.Height, after.Hash), 0)
	}
	it := v.snap.Iterate(prefixEndorse, start)
	defer it.Release()
	for it.Next() {
		r, err := decodeRec(it.Key(), it.Value())
		if err != nil {
			return err
		}
		if more, err := fn(r); err != nil || !more {
			return err
		}
	}
	return it.Err()
}

// pendingFromList pages Pending, for views built by hand (tests).
func (v *View) pendingFromList(after *BlockRef, limit int) ([]PendingBlock, *BlockRef, error) {
	var out []PendingBlock
	for _, p := range v.Pending {
		if p.Canonical {
			continue
		}
		if after != nil && (p.Height < after.Height || p.Height == after.Height && bytes.Compare(p.Hash[:], after.Hash[:]) <= 0) {
			continue
		}
		if len(out) == limit {
			last := out[len(out)-1].BlockRef
			return out, &last, nil
		}
		out = append(out, p)
	}
	return out, nil, nil
}

// Account reads an account of the committed state.
func (v *View) Account(addr tx.Address) (staking.Account, bool, error) {
	return staking.ReadAccount(v.snap, prefixStaking, addr)
}

// Release gives the view back; the caller must not use it afterwards.
func (v *View) Release() {
	if v.refs.Add(-1) == 0 {
		v.snap.Release()
	}
}

// Event is what one commit did to the Bitcoin chain: the blocks it
// disconnected and connected, in the order applied (on a reorg the
// disconnects come first), with their coin changes and how long each took.
type Event struct {
	Height int64
	Tip    BlockRef
	Blocks []*utxo.BlockChange
	// Elapsed[i] is how long connecting or disconnecting Blocks[i] took.
	Elapsed []time.Duration
}

// Views hands out the latest View and fans commit events out to
// subscribers. The application publishes to it from Commit.
type Views struct {
	mu  sync.Mutex
	cur *View
	// recent are the last ProofWindow views, oldest first (cur last),
	// each holding one reference: proofs can be asked for at any of them.
	recent []*View
	subs   map[*Subscription]struct{}
	closed bool
}

// ProofWindow is how many recent commits stay readable through AcquireAt:
// a proof can be asked for at any of the last 64 CometBFT heights (a few
// minutes of blocks). Each holds a store snapshot, which keeps the
// versions it reads from being compacted away, so the window is small.
const ProofWindow = 64

// ErrViewGone: the height asked for is not among the recent views (too
// old, not yet committed, or the node restarted since).
var ErrViewGone = errors.New("app: that height is not among the recent commits")

// AcquireAt returns the view of CometBFT height h, if it is among the
// last ProofWindow commits; the caller must Release it.
func (h *Views) AcquireAt(height int64) (*View, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return nil, ErrNoView
	}
	for _, v := range h.recent {
		if v.Height == height {
			v.refs.Add(1)
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: %d (the last %d are kept; the latest is %d)", ErrViewGone, height, ProofWindow, h.cur.Height)
}

// Close releases the latest view and ends every subscription; Acquire then
// fails. The node calls it before closing the store, whose snapshots must
// not outlive it. Views already acquired stay valid until released.
func (h *Views) Close() {
	h.mu.Lock()
	old := h.recent
	h.cur, h.recent, h.closed = nil, nil, true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.c)
	}
	h.mu.Unlock()
	for _, v := range old {
		v.Release()
	}
}

// clear forgets the published views (a state-sync restore replaces the
// state they read); subscriptions stay. Views already acquired stay valid
// until released.
func (h *Views) clear() {
	h.mu.Lock()
	old := h.recent
	h.cur, h.recent = nil, nil
	h.mu.Unlock()
	for _, v := range old {
		v.Release()
	}
}

// Acquire returns the latest view, which the caller must Release, or
// ErrNoView before the first commit.
func (h *Views) Acquire() (*View, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return nil, ErrNoView
	}
	h.cur.refs.Add(1)
	return h.cur, nil
}

// Publish makes v, read through snap, the latest view and sends ev, if
// any, to every subscriber. The Views owns snap from now on and releases it
// when the view is replaced and its last holder is done. The application
// publishes at each commit; tests and benchmarks publish views of stores
// they built themselves.
func (h *Views) Publish(v *View, snap utxo.Snapshot, ev *Event) {
	v.snap = snap
	if v.Reader == nil {
		v.Reader = utxo.NewReader(snap)
	}
	h.publish(v, ev)
}

// publish makes v the latest view (the Views holds one reference to it
// from now on) and sends ev, if any, to every subscriber.
func (h *Views) publish(v *View, ev *Event) {
	v.refs.Store(1)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		v.Release()
		return
	}
	var old *View
	if n := len(h.recent); n > 0 && h.recent[n-1].Height == v.Height {
		// A view of the same height replaces it (a store re-read at
		// start, a test publishing by hand).
		old, h.recent = h.recent[n-1], h.recent[:n-1]
	} else if n >= ProofWindow {
		old = h.recent[0]
		h.recent = append(h.recent[:0], h.recent[1:]...)
	}
	h.recent = append(h.recent, v)
	h.cur = v
	if ev != nil {
		for s := range h.subs {
			select {
			case s.c <- ev:
			default:
				// A subscriber that cannot keep up is cut off rather
				// than allowed to hold back Commit or grow without
				// bound; it sees Lagged and starts again from a view.
				s.lagged.Store(true)
				delete(h.subs, s)
				close(s.c)
			}
		}
	}
	h.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// Subscription receives the events of every commit after Subscribe, in
// order, until it is closed or falls more than its buffer behind (then C
// is closed and Lagged reports true).
type Subscription struct {
	h      *Views
	c      chan *Event
	C      <-chan *Event
	lagged atomic.Bool
}

// Subscribe starts a subscription with room for buffer events.
func (h *Views) Subscribe(buffer int) *Subscription {
	s := &Subscription{h: h, c: make(chan *Event, max(buffer, 1))}
	s.C = s.c
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*Subscription]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

// Lagged reports whether the subscription was cut off for falling behind.
func (s *Subscription) Lagged() bool { return s.lagged.Load() }

// Close ends the subscription; C is closed.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if _, ok := s.h.subs[s]; ok {
		delete(s.h.subs, s)
		close(s.c)
	}
}

// CacheStats returns the UTXO engine's coin cache hits and misses (zero
// before InitChain). Safe to call from any goroutine.
func (a *App) CacheStats() (hits, misses uint64) {
	if e := a.engineRef.Load(); e != nil {
		return e.CacheStats()
	}
	return 0, 0
}

// Views returns the application's view hub.
func (a *App) Views() *Views { return &a.views }

// neededPower is the least power p with staking.Endorsed(p, total).
func neededPower(total int64) int64 {
	if total <= 0 {
		return 0
	}
	p := total / 3 * 2
	for !staking.Endorsed(p, total) {
		p++
	}
	return p
}

// publishView takes a snapshot of the store, which must hold exactly the
// committed state, copies the consensus summary beside it and publishes
// both with the commit's event. blockTime is the CometBFT block's time.
func (a *App) publishView(blockTime time.Time) error {
	tip, err := a.btcTip()
	if err != nil {
		return err
	}
	snap, err := a.cfg.Store.Snapshot()
	if err != nil {
		return err
	}
	sv := a.stakeSummary()
	endorsed := a.endorsedTip
	if endorsed == nil {
		endorsed = a.tree.BestChain(a.isEndorsed)
	}
	v := &View{
		ChainID: a.chainID, Height: a.height, AppHash: a.appHash, Time: blockTime,
		AppHashVersion: int(a.hashVersion), Commitments: a.commits,
		Params: a.engine.Params(), FinalityDepth: a.params.FinalityDepth, ChainParams: a.params,
		Tip: ref(tip), TipWork: tip.Work(), Final: ref(a.tree.Base()), BestHeader: ref(a.tree.BestHeader()),
		Endorsed: ref(endorsed), Validators: sv.validators, Powers: sv.powers, Synchronizers: sv.synchronizers,
		TotalPower: sv.total, NeededPower: neededPower(sv.total), Unendorsed: a.recs.unendorsed,
		Reader: utxo.NewReader(snap), snap: snap, fromStore: true,
	}
	var ev *Event
	if len(a.changes) > 0 {
		ev = &Event{Height: a.height, Tip: v.Tip, Blocks: a.changes, Elapsed: a.elapsed}
		a.changes, a.elapsed = nil, nil
	}
	a.views.publish(v, ev)
	return nil
}

func ref(n *btcheaders.Node) BlockRef { return BlockRef{n.Height(), n.Hash()} }

// stakeView is the staking part of a View. Views share it, read-only,
// until the staking state changes: most commits change nothing in it, and
// copying thousands of validators each block would make a commit's cost
// follow the state's size.
type stakeView struct {
	root          [32]byte
	validators    []staking.Validator
	powers        map[tx.Address]int64
	synchronizers []staking.Synchronizer
	total         int64
}

func (a *App) stakeSummary() *stakeView {
	root := a.stake.Root()
	if a.stakeView != nil && a.stakeView.root == root {
		return a.stakeView
	}
	sv := &stakeView{root: root, validators: a.stake.Validators(), powers: map[tx.Address]int64{},
		synchronizers: a.stake.Synchronizers(), total: a.stake.TotalPower()}
	for _, val := range sv.validators {
		sv.powers[val.Operator] = a.stake.Power(val.Operator)
	}
	a.stakeView = sv
	return sv
}
