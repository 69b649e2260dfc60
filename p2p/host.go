package p2p

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Defaults for the optional Config fields.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultRequestTimeout = 10 * time.Second
	DefaultBanDuration    = 10 * time.Minute
	// DefaultPenaltyHalfLife: a penalty halves every ten minutes, so one
	// wrong body (50) is gone in about an hour, and two within ten
	// minutes still ban.
	DefaultPenaltyHalfLife = 10 * time.Minute

	// maxServing bounds the body requests served at once; a request over
	// the bound is reset at once rather than queued, so a burst costs the
	// requester a retry elsewhere instead of holding our memory.
	maxServing = 16

	bootstrapTick       = 500 * time.Millisecond
	bootstrapMinBackoff = time.Second
	bootstrapMaxBackoff = time.Minute
)

// Config configures a Host.
type Config struct {
	// ChainID names the topic "/satnode/<ChainID>/blocks/1" and the body
	// protocol "/satnode/<ChainID>/body/1", so nodes of different chains
	// ignore each other. Required; no '/' or white space.
	ChainID string
	// Identity is the host's private key (see LoadOrCreateIdentity). Required.
	Identity crypto.PrivKey
	// Listen are multiaddrs to listen on, e.g. "/ip4/0.0.0.0/tcp/26660".
	// Optional: a host without them can still dial out and fetch.
	Listen []string
	// Bootstrap are multiaddrs ending in /p2p/<peer id>. The host dials
	// them at start and again, with bounded backoff, whenever disconnected.
	Bootstrap []string
	// MaxBodyBytes caps a body read from a peer; a longer one is a protocol
	// violation. Default DefaultMaxBodyBytes.
	MaxBodyBytes int
	// RequestTimeout bounds one fetch attempt from one peer, and the
	// serving of one request. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// BanDuration is how long a peer whose penalties reach BanScore is
	// kept out. Default DefaultBanDuration.
	BanDuration time.Duration
	// PenaltyHalfLife is how long a peer's penalty score takes to halve
	// (see scoreboard for the rule). Default DefaultPenaltyHalfLife.
	PenaltyHalfLife time.Duration
	// Logger receives the host's logs. Default: discard.
	Logger *slog.Logger

	// pubsubOpts are extra gossipsub options, for tests (a tracer).
	pubsubOpts []pubsub.Option
}

// validate checks cfg, fills in defaults, and parses the bootstrap addresses.
func (cfg *Config) validate() ([]peer.AddrInfo, error) {
	if cfg.ChainID == "" || strings.ContainsAny(cfg.ChainID, "/ \t\r\n") {
		return nil, fmt.Errorf("%w: chain id %q (required; no '/' or spaces)", ErrInvalidConfig, cfg.ChainID)
	}
	if cfg.Identity == nil {
		return nil, fmt.Errorf("%w: no identity key", ErrInvalidConfig)
	}
	for _, s := range cfg.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %v", ErrInvalidConfig, s, err)
		}
	}
	boot := make([]peer.AddrInfo, 0, len(cfg.Bootstrap))
	for _, s := range cfg.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: bootstrap address %q (want .../p2p/<id>): %v", ErrInvalidConfig, s, err)
		}
		boot = append(boot, *ai)
	}
	switch {
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("%w: negative MaxBodyBytes", ErrInvalidConfig)
	case cfg.MaxBodyBytes == 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	switch {
	case cfg.RequestTimeout < 0:
		return nil, fmt.Errorf("%w: negative RequestTimeout", ErrInvalidConfig)
	case cfg.RequestTimeout == 0:
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	switch {
	case cfg.BanDuration < 0:
		return nil, fmt.Errorf("%w: negative BanDuration", ErrInvalidConfig)
	case cfg.BanDuration == 0:
		cfg.BanDuration = DefaultBanDuration
	}
	switch {
	case cfg.PenaltyHalfLife < 0:
		return nil, fmt.Errorf("%w: negative PenaltyHalfLife", ErrInvalidConfig)
	case cfg.PenaltyHalfLife == 0:
		cfg.PenaltyHalfLife = DefaultPenaltyHalfLife
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return boot, nil
}

// TopicName is the gossipsub topic of block announcements for chainID.
func TopicName(chainID string) string { return "/satnode/" + chainID + "/blocks/1" }

// BodyProtocol is the stream protocol id of body requests for chainID.
func BodyProtocol(chainID string) protocol.ID {
	return protocol.ID("/satnode/" + chainID + "/body/1")
}

// Verifier checks a body fetched for hash: it must return nil only if raw
// is exactly the block with that hash and its transactions match the
// header's commitments; it returns the block's height. The node supplies
// it, since it knows the headers: the height it checks against must be
// the node's own (its committed header tree), never a peer's word, or an
// honest peer serving the right body fails the check. An error wrapping
// ErrCannotVerify means "cannot judge", not "wrong body" (including "this
// hash was not asked for": a fetch may outlive its last caller by a
// moment); any other error penalises the sender.
type Verifier func(hash chainhash.Hash, raw []byte) (height int32, err error)

// Host is a libp2p host that gossips block announcements and serves and
// fetches block bodies. It is safe for concurrent use.
type Host struct {
	cfg    Config
	log    *slog.Logger
	h      host.Host
	ps     *pubsub.PubSub
	topic  *pubsub.Topic
	sub    *pubsub.Subscription
	store  *BodyStore
	verify Verifier
	proto  protocol.ID
	boot   []peer.AddrInfo

	scores     *scoreboard
	announcers *announcers
	flights    flights       // the fetches in progress, one per hash
	serving    chan struct{} // semaphore of body requests being served

	cbMu      sync.RWMutex
	callbacks []func(from peer.ID, a Announcement)

	// rejected counts announcements the topic validator rejected.
	rejected atomic.Uint64

	ctx       context.Context // cancelled by Close: ends every goroutine
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New starts a host: it listens, joins the announcement topic, serves
// bodies from store, and starts dialling the bootstrap peers in the
// background. ctx bounds only the start; the host runs until Close.
// store and verify are required; store stays the caller's to close.
func New(ctx context.Context, cfg Config, store *BodyStore, verify Verifier) (*Host, error) {
	boot, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if store == nil || verify == nil {
		return nil, fmt.Errorf("%w: a body store and a verifier are required", ErrInvalidConfig)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	scores := newScoreboard(cfg.BanDuration, cfg.PenaltyHalfLife, time.Now)
	lh, err := libp2p.New(
		libp2p.Identity(cfg.Identity),
		libp2p.ListenAddrStrings(cfg.Listen...),
		// TCP only, with the default security (noise, TLS) and muxer
		// (yamux): satnode nodes are servers with reachable addresses, so
		// relays, hole punching, NAT mapping and QUIC/WebRTC/WebSocket
		// would be code paths that are never needed, only attacked.
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(), // the node exports its own; libp2p's would share the global registry
		libp2p.Ping(false),
		libp2p.ConnectionGater(gater{scores: scores}),
	)
	if err != nil {
		return nil, fmt.Errorf("p2p: starting libp2p: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		cfg:        cfg,
		log:        cfg.Logger.With("module", "p2p"),
		h:          lh,
		store:      store,
		verify:     verify,
		proto:      BodyProtocol(cfg.ChainID),
		boot:       boot,
		scores:     scores,
		announcers: newAnnouncers(maxAnnouncedHashes, maxAnnouncersPerHash),
		serving:    make(chan struct{}, maxServing),
		ctx:        hctx,
		cancel:     cancel,
	}
	if err := h.startGossip(); err != nil {
		cancel()
		_ = lh.Close()
		return nil, err
	}
	lh.SetStreamHandler(h.proto, h.serveBody)
	// A shared bootstrap list may name this node itself; dialling
	// ourselves would only fail, forever.
	h.boot = slices.DeleteFunc(h.boot, func(ai peer.AddrInfo) bool { return ai.ID == lh.ID() })
	for _, ai := range h.boot {
		// Keep bootstrap connections when the connection manager trims.
		lh.ConnManager().Protect(ai.ID, "satnode-bootstrap")
	}
	h.wg.Add(2)
	go h.readAnnouncements()
	go h.maintainBootstrap()
	h.log.Info("p2p host started", "id", lh.ID(), "addrs", h.Addrs(), "topic", TopicName(cfg.ChainID))
	return h, nil
}

// ID is the host's peer id.
func (h *Host) ID() peer.ID { return h.h.ID() }

// Addrs are the host's listen addresses, each ending in /p2p/<id>, as
// other nodes put them in their Bootstrap lists.
func (h *Host) Addrs() []ma.Multiaddr {
	listen := h.h.Addrs()
	if len(listen) == 0 {
		return nil // a bare /p2p/<id> is not an address anyone can dial
	}
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.h.ID(), Addrs: listen})
	if err != nil {
		return nil // only for an empty peer id, which a running host never has
	}
	return addrs
}

// Peers are the peers currently connected.
func (h *Host) Peers() []peer.ID { return h.h.Network().Peers() }

// Penalty is p's current penalty score (0 if none, or after a ban ends).
func (h *Host) Penalty(p peer.ID) int { return h.scores.penalty(p) }

// Banned reports whether p is banned now.
func (h *Host) Banned(p peer.ID) bool { return h.scores.banned(p) }

// AddrBanned reports whether a (a transport address such as
// /ip4/203.0.113.7/tcp/26660) is banned now; see addrKey for what a ban
// covers.
func (h *Host) AddrBanned(a ma.Multiaddr) bool { return h.scores.addrBanned(a) }

// Connect dials addr, a multiaddr ending in /p2p/<id>.
func (h *Host) Connect(ctx context.Context, addr string) error {
	if h.ctx.Err() != nil {
		return ErrClosed
	}
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return fmt.Errorf("p2p: peer address %q (want .../p2p/<id>): %w", addr, err)
	}
	if h.scores.banned(ai.ID) {
		return fmt.Errorf("%w: %s", ErrPeerBanned, ai.ID)
	}
	if err := h.h.Connect(ctx, *ai); err != nil {
		return fmt.Errorf("p2p: connecting to %s: %w", ai.ID, err)
	}
	return nil
}

// Close stops the host and waits for its goroutines: the announcement
// reader, the bootstrap dialler and the body requests being served. Fetch
// calls in progress fail. It does not close the BodyStore.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.sub.Cancel() // while gossipsub runs, so peers hear we left the topic
		h.cancel()     // stops gossipsub, the loops below, and fetch attempts
		h.wg.Wait()
		h.h.RemoveStreamHandler(h.proto)
		h.closeErr = h.h.Close() // resets every stream, so serveBody returns
		// Take every serving slot: returns once no handler is running,
		// and keeps late handlers from starting.
		for range maxServing {
			h.serving <- struct{}{}
		}
		h.log.Info("p2p host stopped")
	})
	return h.closeErr
}

// penalise records an offence by p, logs it, and, if this offence got it
// banned, disconnects it and every other peer connected from a banned
// address. The addresses banned are those of p's live connections, which
// p proved by answering on them; never the addresses p claims (identify),
// or a liar could get honest peers' addresses banned.
func (h *Host) penalise(p peer.ID, o Offence, cause error) {
	var addrs []string
	for _, c := range h.h.Network().ConnsToPeer(p) {
		addrs = append(addrs, addrKey(c.RemoteMultiaddr()))
	}
	score, newlyBanned := h.scores.add(p, o.Penalty(), addrs)
	h.log.Warn("peer misbehaved", "peer", p, "offence", o.String(), "penalty", o.Penalty(), "score", score, "err", cause)
	if !newlyBanned {
		return
	}
	h.log.Warn("peer banned", "peer", p, "addrs", addrs, "score", score, "for", h.cfg.BanDuration)
	_ = h.h.Network().ClosePeer(p)
	for _, c := range h.h.Network().Conns() {
		if h.scores.addrBanned(c.RemoteMultiaddr()) {
			h.log.Warn("closing a connection from a banned address", "peer", c.RemotePeer(), "addr", c.RemoteMultiaddr())
			_ = c.Close()
		}
	}
}

// maintainBootstrap keeps the host connected to its bootstrap peers:
// every tick, each one that is disconnected (and not banned) is dialled
// once its backoff has passed. The backoff doubles on each failure up to
// bootstrapMaxBackoff, so a peer that is down costs one dial a minute.
func (h *Host) maintainBootstrap() {
	defer h.wg.Done()
	if len(h.boot) == 0 {
		return
	}
	type state struct {
		next    time.Time
		backoff time.Duration
	}
	st := make([]state, len(h.boot))
	t := time.NewTicker(bootstrapTick)
	defer t.Stop()
	for {
		for i, ai := range h.boot {
			if h.ctx.Err() != nil {
				return
			}
			if h.h.Network().Connectedness(ai.ID) == network.Connected {
				st[i] = state{}
				continue
			}
			if h.scores.banned(ai.ID) || time.Now().Before(st[i].next) {
				continue
			}
			dctx, cancel := context.WithTimeout(h.ctx, h.cfg.RequestTimeout)
			err := h.h.Connect(dctx, ai)
			cancel()
			if err == nil {
				h.log.Info("connected to bootstrap peer", "peer", ai.ID)
				st[i] = state{}
				continue
			}
			if h.ctx.Err() != nil {
				return
			}
			b := min(max(2*st[i].backoff, bootstrapMinBackoff), bootstrapMaxBackoff)
			st[i] = state{next: time.Now().Add(b), backoff: b}
			h.log.Debug("bootstrap dial failed", "peer", ai.ID, "retry_in", b, "err", err)
		}
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// closed reports ErrClosed once Close has begun.
func (h *Host) closed() error {
	if h.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}
