package btcpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// maxTimeouts is how many requests in a row a connection may leave
// unanswered before it is dropped and the peer backed off. One silence is
// not a fault here (Core says nothing for a block it does not know), but a
// connection that answers nothing is likely half-open, and every Block
// would otherwise wait RequestTimeout on it. The peer package's stall
// handler is coarser: it disconnects a peer that has left a getdata
// unanswered for 30 s (checked every 15 s), so with the default
// RequestTimeout one silence ends the connection 0-15 s after Block has
// moved on, and the next request redials after the backoff; with a
// shorter RequestTimeout this limit usually comes first.
const maxTimeouts = 3

// remote is one configured address: its connection, if any, and its
// backoff.
type remote struct {
	pool *Pool
	addr string

	mu       sync.Mutex
	conn     *conn    // the handshaken connection; nil if none
	dialing  *dialing // the dial in progress; nil if none
	failures int      // in a row, for the backoff
	retryAt  time.Time
	lastErr  error // the failure that set retryAt
	timeouts int   // requests in a row left unanswered on conn
	closed   bool
}

// dialing is one dial and handshake, shared by the callers that wait for
// it.
type dialing struct {
	done chan struct{} // closed when c or err is set
	c    *conn
	err  error
}

// block asks this peer for hash, connecting first if needed.
func (r *remote) block(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	c, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := c.request(ctx, hash, r.pool.cfg.RequestTimeout)
	switch {
	case err == nil, errors.Is(err, ErrNotHeld):
		// An answer: the peer works.
		r.mu.Lock()
		r.failures, r.timeouts = 0, 0
		r.mu.Unlock()
	case errors.Is(err, ErrTimeout):
		r.mu.Lock()
		r.timeouts++
		n := r.timeouts
		r.mu.Unlock()
		if n >= maxTimeouts {
			c.drop(fmt.Errorf("%w: %d requests in a row", ErrTimeout, n))
		}
	}
	return raw, err
}

// connect returns the peer's connection, dialling it if there is none and
// the backoff allows. Callers that arrive during a dial wait for it.
func (r *remote) connect(ctx context.Context) (*conn, error) {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil, ErrClosed
	case r.conn != nil:
		c := r.conn
		r.mu.Unlock()
		return c, nil
	case r.dialing == nil && time.Now().Before(r.retryAt):
		err := fmt.Errorf("%w (%v left): %w", ErrBackoff, time.Until(r.retryAt).Round(time.Millisecond), r.lastErr)
		r.mu.Unlock()
		return nil, err
	case r.dialing == nil:
		d := &dialing{done: make(chan struct{})}
		r.dialing = d
		r.pool.wg.Add(1)
		go r.dial(d)
	}
	d := r.dialing
	r.mu.Unlock()
	select {
	case <-d.done:
		return d.c, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dial connects and handshakes, on its own goroutine so that a caller
// giving up does not abandon a half-made connection, and records the
// result.
func (r *remote) dial(d *dialing) {
	defer r.pool.wg.Done()
	c, err := r.open()
	r.mu.Lock()
	r.dialing = nil
	if err == nil && r.closed {
		c.drop(ErrClosed)
		c, err = nil, ErrClosed
	}
	if err == nil && c.ended() {
		// Lost between the handshake and here; lost saw it before the
		// connection was the peer's, so the failure is recorded here.
		c, err = nil, c.reason()
	}
	switch {
	case err == nil:
		r.conn, r.timeouts = c, 0
	case !r.closed:
		r.failLocked(err)
	}
	d.c, d.err = c, err
	close(d.done)
	r.mu.Unlock()
	if err == nil {
		r.pool.cfg.Logger.Info("bitcoin peer connected", "peer", r.addr, "user_agent", c.p.UserAgent(),
			"height", c.p.StartingHeight())
	} else if !errors.Is(err, ErrClosed) {
		r.pool.cfg.Logger.Debug("bitcoin peer: cannot connect", "peer", r.addr, "err", err)
	}
}

// open dials the peer, hands the connection to a btcd peer, which runs the
// version handshake, and waits for it within DialTimeout. It starts the
// connection's watcher, which ends the connection when the peer
// disconnects, whoever disconnects it.
func (r *remote) open() (*conn, error) {
	cfg := r.pool.cfg
	ctx, cancel := context.WithTimeout(r.pool.ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		if r.pool.ctx.Err() != nil {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	c, err := newConn(r.addr, cfg, nc.RemoteAddr())
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	c.p.AssociateConnection(nc)
	r.pool.wg.Add(1)
	go func() {
		defer r.pool.wg.Done()
		c.p.WaitForDisconnect()
		c.end()
		r.lost(c)
	}()
	select {
	case <-c.verack:
		return c, nil
	case <-c.gone:
	case <-ctx.Done():
		if r.pool.ctx.Err() != nil {
			c.drop(ErrClosed)
		} else {
			c.drop(fmt.Errorf("%w: no handshake within %v", ErrDisconnected, cfg.DialTimeout))
		}
	}
	if r.pool.ctx.Err() != nil {
		return nil, ErrClosed
	}
	return nil, fmt.Errorf("handshake: %w", c.reason())
}

// lost is called when c's peer has disconnected: c's requests have failed, and if c
// was the peer's connection the peer is backed off, so that a dropped
// connection is not redialled at once.
func (r *remote) lost(c *conn) {
	reason := c.reason()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != c {
		return // dial has not taken it yet, and will see it ended
	}
	r.conn = nil
	if r.closed {
		return
	}
	r.failLocked(reason)
	r.pool.cfg.Logger.Debug("bitcoin peer disconnected", "peer", r.addr, "reason", reason,
		"retry_in", time.Until(r.retryAt).Round(time.Millisecond))
}

// failLocked records a failure and sets the backoff.
func (r *remote) failLocked(err error) {
	r.failures++
	wait := r.pool.cfg.Backoff
	for i := 1; i < r.failures && wait < r.pool.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, r.pool.cfg.MaxBackoff)
	r.retryAt, r.lastErr = time.Now().Add(wait), err
}

// close drops the connection; a dial in progress ends with the pool's
// context.
func (r *remote) close() {
	r.mu.Lock()
	r.closed = true
	c := r.conn
	r.mu.Unlock()
	if c != nil {
		c.drop(ErrClosed)
	}
}
