package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Fetch returns the verified body of the block hash. It answers from the
// store if it can; otherwise it asks peers one at a time, first those that
// announced hash, then the other connected peers in random order, each
// for at most RequestTimeout. A body is returned only after the Verifier
// accepted it, and is then put in the store (at the height the Verifier
// gave), so this host serves it too.
//
// There is one fetch in flight per hash: concurrent calls for the same
// hash wait for it and share its result (see flights). ctx bounds only
// this caller's wait; the fetch goes on while any caller still waits.
//
// A peer that answers with a wrong body or breaks the protocol is
// penalised (see Offence) and the next peer is asked. "Not found",
// timeouts and broken connections are not penalised: they happen to
// honest peers. If no peer supplies the body the error wraps ErrNotFound
// and every peer's failure. An error wrapping ErrCannotVerify from the
// Verifier ends the fetch at once and is returned as it is.
func (h *Host) Fetch(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	if err := h.closed(); err != nil {
		return nil, err
	}
	raw, ok, err := h.store.Get(hash)
	if err != nil {
		return nil, err
	}
	if ok {
		return raw, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: fetching %s: %w", hash, err)
	}
	f := h.flights.join(h.ctx, hash, func(ctx context.Context) ([]byte, error) { return h.fetch(ctx, hash) })
	return h.wait(ctx, hash, f)
}

// fetch is the one fetch of hash in flight: it asks the candidates in turn.
func (h *Host) fetch(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	// Another flight may have stored the body between the caller's look
	// at the store and this flight's start.
	if raw, ok, err := h.store.Get(hash); err != nil || ok {
		return raw, err
	}
	var failures []error
	asked := 0
	for _, p := range h.candidates(hash) {
		if err := h.closed(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("p2p: fetching %s: %w", hash, err)
		}
		if h.scores.banned(p) {
			continue
		}
		asked++
		raw, err := h.fetchFrom(ctx, p, hash)
		if err == nil {
			var height int32
			height, err = h.verify(hash, raw)
			if errors.Is(err, ErrCannotVerify) {
				return nil, err
			}
			if err != nil {
				perr := &PeerError{Peer: p, Offence: OffenceWrongBody, Err: err}
				h.penalise(p, OffenceWrongBody, err)
				failures = append(failures, perr)
				continue
			}
			if err := h.store.Put(hash, height, raw); err != nil {
				return nil, fmt.Errorf("p2p: storing fetched body %s: %w", hash, err)
			}
			h.log.Debug("fetched body", "hash", hash, "height", height, "bytes", len(raw), "peer", p)
			return raw, nil
		}
		var v *violationError
		if errors.As(err, &v) {
			perr := &PeerError{Peer: p, Offence: OffenceProtocol, Err: err}
			h.penalise(p, OffenceProtocol, err)
			failures = append(failures, perr)
			continue
		}
		h.log.Debug("body fetch attempt failed", "hash", hash, "peer", p, "err", err)
		failures = append(failures, fmt.Errorf("peer %s: %w", p, err))
	}
	if err := h.closed(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: fetching %s: %w", hash, err)
	}
	if len(failures) == 0 {
		return nil, fmt.Errorf("%w: %s: no peer to ask", ErrNotFound, hash)
	}
	return nil, fmt.Errorf("%w: %s: asked %d peers: %w", ErrNotFound, hash, asked, errors.Join(failures...))
}

// errNotHeld is a peer's "not found" answer.
var errNotHeld = errors.New("peer does not hold the body")

// candidates lists the peers to ask for hash, announcers first, without
// ourselves or duplicates. Announcers that are not connected are kept:
// asking dials them if their addresses are known.
func (h *Host) candidates(hash chainhash.Hash) []peer.ID {
	self := h.h.ID()
	seen := map[peer.ID]bool{self: true}
	var out []peer.ID
	for _, p := range h.announcers.of(hash) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	conns := h.h.Network().Peers()
	// Random order spreads requests for unannounced bodies over peers.
	rand.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	for _, p := range conns {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// fetchFrom makes one request to p, bounded by RequestTimeout and by
// Close. It returns the unverified body.
func (h *Host) fetchFrom(ctx context.Context, p peer.ID, hash chainhash.Hash) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RequestTimeout)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel) // Close aborts the attempt
	defer stop()

	s, err := h.h.NewStream(ctx, p, h.proto)
	if err != nil {
		return nil, fmt.Errorf("opening stream: %w", err)
	}
	// The deadline bounds reads and writes; the AfterFunc unblocks them
	// at once if ctx ends first (the caller gave up, or Close).
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	unblock := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer unblock()

	if _, err := s.Write(hash[:]); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("sending request: %w", err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("sending request: %w", err)
	}
	raw, found, err := readResponse(s, h.cfg.MaxBodyBytes)
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	_ = s.Close()
	if !found {
		return nil, errNotHeld
	}
	return raw, nil
}

// serveBody answers one body request from the store. The store holds only
// verified bodies, so this never serves anything unchecked.
func (h *Host) serveBody(s network.Stream) {
	select {
	case h.serving <- struct{}{}:
		defer func() { <-h.serving }()
	default:
		// Over the bound (or closing): refuse now rather than queue.
		h.log.Debug("refused body request: busy", "peer", s.Conn().RemotePeer())
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(h.cfg.RequestTimeout))

	var hash chainhash.Hash
	if _, err := io.ReadFull(s, hash[:]); err != nil {
		_ = s.Reset()
		return
	}
	raw, found, err := h.store.Get(hash)
	if err != nil {
		h.log.Error("reading body store", "hash", hash, "err", err)
		_ = s.Reset()
		return
	}
	if err := writeResponse(s, raw, found); err != nil {
		h.log.Debug("writing body response", "hash", hash, "peer", s.Conn().RemotePeer(), "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}
