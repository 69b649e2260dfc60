package btcdtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// SubmitError is a block the node did not accept. submitblock answers with
// a string instead of an error object: btcd "rejected: <rule error>", Core
// "duplicate", "inconclusive", "high-hash", ...
type SubmitError struct {
	Hash   chainhash.Hash // the submitted block's hash (zero if shorter than a header)
	Reason string
}

func (e *SubmitError) Error() string {
	return fmt.Sprintf("btcdtest: block %s not accepted: %s", e.Hash, e.Reason)
}

// SubmitBlock submits a serialized block. Errors are *SubmitError for a
// rejection and the client's errors (*btcnode.RPCError for a block that
// does not decode) otherwise.
func (n *Node) SubmitBlock(ctx context.Context, raw []byte) error {
	var reason *string
	if err := n.Client.Call(ctx, "submitblock", []any{hex.EncodeToString(raw)}, &reason); err != nil {
		return err
	}
	if reason != nil {
		var hash chainhash.Hash
		if len(raw) >= 80 {
			hash = chainhash.DoubleHashH(raw[:80])
		}
		return &SubmitError{Hash: hash, Reason: *reason}
	}
	return nil
}

// Generate mines count blocks paying Options.MiningAddr and returns their
// hashes.
func (n *Node) Generate(ctx context.Context, count int) ([]chainhash.Hash, error) {
	var ss []string
	if err := n.Client.Call(ctx, "generate", []any{count}, &ss); err != nil {
		return nil, err
	}
	hashes := make([]chainhash.Hash, len(ss))
	for i, s := range ss {
		h, err := chainhash.NewHashFromStr(s)
		if err != nil || len(s) != 64 {
			return nil, fmt.Errorf("btcdtest: generate returned %q, not a hash", s)
		}
		hashes[i] = *h
	}
	if len(hashes) != count {
		return hashes, fmt.Errorf("btcdtest: generate %d returned %d hashes", count, len(hashes))
	}
	return hashes, nil
}

// InvalidateBlock marks a block and its descendants invalid, which moves
// the tip back to its parent (or to another branch with more work). btcd
// reports an unknown hash as -32600 "Invalid request: malformed": it turns
// every handler error that is not an RPC error into that.
func (n *Node) InvalidateBlock(ctx context.Context, hash chainhash.Hash) error {
	return n.Client.Call(ctx, "invalidateblock", []any{hash.String()}, nil)
}

// ReconsiderBlock undoes InvalidateBlock for a block and its descendants.
func (n *Node) ReconsiderBlock(ctx context.Context, hash chainhash.Hash) error {
	return n.Client.Call(ctx, "reconsiderblock", []any{hash.String()}, nil)
}

// WaitHeight waits until the node's best chain is at least h blocks high,
// failing the test after timeout.
func (n *Node) WaitHeight(tb testing.TB, h int32, timeout time.Duration) {
	tb.Helper()
	var last int32 = -1
	n.waitFor(tb, timeout, func(ctx context.Context) (bool, error) {
		info, err := n.Client.ChainInfo(ctx)
		if err != nil {
			return false, err
		}
		last = info.Blocks
		return info.Blocks >= h, nil
	}, func() string { return fmt.Sprintf("height %d (at %d)", h, last) })
}

// WaitTip waits until the node's best block is hash, failing the test
// after timeout.
func (n *Node) WaitTip(tb testing.TB, hash chainhash.Hash, timeout time.Duration) {
	tb.Helper()
	var last chainhash.Hash
	n.waitFor(tb, timeout, func(ctx context.Context) (bool, error) {
		got, err := n.Client.BestBlockHash(ctx)
		if err != nil {
			return false, err
		}
		last = got
		return got == hash, nil
	}, func() string { return fmt.Sprintf("tip %s (at %s)", hash, last) })
}

// waitFor polls cond until it is true, an RPC fails, or timeout passes.
func (n *Node) waitFor(tb testing.TB, timeout time.Duration, cond func(context.Context) (bool, error), what func() string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil && ctx.Err() == nil {
			tb.Fatalf("btcdtest: node %s waiting for %s: %v", n.P2PAddr, what(), err)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("btcdtest: node %s: no %s after %v", n.P2PAddr, what(), timeout)
		case <-t.C:
		}
	}
}

// Peer is the part of getpeerinfo Connect looks at.
type Peer struct {
	ID        int32  `json:"id"`
	Addr      string `json:"addr"`
	AddrLocal string `json:"addrlocal"`
	Inbound   bool   `json:"inbound"`
	Version   uint32 `json:"version"`
	Height    int32  `json:"currentheight"`
}

// Peers returns the node's peers (getpeerinfo).
func (n *Node) Peers(ctx context.Context) ([]Peer, error) {
	var ps []Peer
	err := n.Client.Call(ctx, "getpeerinfo", nil, &ps)
	return ps, err
}

// connectTimeout bounds Connect's wait for the handshake.
const connectTimeout = 30 * time.Second

// Connect makes n connect to other (`addnode <addr> add`, a persistent
// peer that btcd reconnects after a restart) and waits until both list the
// connection with a completed version handshake: n as an outbound peer at
// other.P2PAddr, other as the inbound peer whose address is that
// connection's local end.
//
// Blocks with old timestamps, such as chaingen's, do not spread over an
// existing connection: btcd announces a block only while its own tip is
// less than a day old, and ignores announcements from peers other than its
// sync peer while its tip is older than that. A node does sync from a
// higher peer when a connection is made, so connect after submitting, or
// call Reconnect. (Without either, the lower node drops the higher one
// 30 s after its unanswered getblocks, redials it 5 s later as a
// persistent peer, and syncs then. Two nodes at the same height go through
// that cycle too, harmlessly.)
func (n *Node) Connect(tb testing.TB, other *Node) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := n.Client.Call(ctx, "addnode", []any{other.P2PAddr, "add"}, nil); err != nil {
		tb.Fatalf("btcdtest: addnode %s add: %v", other.P2PAddr, err)
	}
	n.waitFor(tb, connectTimeout, func(ctx context.Context) (bool, error) {
		p, err := n.outboundTo(ctx, other)
		if p == nil || err != nil {
			return false, err
		}
		in, err := other.Peers(ctx)
		if err != nil {
			return false, err
		}
		for _, q := range in {
			if q.Inbound && q.Addr == p.AddrLocal && q.Version != 0 {
				return true, nil
			}
		}
		return false, nil
	}, func() string { return "a connection to " + other.P2PAddr })
}

// Reconnect drops n's connection to other (`addnode <addr> remove`) and
// makes a new one with Connect, so that the lower of the two syncs from
// the higher (see Connect for why that is needed).
func (n *Node) Reconnect(tb testing.TB, other *Node) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := n.Client.Call(ctx, "addnode", []any{other.P2PAddr, "remove"}, nil); err != nil {
		tb.Fatalf("btcdtest: addnode %s remove: %v", other.P2PAddr, err)
	}
	n.waitFor(tb, connectTimeout, func(ctx context.Context) (bool, error) {
		p, err := n.outboundTo(ctx, other)
		return p == nil && err == nil, err
	}, func() string { return "disconnection from " + other.P2PAddr })
	n.Connect(tb, other)
}

// outboundTo returns n's handshaken outbound peer at other.P2PAddr, if any.
func (n *Node) outboundTo(ctx context.Context, other *Node) (*Peer, error) {
	ps, err := n.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if p := &ps[i]; !p.Inbound && p.Addr == other.P2PAddr && p.Version != 0 {
			return p, nil
		}
	}
	return nil, nil
}
