package btcpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/peer"
	"github.com/btcsuite/btcd/wire"
)

// maxInFlight bounds the distinct blocks asked of one connection at once,
// so that one caller's burst does not flood a peer. Being below the peer
// package's output queue (50 messages) it also keeps QueueMessage from
// blocking on a connection whose writer has already stopped.
const maxInFlight = 32

// conn is one connection to a peer: a btcd peer.Peer, which reads, writes,
// answers pings, pings an idle peer and drops a stalled one, and the
// requests waiting on it, keyed by block hash. The peer package calls the
// listeners below on its reading goroutine, one message at a time.
type conn struct {
	addr     string
	log      *slog.Logger
	maxBlock int
	p        *peer.Peer // set by newConn, before the connection is associated

	verack chan struct{} // closed by onVerAck: the handshake is done
	gone   chan struct{} // closed by end, once the peer has disconnected

	mu         sync.Mutex
	handshaken bool
	waiting    map[chainhash.Hash]*request
	fault      error // the first reason the connection was dropped
	dead       bool
}

// request is one getdata in flight, shared by the callers of its hash.
// Whoever removes it from conn.waiting (under conn.mu) finishes it, once.
type request struct {
	done chan struct{}
	raw  []byte
	err  error
	refs int // callers waiting
}

func (q *request) finish(raw []byte, err error) {
	q.raw, q.err = raw, err
	close(q.done)
}

// newConn returns the connection to addr, whose TCP connection, to remote,
// is yet to be associated with c.p: that starts the handshake.
func newConn(addr string, cfg Config, remote net.Addr) (*conn, error) {
	c := &conn{addr: addr, log: cfg.Logger, maxBlock: cfg.MaxBlockBytes,
		verack: make(chan struct{}), gone: make(chan struct{}), waiting: make(map[chainhash.Hash]*request)}
	p, err := peer.NewOutboundPeer(peerConfig(cfg, c, remote), addr)
	if err != nil {
		return nil, err
	}
	c.p = p
	return c, nil
}

// onRead sees every message, and every read error, before the peer package
// acts on it, during the handshake too. It drops the connection on any
// read error but an unknown command (features satnode does not know:
// sendcmpct, wtxidrelay, ...), which the peer package skips.
//
// The peer package itself would keep reading after a malformed message
// (bad checksum, other network's magic, oversized payload: a
// *wire.MessageError) on regtest from 127.0.0.1 or localhost, for btcd's
// own regression tests (Peer.isAllowedReadError). Dropping here first
// makes a regtest peer on loopback as untrusted as any other: the peer
// package sees the disconnect and stops.
func (c *conn) onRead(_ *peer.Peer, _ int, msg wire.Message, err error) {
	switch {
	case errors.Is(err, wire.ErrUnknownMessage):
	case err != nil:
		err = classify(err)
		if c.drop(err) && errors.Is(err, ErrProtocol) {
			c.log.Warn("bitcoin peer sent junk; disconnecting", "peer", c.addr, "err", err)
		}
	case c.isHandshaken():
		switch msg.(type) {
		case *wire.MsgVersion, *wire.MsgVerAck, *wire.MsgSendAddrV2:
			// The peer package disconnects too; this records why.
			c.drop(fmt.Errorf("%w: %s after the handshake", ErrProtocol, msg.Command()))
		}
	}
}

// onWrite records a failed write; the peer package disconnects.
func (c *conn) onWrite(_ *peer.Peer, _ int, msg wire.Message, err error) {
	if err != nil {
		c.drop(fmt.Errorf("%w: writing %s: %v", ErrDisconnected, msg.Command(), err))
	}
}

// classify wraps a read error in ErrDisconnected (the connection ended or
// timed out) or ErrProtocol (what was read does not decode).
func classify(err error) error {
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) {
		return fmt.Errorf("%w: %v", ErrDisconnected, err)
	}
	return fmt.Errorf("%w: %v", ErrProtocol, err)
}

// onVerAck ends the handshake: the peer package calls it when the peer's
// verack arrives, just before it starts its message handlers.
func (c *conn) onVerAck(*peer.Peer, *wire.MsgVerAck) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.handshaken {
		c.handshaken = true
		close(c.verack)
	}
}

func (c *conn) isHandshaken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handshaken
}

// onBlock hands a block to the request for its hash. A block nobody asked
// for (announced, late, or another block than the one asked for) is
// dropped. buf is the message's payload, the block as the peer serialized
// it; it is copied, since the result outlives the callback.
func (c *conn) onBlock(_ *peer.Peer, m *wire.MsgBlock, buf []byte) {
	hash := m.BlockHash()
	c.mu.Lock()
	q := c.waiting[hash]
	delete(c.waiting, hash)
	c.mu.Unlock()
	if q == nil {
		c.log.Debug("dropped a block not asked for", "peer", c.addr, "hash", hash)
		return
	}
	if len(buf) > c.maxBlock {
		q.finish(nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(buf), c.maxBlock))
		return
	}
	if err := checkBlock(m, buf); err != nil {
		q.finish(nil, err)
		c.log.Warn("bitcoin peer sent a block that does not match its header; disconnecting", "peer", c.addr,
			"hash", hash, "err", err)
		c.drop(err)
		return
	}
	q.finish(bytes.Clone(buf), nil)
}

// checkBlock checks what can be checked without knowing the chain: buf is
// m's exact serialization, its transactions hash to the header's merkle
// root and, if any carries witness data, the coinbase commits to it. A
// block without witness data is not checked for a commitment: before
// segwit activated a coinbase output could look like one, and only the
// caller knows the height.
func checkBlock(m *wire.MsgBlock, buf []byte) error {
	if len(m.Transactions) == 0 {
		return fmt.Errorf("%w: no transactions", ErrBadBlock)
	}
	if n := m.SerializeSize(); n != len(buf) {
		return fmt.Errorf("%w: %d bytes in the message, %d in the block", ErrBadBlock, len(buf), n)
	}
	b := btcutil.NewBlock(m)
	if root := blockchain.CalcMerkleRoot(b.Transactions(), false); root != m.Header.MerkleRoot {
		return fmt.Errorf("%w: merkle root %s, header says %s", ErrBadBlock, root, m.Header.MerkleRoot)
	}
	for _, tx := range m.Transactions {
		if tx.HasWitness() {
			if err := blockchain.ValidateWitnessCommitment(b); err != nil {
				return fmt.Errorf("%w: %v", ErrBadBlock, err)
			}
			break
		}
	}
	return nil
}

// onNotFound fails the requests for the blocks the peer says it does not
// have.
func (c *conn) onNotFound(_ *peer.Peer, m *wire.MsgNotFound) {
	for _, iv := range m.InvList {
		if iv.Type != wire.InvTypeBlock && iv.Type != wire.InvTypeWitnessBlock {
			continue
		}
		c.mu.Lock()
		q := c.waiting[iv.Hash]
		delete(c.waiting, iv.Hash)
		c.mu.Unlock()
		if q != nil {
			q.finish(nil, ErrNotHeld)
		}
	}
}

// getData asks for the witness serialization of hash: the caller checks the
// witness commitment, so the witness data must come too.
func getData(hash chainhash.Hash) *wire.MsgGetData {
	m := wire.NewMsgGetDataSizeHint(1)
	_ = m.AddInvVect(wire.NewInvVect(wire.InvTypeWitnessBlock, &hash)) // one of MaxInvPerMsg
	return m
}

// request asks the peer for hash, or joins the request already in flight,
// and waits for the answer, timeout, or ctx.
func (c *conn) request(ctx context.Context, hash chainhash.Hash, timeout time.Duration) ([]byte, error) {
	c.mu.Lock()
	if c.dead {
		err := c.fault
		c.mu.Unlock()
		return nil, err
	}
	q := c.waiting[hash]
	first := q == nil
	if first {
		if len(c.waiting) >= maxInFlight {
			c.mu.Unlock()
			return nil, ErrBusy
		}
		q = &request{done: make(chan struct{})}
		c.waiting[hash] = q
	}
	q.refs++
	c.mu.Unlock()
	if first {
		// Queued, not written: the peer package's writer sends it. A
		// failed write disconnects the peer, whose end fails q; on a
		// connection already ending it is not sent and end fails q.
		c.p.QueueMessage(getData(hash), nil)
	}

	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-q.done:
		return q.raw, q.err
	case <-t.C:
		err = fmt.Errorf("%w (%v)", ErrTimeout, timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.mu.Lock()
	q.refs--
	if q.refs == 0 && c.waiting[hash] == q {
		// Nobody waits any more: a late answer is dropped as not asked
		// for.
		delete(c.waiting, hash)
	}
	c.mu.Unlock()
	select {
	case <-q.done: // answered meanwhile
		return q.raw, q.err
	default:
		return nil, err
	}
}

// fail records reason if it is the first; it reports whether it was.
func (c *conn) fail(reason error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fault != nil {
		return false
	}
	c.fault = reason
	return true
}

// drop disconnects the peer for reason, which is kept if it is the first;
// it reports whether it was. It does not block: it is called from the
// peer package's listeners too. The watcher started by remote.open then
// ends the connection.
func (c *conn) drop(reason error) bool {
	first := c.fail(reason)
	c.p.Disconnect()
	return first
}

// end marks the connection dead once the peer has disconnected and fails
// every request waiting on it with the reason. A disconnect nobody
// recorded a reason for is the peer package's own decision.
func (c *conn) end() {
	c.mu.Lock()
	if c.fault == nil && !c.handshaken {
		// What the peer package refuses without a listener seeing it:
		// a first message other than version, another message than
		// sendaddrv2 or verack after it, a connection to itself, or no
		// verack within its 30 s negotiation timeout.
		c.fault = fmt.Errorf("%w: handshake refused by btcd's peer package", ErrProtocol)
	} else if c.fault == nil {
		// Its stall handler (a getdata left unanswered for 30 s, checked
		// every 15 s) or its idle timeout (nothing, not even a pong,
		// for 5 min).
		c.fault = fmt.Errorf("%w: stalled or idle (btcd's peer package disconnected it)", ErrDisconnected)
	}
	c.dead = true
	waiting := c.waiting
	c.waiting = map[chainhash.Hash]*request{}
	reason := c.fault
	c.mu.Unlock()
	for _, q := range waiting {
		q.finish(nil, reason)
	}
	close(c.gone)
}

func (c *conn) ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// reason is why the connection ended (or is ending).
func (c *conn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fault == nil {
		return ErrDisconnected
	}
	return c.fault
}
