package p2p

import (
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Bounds of the scoreboard. Peer ids are free to mint, so a flood of
// throwaway peers that each misbehave once must not grow memory without
// end; when full, unbanned entries are forgotten first (a banned peer's
// entry is what keeps it out). Addresses cost more to mint than ids, but
// IPv6 hands out 2^64 of them per /64, hence the /64 key below and a bound
// here too.
const (
	maxScored      = 4096
	maxBannedAddrs = 4096
)

// scoreboard holds penalty scores and bans.
//
// Decay: a score halves every halfLife (integer halving, at whole
// half-lives since the score last changed), so an occasional offence
// fades and only a burst reaches BanScore: two wrong bodies within one
// half-life ban, two a half-life apart (50/2 + 50 = 75) do not. Honest
// peers serve only bodies they verified and should never be penalised at
// all; decay is for the rare honest accident (a body corrupted on a
// broken disk, a bug) so that it does not count against the peer forever.
//
// Bans: when a peer's score reaches BanScore it is banned for banFor, by
// id and by the address of every connection it had then (see addrKey),
// so that a new id from the same place is refused too. When a ban expires
// the peer starts again from zero.
type scoreboard struct {
	now      func() time.Time
	banFor   time.Duration
	halfLife time.Duration // 0: no decay

	mu    sync.Mutex
	peers map[peer.ID]*peerScore
	addrs map[string]time.Time // addrKey → end of its ban
}

type peerScore struct {
	score       int
	at          time.Time // when score was last brought up to date
	bannedUntil time.Time // zero: not banned
}

func newScoreboard(banFor, halfLife time.Duration, now func() time.Time) *scoreboard {
	return &scoreboard{now: now, banFor: banFor, halfLife: halfLife,
		peers: make(map[peer.ID]*peerScore), addrs: make(map[string]time.Time)}
}

// lookup returns p's entry with its score decayed to now, dropping it first
// if its ban has expired or its score decayed to nothing. Callers hold s.mu.
func (s *scoreboard) lookup(p peer.ID) *peerScore {
	ps := s.peers[p]
	if ps == nil {
		return nil
	}
	now := s.now()
	if !ps.bannedUntil.IsZero() {
		if !now.Before(ps.bannedUntil) {
			delete(s.peers, p)
			return nil
		}
		return ps // a banned peer's score is not decayed: the ban decides
	}
	if s.halfLife > 0 && now.After(ps.at) {
		k := now.Sub(ps.at) / s.halfLife
		if k >= 31 {
			ps.score = 0
		} else {
			ps.score >>= k
		}
		// Advance by whole half-lives only, so that the fraction of the
		// current one still counts at the next look.
		ps.at = ps.at.Add(k * s.halfLife)
	}
	if ps.score <= 0 {
		delete(s.peers, p)
		return nil
	}
	return ps
}

// add adds n to p's score and reports the new score and whether this call
// banned p (so that only one caller disconnects it). addrs are the keys
// (addrKey) of the addresses p is connected from; a new ban covers them.
func (s *scoreboard) add(p peer.ID, n int, addrs []string) (score int, newlyBanned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.lookup(p)
	if ps == nil {
		s.makeRoom()
		ps = &peerScore{at: s.now()}
		s.peers[p] = ps
	}
	ps.score += n
	if ps.score >= BanScore && ps.bannedUntil.IsZero() {
		ps.bannedUntil = s.now().Add(s.banFor)
		newlyBanned = true
		for _, a := range addrs {
			if a == "" {
				continue
			}
			s.makeAddrRoom()
			s.addrs[a] = ps.bannedUntil
		}
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

// makeAddrRoom keeps the address bans under maxBannedAddrs: expired ones
// go first, then arbitrary ones (the peer-id ban still holds for those).
// Callers hold s.mu.
func (s *scoreboard) makeAddrRoom() {
	if len(s.addrs) < maxBannedAddrs {
		return
	}
	now := s.now()
	for a, until := range s.addrs {
		if !now.Before(until) {
			delete(s.addrs, a)
		}
	}
	for a := range s.addrs {
		if len(s.addrs) < maxBannedAddrs*3/4 {
			return
		}
		delete(s.addrs, a)
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

// addrBanned reports whether a is under an address ban.
func (s *scoreboard) addrBanned(a ma.Multiaddr) bool {
	k := addrKey(a)
	if k == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.addrs[k]
	if !ok {
		return false
	}
	if !s.now().Before(until) {
		delete(s.addrs, k)
		return false
	}
	return true
}

// addrKey is what an address is banned under, "" for an address that is
// never banned (no IP in it):
//
//   - a public or private IPv4 address: the IP, every port;
//   - an IPv6 address: its /64, since one host commonly holds a whole
//     /64 and could otherwise step to a fresh address per ban;
//   - a loopback address: IP and TCP port. Every node of a localnet
//     (satnode testnet, the tests) shares 127.0.0.1 or 127.0.0.0/8, so an
//     IP-wide ban there would cut off the honest nodes with the liar. A
//     libp2p TCP host dials from its listen port (SO_REUSEPORT), so the
//     port still names the liar's host in both directions.
func addrKey(a ma.Multiaddr) string {
	if a == nil {
		return ""
	}
	ip, err := manet.ToIP(a)
	if err != nil {
		return ""
	}
	if ip.IsLoopback() {
		port, err := a.ValueForProtocol(ma.P_TCP)
		if err != nil {
			return ""
		}
		return net.JoinHostPort(ip.String(), port)
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// gater refuses connections to and from banned peers and addresses. An
// inbound connection is judged by its remote address as soon as it is
// accepted, and by the peer's id once the security handshake has told it.
type gater struct{ scores *scoreboard }

var _ connmgr.ConnectionGater = gater{}

func (g gater) InterceptPeerDial(p peer.ID) bool { return !g.scores.banned(p) }

func (g gater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return !g.scores.banned(p) && !g.scores.addrBanned(a)
}

func (g gater) InterceptAccept(cm network.ConnMultiaddrs) bool {
	return !g.scores.addrBanned(cm.RemoteMultiaddr())
}

func (g gater) InterceptSecured(_ network.Direction, p peer.ID, cm network.ConnMultiaddrs) bool {
	return !g.scores.banned(p) && !g.scores.addrBanned(cm.RemoteMultiaddr())
}

func (g gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return !g.scores.banned(c.RemotePeer()) && !g.scores.addrBanned(c.RemoteMultiaddr()), 0
}
