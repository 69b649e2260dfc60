package p2p

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Sentinel errors. Callers test them with errors.Is; every error the package
// returns for one of these conditions wraps the sentinel and adds context.
var (
	// ErrNotFound: no peer (and not the local store) could supply a body
	// that verified. The error that wraps it also wraps each peer's failure,
	// so errors.As can recover a *PeerError.
	ErrNotFound = errors.New("p2p: block body not found")

	// ErrClosed: the Host or BodyStore has been closed.
	ErrClosed = errors.New("p2p: closed")

	// ErrCorruptIdentity: the identity file exists but does not hold a
	// private key. It is never replaced automatically, because a new key
	// is a new peer id and the operator should decide that.
	ErrCorruptIdentity = errors.New("p2p: corrupt identity file")

	// ErrBadAnnouncement: an announcement that does not decode.
	ErrBadAnnouncement = errors.New("p2p: malformed announcement")

	// ErrPeerBanned: the peer is banned; no connection is made to it.
	ErrPeerBanned = errors.New("p2p: peer is banned")

	// ErrCannotVerify is for the Verifier: a verifier that cannot judge a
	// body (say, its header is not known yet) returns an error wrapping
	// ErrCannotVerify. Fetch then stops and returns that error without
	// penalising the peer that sent the body, since the body may be right.
	ErrCannotVerify = errors.New("p2p: cannot verify body")

	// ErrInvalidConfig: a Config or argument that cannot be used.
	ErrInvalidConfig = errors.New("p2p: invalid config")
)

// Offence is a kind of peer misbehaviour that Fetch detects. Each has a
// fixed penalty; a peer whose penalties reach BanScore is banned.
type Offence int

const (
	// OffenceProtocol: a response that breaks the body protocol (unknown
	// status byte, length above the cap, bad varint, trailing bytes).
	OffenceProtocol Offence = iota + 1
	// OffenceWrongBody: a well-formed response whose body the Verifier
	// rejected: the peer served bytes that are not the block asked for.
	OffenceWrongBody
)

// BanScore is the penalty total at which a peer is banned. Two wrong
// bodies, or five protocol violations, reach it.
const BanScore = 100

// Penalty is what one occurrence of o adds to the peer's score. A wrong
// body costs more than a protocol violation because it cannot be an
// accident: peers serve only bodies they verified themselves.
func (o Offence) Penalty() int {
	switch o {
	case OffenceProtocol:
		return 20
	case OffenceWrongBody:
		return 50
	default:
		return 0
	}
}

func (o Offence) String() string {
	switch o {
	case OffenceProtocol:
		return "protocol violation"
	case OffenceWrongBody:
		return "wrong body"
	default:
		return fmt.Sprintf("Offence(%d)", int(o))
	}
}

// PeerError is a misbehaviour by a peer found while fetching from it.
type PeerError struct {
	Peer    peer.ID
	Offence Offence
	Err     error // the detail: the decoding or verification failure
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("p2p: peer %s: %s: %v", e.Peer, e.Offence, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }

// violationError marks a response that breaks the body protocol. readResponse
// returns it so that fetch can tell a misbehaving peer (penalised) from a
// network failure such as a reset or a timeout (not penalised).
type violationError struct{ detail string }

func (e *violationError) Error() string { return "protocol violation: " + e.detail }

func violation(format string, args ...any) error {
	return &violationError{detail: fmt.Sprintf(format, args...)}
}
