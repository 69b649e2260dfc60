package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo"
)

// bitcoinBlocks is the part of a Bitcoin node the body chain needs.
type bitcoinBlocks interface {
	Block(ctx context.Context, hash chainhash.Hash) ([]byte, error)
}

// bitcoinPeers is the part of btcpeer.Pool the body chain needs: a block
// and the address of the Bitcoin peer it came from.
type bitcoinPeers interface {
	Block(ctx context.Context, hash chainhash.Hash) (raw []byte, from string, err error)
}

// liveBodies is the node's app.BodyProvider and the synchronizer's and
// endorser's body source. It asks, in this order, and stops at the first
// that has the body:
//
//  1. the body store (data/bodies);
//  2. the blk files of [bodies] sources;
//  3. libp2p peers ([p2p]);
//  4. the node's own Bitcoin node over JSON-RPC ([bitcoin] rpc);
//  5. Bitcoin nodes over the Bitcoin P2P protocol ([bodies] bitcoin_peers).
//
// The cheap and trusted sources come first; Bitcoin peers are the last
// resort of a node without its own Bitcoin node whose libp2p peers pruned
// a body. A body from anywhere but the store is checked against the header
// at the height the node asked for (app.CheckBody; the libp2p host calls
// verify) before it is used or kept; the store holds only checked bodies,
// and only those are served to peers. A body from a Bitcoin peer that
// fails the check ends the call (the same hash from another peer would be
// the same block): the error wraps app.ErrNoBody and the application asks
// again later.
//
// Every body served is logged as "body fetched" with its source. "store",
// "files", "libp2p" and "bitcoin-rpc" are at Debug: each of them may
// serve every block (the endorser reads each block from its Bitcoin node;
// a node catching up reads thousands from files or peers), and the
// application already writes a line per block applied, or a summary
// while catching up. "bitcoin-p2p" (with the peer's address) is at Info:
// the last resort, used only when no better source has the body, which
// an operator wants to see, with the foreign node that served it. The
// libp2p host does not say which peer served a body; it logs that at
// Debug itself.
type liveBodies struct {
	params   *utxo.Params
	log      *slog.Logger
	store    *p2p.BodyStore
	files    *FileBodies   // may be empty
	host     *p2p.Host     // nil without libp2p
	btc      bitcoinBlocks // nil without a Bitcoin node
	btcPeers bitcoinPeers  // nil without [bodies] bitcoin_peers
	// peerWait bounds one round of asking peers.
	peerWait time.Duration
	// headers looks a hash up in the committed header tree and returns the
	// height the tree gives it (app.View.HeaderHeight). Announcements of
	// hashes it does not know are ignored. nil: every announcement is
	// ignored (the node has not started its roles yet).
	headers func(chainhash.Hash) (int32, bool, error)

	// want maps the hashes being fetched from peers to the heights the
	// node's own sources give them (the committed header, the tree, the
	// node's Bitcoin node), for the verifier: a peer's body is checked
	// against the header the node asked for, never against what a peer
	// claims.
	want wants

	prefetching atomic.Int32
	bg          sync.WaitGroup // the prefetching goroutines
	// tip is the committed canonical tip, once haveTip; pruning follows it
	// and nothing else.
	tip     atomic.Int32
	haveTip atomic.Bool
	pruned  int32 // the tip of the last prune; only setTip's goroutine uses it
}

// wants is the node's record of bodies being fetched from peers, one
// entry per hash, counted: callers that want the same hash at once share
// the entry (and, in the host, one fetch), and it is removed only when the
// last of them is done, so a verification in progress never loses the
// height it checks against.
type wants struct {
	mu sync.Mutex
	m  map[chainhash.Hash]*wanted
}

type wanted struct {
	height int32
	refs   int
}

// add records that a caller wants hash at height, and returns the height
// the entry holds: the first caller's. Every height comes from the node's
// own sources, so they agree; if they ever do not, the first one stands
// and the disagreement is reported to the caller.
func (w *wants) add(hash chainhash.Hash, height int32) int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[chainhash.Hash]*wanted)
	}
	e := w.m[hash]
	if e == nil {
		e = &wanted{height: height}
		w.m[hash] = e
	}
	e.refs++
	return e.height
}

// done counts one caller out; the last one removes the entry.
func (w *wants) done(hash chainhash.Hash) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.m[hash]; e != nil {
		if e.refs--; e.refs <= 0 {
			delete(w.m, hash)
		}
	}
}

func (w *wants) height(hash chainhash.Hash) (int32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.m[hash]; e != nil {
		return e.height, true
	}
	return 0, false
}

// maxPrefetch bounds the bodies fetched at once because a peer announced
// them.
const maxPrefetch = 4

// Body implements app.BodyProvider and live.BodySource.
func (b *liveBodies) Body(ctx context.Context, hash chainhash.Hash, height int32) ([]byte, error) {
	raw, ok, err := b.store.Get(hash)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: body store: %w", app.ErrNoBody, hash, err)
	}
	if ok {
		b.log.Debug("body fetched", "source", "store", "height", height, "hash", hash)
		return raw, nil
	}
	var tried []error
	if b.files.Len() > 0 {
		raw, err := b.files.Body(ctx, hash, height)
		if err == nil {
			if err = b.check(hash, height, raw); err == nil {
				b.fetched("files", hash, height)
				return raw, b.keep(hash, height, raw)
			}
		}
		tried = append(tried, fmt.Errorf("blk files: %w", err))
	}
	if b.host != nil {
		pctx, cancel := context.WithTimeout(ctx, b.peerWait)
		var raw []byte
		if h := b.want.add(hash, height); h != height {
			err = fmt.Errorf("node: %s is being fetched at height %d, asked at %d", hash, h, height)
		} else {
			raw, err = b.host.Fetch(pctx, hash)
		}
		b.want.done(hash)
		cancel()
		if err == nil {
			b.fetched("libp2p", hash, height)
			return raw, nil
		}
		tried = append(tried, fmt.Errorf("peers: %w", err))
	}
	if b.btc != nil {
		raw, err := b.btc.Block(ctx, hash)
		if err == nil {
			if err = b.check(hash, height, raw); err == nil {
				b.fetched("bitcoin-rpc", hash, height)
				return raw, b.keep(hash, height, raw)
			}
		}
		tried = append(tried, fmt.Errorf("bitcoin node: %w", err))
	}
	if b.btcPeers != nil {
		raw, from, err := b.btcPeers.Block(ctx, hash)
		if err == nil {
			if err = b.check(hash, height, raw); err == nil {
				b.fetched("bitcoin-p2p", hash, height, "peer", from)
				return raw, b.keep(hash, height, raw)
			}
			// The pool returns only a block whose header hashes to hash
			// and whose transactions match it: what fails here is a rule
			// of the height asked for, which another peer's copy would
			// fail too.
			b.log.Warn("body from a bitcoin peer fails its header", "peer", from, "height", height, "hash", hash, "err", err)
			err = fmt.Errorf("from %s: %w", from, err)
		}
		tried = append(tried, fmt.Errorf("bitcoin peers: %w", err))
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%w: %s (height %d): not in the body store, and no other source is configured "+
			"([bodies] sources or bitcoin_peers, [p2p], [bitcoin] in app.toml)", app.ErrNoBody, hash, height)
	}
	return nil, fmt.Errorf("%w: %s (height %d): not in the body store; %w", app.ErrNoBody, hash, height, errors.Join(tried...))
}

// fetched logs a body served by a source other than the store.
func (b *liveBodies) fetched(source string, hash chainhash.Hash, height int32, attrs ...any) {
	lvl := slog.LevelDebug
	if source == "bitcoin-p2p" {
		lvl = slog.LevelInfo
	}
	b.log.Log(context.Background(), lvl, "body fetched", append(append([]any{"source", source}, attrs...), "height", height, "hash", hash)...)
}

func (b *liveBodies) check(hash chainhash.Hash, height int32, raw []byte) error {
	_, err := app.CheckBody(b.params, hash, height, raw)
	return err
}

// verify is the p2p host's Verifier: only a body the node asked for,
// checked against the height the node's own sources give it. A hash that
// is not (or no longer) wanted cannot be judged: the peer is not at fault,
// since the host's fetch may outlive its last caller by a moment.
func (b *liveBodies) verify(hash chainhash.Hash, raw []byte) (int32, error) {
	height, ok := b.want.height(hash)
	if !ok {
		return 0, fmt.Errorf("%w: node: block %s was not asked for", p2p.ErrCannotVerify, hash)
	}
	return height, b.check(hash, height, raw)
}

// Keep implements live.BodySink: a body the synchronizer read from its
// Bitcoin node and checked.
func (b *liveBodies) Keep(hash chainhash.Hash, height int32, raw []byte) error {
	return b.keep(hash, height, raw)
}

// keep stores a checked body, unless its height is more than
// p2p.MaxBodyLead above the committed tip: the next prune would remove it
// anyway, and a body that high cannot be one the chain is about to need.
// It is still returned to whoever asked for it.
func (b *liveBodies) keep(hash chainhash.Hash, height int32, raw []byte) error {
	if tip, ok := b.committedTip(); ok && int64(height) > int64(tip)+int64(p2p.MaxBodyLead) {
		b.log.Debug("not keeping a body far above the tip", "hash", hash, "height", height, "tip", tip)
		return nil
	}
	if err := b.store.Put(hash, height, raw); err != nil {
		return fmt.Errorf("node: keeping body %s: %w", hash, err)
	}
	return nil
}

// committedTip is the last committed canonical tip setTip saw.
func (b *liveBodies) committedTip() (int32, bool) {
	if !b.haveTip.Load() {
		return 0, false
	}
	return b.tip.Load(), true
}

// setTip records the committed canonical tip after a commit and prunes the
// body store below it (by the retention) and far above it. Only one
// goroutine calls it (liveParts.followCommits).
func (b *liveBodies) setTip(tip int32) {
	first := !b.haveTip.Load()
	b.tip.Store(tip)
	b.haveTip.Store(true)
	if tip == b.pruned && !first {
		return
	}
	b.pruned = tip
	if n, err := b.store.Prune(tip); err != nil {
		b.log.Warn("pruning the body store", "tip", tip, "err", err)
	} else if n > 0 {
		b.log.Debug("body store pruned", "tip", tip, "removed", n)
	}
}

// Announce implements live.BodySink.
func (b *liveBodies) Announce(ctx context.Context, hash chainhash.Hash, height int32, raw []byte) error {
	if b.host == nil {
		return nil
	}
	return b.host.Announce(ctx, p2p.Announcement{Height: height, Hash: hash, Header: [80]byte(raw[:80]), Size: uint32(len(raw))})
}

// onAnnounce fetches an announced body the node does not hold, so that it
// is here (and served onwards) before the chain asks for it. Only hashes
// in the committed header tree are fetched, at the height the tree gives
// them: the announcer's height is never used, since a liar could use it
// to make honest peers' bodies fail their check (a segwit block at height
// 0) or to push pruning (a block at 2^31-1). The lookup runs inline, on
// the host's reader goroutine: it is a few store reads, and junk must not
// take a prefetch slot.
func (b *liveBodies) onAnnounce(ctx context.Context) func(peer.ID, p2p.Announcement) {
	return func(from peer.ID, a p2p.Announcement) {
		if ctx.Err() != nil || b.headers == nil || b.store.Has(a.Hash) || b.prefetching.Load() >= maxPrefetch {
			return
		}
		height, ok, err := b.headers(a.Hash)
		switch {
		case err != nil:
			b.log.Warn("looking up an announced hash", "from", from, "hash", a.Hash, "err", err)
			return
		case !ok:
			b.log.Debug("ignored an announcement of a hash not in the header tree", "from", from, "hash", a.Hash)
			return
		case height != a.Height:
			b.log.Debug("announcement at a height the header tree does not give", "from", from, "hash", a.Hash,
				"announced", a.Height, "tree", height)
		}
		if tip, ok := b.committedTip(); ok && b.store.Retention() > 0 && int64(height) < int64(tip)-int64(b.store.Retention()) {
			return // older than the store keeps: it would be pruned at once
		}
		b.prefetching.Add(1)
		b.bg.Add(1)
		go func() {
			defer b.bg.Done()
			defer b.prefetching.Add(-1)
			if _, err := b.Body(ctx, a.Hash, height); err != nil && ctx.Err() == nil {
				b.log.Debug("prefetching an announced body", "from", from, "height", height, "hash", a.Hash, "err", err)
			}
		}()
	}
}

var _ app.BodyProvider = (*liveBodies)(nil)
