package btcpeer

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrConfig: Config is invalid (an address that is not host:port, no
	// network parameters, a negative timeout, ...).
	ErrConfig = errors.New("btcpeer: invalid configuration")
	// ErrNotFound: no peer supplied the block. Block's error wraps it and
	// one PeerError per peer asked.
	ErrNotFound = errors.New("btcpeer: no Bitcoin peer supplied the block")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("btcpeer: pool closed")

	// What one peer did, wrapped in a PeerError.

	// ErrNotHeld: the peer answered notfound.
	ErrNotHeld = errors.New("peer does not have the block")
	// ErrTimeout: the peer did not answer within Config.RequestTimeout.
	// Bitcoin Core says nothing for a block it does not know, so this is
	// also how an honest peer says "not here".
	ErrTimeout = errors.New("peer did not answer in time")
	// ErrDisconnected: the connection ended before the answer.
	ErrDisconnected = errors.New("connection lost")
	// ErrBackoff: the peer failed recently and is not asked again before
	// its backoff ends.
	ErrBackoff = errors.New("peer is backing off after a failure")
	// ErrBusy: the connection has too many requests in flight.
	ErrBusy = errors.New("too many requests in flight to the peer")
	// ErrTooLarge: the block is larger than Config.MaxBlockBytes.
	ErrTooLarge = errors.New("block too large")
	// ErrBadBlock: the peer sent the block asked for, by its header, with
	// transactions that do not match that header.
	ErrBadBlock = errors.New("block does not match its header")
	// ErrProtocol: the peer sent something that does not decode, or
	// cannot serve what satnode needs (no witness service).
	ErrProtocol = errors.New("peer broke the protocol")
)

// PeerError is one peer's failure to supply a block.
type PeerError struct {
	Addr string // as configured
	Err  error
}

func (e *PeerError) Error() string { return "bitcoin peer " + e.Addr + ": " + e.Err.Error() }

func (e *PeerError) Unwrap() error { return e.Err }
