package p2p

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Bounds of the record of who announced what. A hash is looked up soon
// after it is announced (the node fetches what it hears about), so the
// last thousand or so blocks are plenty; the bound keeps a peer that
// announces junk from growing memory.
const (
	maxAnnouncedHashes   = 1024
	maxAnnouncersPerHash = 8
)

// startGossip creates the gossipsub router, installs the topic validator,
// joins the announcement topic and subscribes to it.
func (h *Host) startGossip() error {
	topic := TopicName(h.cfg.ChainID)
	opts := []pubsub.Option{
		// Send our own announcements to every topic peer, not only to the
		// mesh: an announcement made before the mesh forms (right after
		// start, or after a reconnect) would otherwise reach no one, and
		// gossip would not repair it once those peers join the mesh.
		// Announcements are few and small, so the extra copies cost
		// nothing. (Off by default in this gossipsub version.)
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerScore(h.gossipScoreParams(topic), &pubsub.PeerScoreThresholds{
			GossipThreshold:             -50,
			PublishThreshold:            -100,
			GraylistThreshold:           -200,
			AcceptPXThreshold:           0,
			OpportunisticGraftThreshold: 0,
		}),
	}
	ps, err := pubsub.NewGossipSub(h.ctx, h.h, append(opts, h.cfg.pubsubOpts...)...)
	if err != nil {
		return fmt.Errorf("p2p: starting gossipsub: %w", err)
	}
	// Inline: decoding 89 bytes is cheaper than the goroutine gossipsub
	// would otherwise start per message.
	if err := ps.RegisterTopicValidator(topic, h.validateAnnouncement, pubsub.WithValidatorInline(true)); err != nil {
		return fmt.Errorf("p2p: registering announcement validator: %w", err)
	}
	t, err := ps.Join(topic)
	if err != nil {
		return fmt.Errorf("p2p: joining %s: %w", topic, err)
	}
	sub, err := t.Subscribe()
	if err != nil {
		return fmt.Errorf("p2p: subscribing to %s: %w", topic, err)
	}
	h.ps, h.topic, h.sub = ps, t, sub
	return nil
}

// gossipScoreParams turns on gossipsub's peer scoring for the parts that
// matter here: invalid messages on our topic (P4, fed by the validator's
// ValidationReject) and our own body-fetch penalties (P5, the
// application-specific score), so a peer that serves wrong bodies also
// loses standing in the mesh. The other components stay off: with
// announcements a few per ten minutes, delivery-rate scores would only
// punish quiet honest peers, and IP colocation would punish test
// networks on one address.
func (h *Host) gossipScoreParams(topic string) *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics: map[string]*pubsub.TopicScoreParams{
			topic: {
				SkipAtomicValidation: true,
				TopicWeight:          1,
				// Unused (weight 0) but must not be zero: gossipsub
				// divides by it for any peer in the mesh, even with
				// SkipAtomicValidation.
				TimeInMeshQuantum: time.Second,
				// The counter is squared: 5 invalid messages reach the
				// publish threshold, 7 the graylist.
				InvalidMessageDeliveriesWeight: -5,
				InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
			},
		},
		AppSpecificScore:  func(p peer.ID) float64 { return -float64(h.scores.penalty(p)) },
		AppSpecificWeight: 1,
		DecayInterval:     pubsub.DefaultDecayInterval,
		DecayToZero:       pubsub.DefaultDecayToZero,
		RetainScore:       time.Hour,
	}
}

// validateAnnouncement is the topic validator. A message that does not
// decode is rejected, which counts against the peer that forwarded it in
// gossipsub's scoring and stops it from spreading. The decoded
// announcement rides along in ValidatorData so the reader does not decode
// twice.
func (h *Host) validateAnnouncement(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	a, err := DecodeAnnouncement(msg.GetData())
	if err != nil {
		h.rejected.Add(1)
		h.log.Debug("rejected announcement", "from", from, "author", msg.GetFrom(), "err", err)
		return pubsub.ValidationReject
	}
	msg.ValidatorData = a
	return pubsub.ValidationAccept
}

// Announce publishes a to the chain's topic. a.Hash must be the hash of
// a.Header (or zero, and it is computed). Announce a block only once its
// body is in the store: peers will ask for it.
func (h *Host) Announce(ctx context.Context, a Announcement) error {
	if err := h.closed(); err != nil {
		return err
	}
	if hash := chainhash.DoubleHashH(a.Header[:]); a.Hash != hash && a.Hash != (chainhash.Hash{}) {
		return fmt.Errorf("%w: hash %s is not the header's (%s)", ErrBadAnnouncement, a.Hash, hash)
	}
	data, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	if err := h.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("p2p: publishing announcement of %d: %w", a.Height, err)
	}
	return nil
}

// OnAnnounce registers fn to be called for every valid announcement from
// another node, with the id of the node that made it (the message's
// signed author, not the neighbour that relayed it). Callbacks run one
// at a time on the host's reader goroutine, so fn must return quickly
// (hand the work to another goroutine to fetch a body).
func (h *Host) OnAnnounce(fn func(from peer.ID, a Announcement)) {
	h.cbMu.Lock()
	defer h.cbMu.Unlock()
	h.callbacks = append(h.callbacks, fn)
}

// readAnnouncements delivers announcements until Close.
func (h *Host) readAnnouncements() {
	defer h.wg.Done()
	self := h.h.ID()
	for {
		msg, err := h.sub.Next(h.ctx)
		if err != nil {
			return // cancelled: the host is closing
		}
		author := msg.GetFrom()
		if msg.Local || author == self || msg.ReceivedFrom == self {
			continue
		}
		a, ok := msg.ValidatorData.(Announcement)
		if !ok {
			continue // not validated by us; cannot happen with the validator installed
		}
		h.announcers.record(a.Hash, author)
		h.cbMu.RLock()
		cbs := h.callbacks
		h.cbMu.RUnlock()
		for _, fn := range cbs {
			fn(author, a)
		}
	}
}

// announcers remembers which peers announced which hash, so Fetch asks
// them first: an announcer says it holds the body, any other peer may
// not. Hashes are forgotten oldest first once maxHashes are held.
type announcers struct {
	maxHashes, maxPeers int

	mu     sync.Mutex
	byHash map[chainhash.Hash][]peer.ID
	ring   []chainhash.Hash // insertion order, for eviction
	next   int              // the ring slot to overwrite when full
}

func newAnnouncers(maxHashes, maxPeers int) *announcers {
	return &announcers{
		maxHashes: maxHashes,
		maxPeers:  maxPeers,
		byHash:    make(map[chainhash.Hash][]peer.ID),
	}
}

func (an *announcers) record(hash chainhash.Hash, p peer.ID) {
	an.mu.Lock()
	defer an.mu.Unlock()
	if ps, ok := an.byHash[hash]; ok {
		for _, q := range ps {
			if q == p {
				return
			}
		}
		if len(ps) < an.maxPeers {
			an.byHash[hash] = append(ps, p)
		}
		return
	}
	if len(an.ring) < an.maxHashes {
		an.ring = append(an.ring, hash)
	} else {
		delete(an.byHash, an.ring[an.next])
		an.ring[an.next] = hash
		an.next = (an.next + 1) % an.maxHashes
	}
	an.byHash[hash] = []peer.ID{p}
}

// of returns the peers that announced hash, earliest first.
func (an *announcers) of(hash chainhash.Hash) []peer.ID {
	an.mu.Lock()
	defer an.mu.Unlock()
	return append([]peer.ID(nil), an.byHash[hash]...)
}
