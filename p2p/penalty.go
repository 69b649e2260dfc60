package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// maxScored bounds the scoreboard. Peer ids are free to mint, so a flood of
// throwaway peers that each misbehave once must not grow memory without
// end; when full, unbanned entries are forgotten first (a banned peer's
// entry is what keeps it out).
const maxScored = 4096

// scoreboard holds penalty scores and bans. Scores do not decay: honest
// peers serve only bodies they verified, so they should never be
// penalised at all. When a ban expires the peer starts again from zero.
type scoreboard struct {
	now    func() time.Time
	banFor time.Duration

	mu    sync.Mutex
	peers map[peer.ID]*peerScore
}

type peerScore struct {
	score       int
	bannedUntil time.Time // zero: not banned
}

func newScoreboard(banFor time.Duration, now func() time.Time) *scoreboard {
	return &scoreboard{now: now, banFor: banFor, peers: make(map[peer.ID]*peerScore)}
}

// lookup returns p's entry, dropping it first if its ban has expired.
// Callers hold s.mu.
func (s *scoreboard) lookup(p peer.ID) *peerScore {
	ps := s.peers[p]
	if ps != nil && !ps.bannedUntil.IsZero() && !s.now().Before(ps.bannedUntil) {
		delete(s.peers, p)
		return nil
	}
	return ps
}

// add adds n to p's score and reports the new score and whether this call
// banned p (so that only one caller disconnects it).
func (s *scoreboard) add(p peer.ID, n int) (score int, newlyBanned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.lookup(p)
	if ps == nil {
		s.makeRoom()
		ps = &peerScore{}
		s.peers[p] = ps
	}
	ps.score += n
	if ps.score >= BanScore && ps.bannedUntil.IsZero() {
		ps.bannedUntil = s.now().Add(s.banFor)
		newlyBanned = true
	}
	return ps.score, newlyBanned
}

// makeRoom evicts entries when the board is full: expired bans, then
// unbanned peers. Map order is random, which is fine for a memory bound.
// Callers hold s.mu.
func (s *scoreboard) makeRoom() {
	if len(s.peers) < maxScored {
		return
	}
	now := s.now()
	for p, ps := range s.peers {
		if ps.bannedUntil.IsZero() || !now.Before(ps.bannedUntil) {
			delete(s.peers, p)
			if len(s.peers) < maxScored*3/4 {
				return
			}
		}
	}
}

func (s *scoreboard) penalty(p peer.ID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.lookup(p); ps != nil {
		return ps.score
	}
	return 0
}

func (s *scoreboard) banned(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.lookup(p)
	return ps != nil && !ps.bannedUntil.IsZero()
}

// gater refuses connections to and from banned peers. Inbound connections
// are refused once the remote's id is known (after the security
// handshake); before that there is nothing to judge by.
type gater struct{ scores *scoreboard }

var _ connmgr.ConnectionGater = gater{}

func (g gater) InterceptPeerDial(p peer.ID) bool { return !g.scores.banned(p) }

func (g gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.scores.banned(p) }

func (g gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.scores.banned(p)
}

func (g gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.scores.banned(c.RemotePeer()), 0
}
