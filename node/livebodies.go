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

// liveBodies is the node's app.BodyProvider and the synchronizer's and
// endorser's body source: the body store first, then the configured blk
// files, then libp2p peers, then the node's own Bitcoin node. A body from
// anywhere but the store is checked against its header (app.CheckBody)
// before it is kept; the store holds only checked bodies, and only those
// are served to peers.
type liveBodies struct {
	params *utxo.Params
	log    *slog.Logger
	store  *p2p.BodyStore
	files  *FileBodies   // may be empty
	host   *p2p.Host     // nil without libp2p
	btc    bitcoinBlocks // nil without a Bitcoin node
	// peerWait bounds one round of asking peers.
	peerWait time.Duration

	// want maps the hashes being fetched from peers to the heights their
	// headers have, for the verifier: a peer's body is checked against
	// the header the node asked for, never against what the peer claims.
	want sync.Map // chainhash.Hash → int32

	prefetching atomic.Int32
	bg          sync.WaitGroup // the prefetching goroutines
	newest      atomic.Int32   // highest height kept, for pruning
	puts        atomic.Int64
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
		return raw, nil
	}
	var tried []error
	if b.files.Len() > 0 {
		raw, err := b.files.Body(ctx, hash, height)
		if err == nil {
			if err = b.check(hash, height, raw); err == nil {
				return raw, b.keep(hash, height, raw)
			}
		}
		tried = append(tried, fmt.Errorf("blk files: %w", err))
	}
	if b.host != nil {
		pctx, cancel := context.WithTimeout(ctx, b.peerWait)
		b.want.Store(hash, height)
		raw, err := b.host.Fetch(pctx, hash)
		b.want.Delete(hash)
		cancel()
		if err == nil {
			b.noteKept(height)
			return raw, nil
		}
		tried = append(tried, fmt.Errorf("peers: %w", err))
	}
	if b.btc != nil {
		raw, err := b.btc.Block(ctx, hash)
		if err == nil {
			if err = b.check(hash, height, raw); err == nil {
				return raw, b.keep(hash, height, raw)
			}
		}
		tried = append(tried, fmt.Errorf("bitcoin node: %w", err))
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%w: %s (height %d): not in the body store, and no other source is configured "+
			"([bodies] sources, [p2p], [bitcoin] in app.toml)", app.ErrNoBody, hash, height)
	}
	return nil, fmt.Errorf("%w: %s (height %d): not in the body store; %w", app.ErrNoBody, hash, height, errors.Join(tried...))
}

func (b *liveBodies) check(hash chainhash.Hash, height int32, raw []byte) error {
	_, err := app.CheckBody(b.params, hash, height, raw)
	return err
}

// verify is the p2p host's Verifier: only a body the node asked for (or
// that a peer announced), checked against the height the node expects.
func (b *liveBodies) verify(hash chainhash.Hash, raw []byte) (int32, error) {
	v, ok := b.want.Load(hash)
	if !ok {
		return 0, fmt.Errorf("node: block %s was not asked for", hash)
	}
	height := v.(int32)
	return height, b.check(hash, height, raw)
}

// Keep implements live.BodySink: a body the synchronizer read from its
// Bitcoin node and checked.
func (b *liveBodies) Keep(hash chainhash.Hash, height int32, raw []byte) error {
	return b.keep(hash, height, raw)
}

func (b *liveBodies) keep(hash chainhash.Hash, height int32, raw []byte) error {
	if err := b.store.Put(hash, height, raw); err != nil {
		return fmt.Errorf("node: keeping body %s: %w", hash, err)
	}
	b.noteKept(height)
	return nil
}

// noteKept prunes the store every 256 bodies, below the newest height
// kept minus the retention.
func (b *liveBodies) noteKept(height int32) {
	for {
		cur := b.newest.Load()
		if height <= cur || b.newest.CompareAndSwap(cur, height) {
			break
		}
	}
	if b.puts.Add(1)%256 == 0 {
		if n, err := b.store.Prune(b.newest.Load()); err != nil {
			b.log.Warn("pruning the body store", "err", err)
		} else if n > 0 {
			b.log.Debug("body store pruned", "removed", n)
		}
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
// is here (and served onwards) before the chain asks for it. The height
// is the announcer's word: a wrong one makes the body fail its check, or
// the application checks it again against its own header before use.
func (b *liveBodies) onAnnounce(ctx context.Context) func(peer.ID, p2p.Announcement) {
	return func(from peer.ID, a p2p.Announcement) {
		if b.store.Has(a.Hash) || b.prefetching.Load() >= maxPrefetch {
			return
		}
		b.prefetching.Add(1)
		b.bg.Add(1)
		go func() {
			defer b.bg.Done()
			defer b.prefetching.Add(-1)
			if _, err := b.Body(ctx, a.Hash, a.Height); err != nil && ctx.Err() == nil {
				b.log.Debug("prefetching an announced body", "from", from, "height", a.Height, "hash", a.Hash, "err", err)
			}
		}()
	}
}

var _ app.BodyProvider = (*liveBodies)(nil)
