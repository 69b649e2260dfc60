package btcpeer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// Pool fetches blocks from a fixed list of Bitcoin nodes. It is safe for
// concurrent use.
type Pool struct {
	cfg   Config
	peers []*remote // in Config.Addrs order

	// ctx ends at Close: dials and handshakes in progress give up.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the dialling goroutines and the connection watchers, which
	// Close waits for.
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg and returns a pool. It dials nothing: each peer is
// connected at the first Block that asks it.
func New(cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{cfg: cfg, ctx: ctx, cancel: cancel}
	for _, a := range cfg.Addrs {
		p.peers = append(p.peers, &remote{pool: p, addr: a})
	}
	return p, nil
}

// Block returns the serialized block hash, with its witness data, and the
// address of the peer it came from. It asks the peers in order, each for
// at most RequestTimeout (plus DialTimeout if it is not connected), and
// skips those backing off after a failure. The block's header hashes to
// hash and its transactions match the header's merkle root (and witness
// commitment, if it has witness data); every other rule is the caller's to
// check. Concurrent callers of one hash may get the same slice: it must
// not be modified.
//
// If no peer supplies it the error wraps ErrNotFound and a PeerError per
// peer; if ctx ends first, ctx's error; after Close, ErrClosed.
func (p *Pool) Block(ctx context.Context, hash chainhash.Hash) (raw []byte, from string, err error) {
	var failures []error
	for _, r := range p.peers {
		if p.ctx.Err() != nil {
			return nil, "", ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, "", fmt.Errorf("btcpeer: block %s: %w", hash, err)
		}
		raw, err := r.block(ctx, hash)
		if err == nil {
			return raw, r.addr, nil
		}
		if errors.Is(err, ErrClosed) || p.ctx.Err() != nil {
			return nil, "", ErrClosed
		}
		if ctx.Err() != nil {
			// The caller gave up; the peer is not at fault.
			return nil, "", fmt.Errorf("btcpeer: block %s: %w", hash, ctx.Err())
		}
		p.cfg.Logger.Debug("bitcoin peer did not supply a block", "peer", r.addr, "hash", hash, "err", err)
		failures = append(failures, &PeerError{Addr: r.addr, Err: err})
	}
	return nil, "", fmt.Errorf("%w: %s: %w", ErrNotFound, hash, errors.Join(failures...))
}

// Close disconnects every peer and waits for the pool's goroutines. Block
// calls in progress return ErrClosed. The peer package's own goroutines of
// a connection end once its socket is closed, just after; it offers no way
// to wait for them. It always returns nil; the error is for io.Closer.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		for _, r := range p.peers {
			r.close()
		}
	})
	p.wg.Wait()
	return nil
}
