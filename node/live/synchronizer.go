package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/utxo"
)

// BodySink receives the bodies a synchronizer took from its Bitcoin node,
// after checking them against their headers: the node keeps them in its
// body store and announces them to its libp2p peers.
type BodySink interface {
	// Keep stores a checked body, so that the node can serve it.
	Keep(hash chainhash.Hash, height int32, raw []byte) error
	// Announce tells peers that the node holds the body.
	Announce(ctx context.Context, hash chainhash.Hash, height int32, raw []byte) error
}

// SyncConfig configures a Synchronizer.
type SyncConfig struct {
	Bitcoin Bitcoin
	Chain   Chain
	ChainID string
	// Key is the registered synchronizer's key.
	Key    *btcec.PrivateKey
	Params *utxo.Params
	Bodies BodySink
	// Batch is the number of headers per SubmitHeaders transaction
	// (default and maximum tx.MaxHeadersPerTx).
	Batch int
	// Poll is how often the Bitcoin node's tip is read (default 200ms):
	// a new block is seen within it.
	Poll time.Duration
	Log  *slog.Logger
}

// Synchronizer follows a Bitcoin node and submits the headers of its best
// chain that the sidechain does not know, from the point where the two
// part: a new block, a catch-up in batches, or the competing branch after
// the Bitcoin node reorganizes.
type Synchronizer struct {
	cfg  SyncConfig
	log  *slog.Logger
	send *sender

	// lastBest is the Bitcoin tip of the last step that left nothing to do.
	lastBest chainhash.Hash
	// sent is the last header submitted (it may still be in the mempool),
	// taken as known to the chain until stuckAfter has passed.
	sent       point
	sentAt     time.Time
	catchingUp bool
	registered bool
}

type point struct {
	height int32
	hash   chainhash.Hash
}

// NewSynchronizer checks cfg and returns a Synchronizer.
func NewSynchronizer(cfg SyncConfig) (*Synchronizer, error) {
	if cfg.Bitcoin == nil || cfg.Chain == nil || cfg.Key == nil || cfg.Params == nil || cfg.Bodies == nil {
		return nil, errors.New("live: SyncConfig needs Bitcoin, Chain, Key, Params and Bodies")
	}
	if cfg.Batch <= 0 || cfg.Batch > tx.MaxHeadersPerTx {
		cfg.Batch = tx.MaxHeadersPerTx
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Synchronizer{cfg: cfg, log: cfg.Log, send: newSender(cfg.Chain, cfg.ChainID, cfg.Key)}, nil
}

// Address is the synchronizer's account.
func (s *Synchronizer) Address() tx.Address { return s.send.addr }

// Run follows the Bitcoin node until ctx ends. commits signals sidechain
// commits (it may be nil). Errors of a step are logged and the step is
// tried again at the next tick: a Bitcoin node that restarts or a chain
// that halts for a while are normal.
func (s *Synchronizer) Run(ctx context.Context, commits <-chan int64) error {
	s.log.Info("synchronizer started", "address", s.Address(), "poll", s.cfg.Poll)
	return run(ctx, s.log, "synchronizer", s.cfg.Poll, commits, s.Step)
}

// Step compares the Bitcoin node's best chain with the sidechain's header
// tree once and submits what is missing, up to maxInFlight batches.
func (s *Synchronizer) Step(ctx context.Context) error {
	if err := s.checkRegistered(ctx); err != nil {
		return err
	}
	best, err := s.cfg.Bitcoin.BestBlockHash(ctx)
	if err != nil {
		return fmt.Errorf("bitcoin node: %w", err)
	}
	if best == s.lastBest {
		return nil
	}
	fork, target, pending, err := s.forkPoint(ctx, best)
	if err != nil {
		return err
	}
	if fork.height >= target {
		if pending {
			// Submitted but not on chain yet: look again at the next
			// tick, in case the transaction is lost.
			return nil
		}
		s.lastBest = best
		if s.catchingUp {
			s.log.Info("synchronizer caught up", "height", target, "hash", best)
			s.catchingUp = false
		}
		return nil
	}
	for batches := 0; fork.height < target && batches < maxInFlight; batches++ {
		if fork, err = s.submitFrom(ctx, fork, target); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotRegistered: the synchronizer's key is no registered synchronizer;
// the chain would refuse its headers.
var ErrNotRegistered = errors.New("live: the synchronizer key is not registered (satnode tx register-synchronizer)")

// checkRegistered looks the key up in /synchronizers until it is there.
func (s *Synchronizer) checkRegistered(ctx context.Context) error {
	if s.registered {
		return nil
	}
	syncs, err := queryJSON[[]struct {
		Address string `json:"address"`
	}](ctx, s.cfg.Chain, "/synchronizers")
	if err != nil {
		return err
	}
	for _, r := range syncs {
		if r.Address == s.Address().String() {
			s.registered = true
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNotRegistered, s.Address())
}

// forkPoint finds the highest block of the Bitcoin node's best chain that
// the sidechain knows, or that this synchronizer submitted moments ago
// (pending), and the height of the Bitcoin node's tip.
func (s *Synchronizer) forkPoint(ctx context.Context, best chainhash.Hash) (point, int32, bool, error) {
	tip, err := queryJSON[btcTip](ctx, s.cfg.Chain, "/btc-tip")
	if err != nil {
		return point{}, 0, false, err
	}
	target, best, err := s.tipHeight(ctx, best, tip.BestHeaderHeight)
	if err != nil {
		return point{}, 0, false, err
	}
	// The chain refuses headers more than max_headers_ahead above its
	// canonical tip: submit up to there, and the rest as the tip moves.
	if tip.MaxHeadersAhead > 0 && int64(target) > int64(tip.Height)+int64(tip.MaxHeadersAhead) {
		target = tip.Height + tip.MaxHeadersAhead
		if best, err = s.cfg.Bitcoin.BlockHash(ctx, target); err != nil {
			return point{}, 0, false, fmt.Errorf("bitcoin node: getblockhash %d: %w", target, err)
		}
	}
	start := min(target, tip.BestHeaderHeight)
	if s.sent.height > 0 && time.Since(s.sentAt) < stuckAfter && s.sent.height <= target {
		start = max(start, s.sent.height)
	}
	for h := start; h >= tip.BaseHeight; h-- {
		hash, err := s.cfg.Bitcoin.BlockHash(ctx, h)
		if err != nil {
			return point{}, 0, false, fmt.Errorf("bitcoin node: getblockhash %d: %w", h, err)
		}
		if h == s.sent.height && hash == s.sent.hash && time.Since(s.sentAt) < stuckAfter {
			ok, err := known(ctx, s.cfg.Chain, hash)
			if err != nil {
				return point{}, 0, false, err
			}
			return point{h, hash}, target, !ok, nil
		}
		if h == tip.BaseHeight {
			if hash.String() != tip.BaseHash {
				return point{}, 0, false, fmt.Errorf("the bitcoin node's block %d is %s, but the sidechain finalized %s there: "+
					"the bitcoin node is on another chain", h, hash, tip.BaseHash)
			}
			return point{h, hash}, target, false, nil
		}
		ok, err := known(ctx, s.cfg.Chain, hash)
		if err != nil {
			return point{}, 0, false, err
		}
		if ok {
			return point{h, hash}, target, false, nil
		}
	}
	// The Bitcoin node is below the finalized base: nothing to submit.
	return point{target, best}, target, false, nil
}

// tipHeight finds the height of the Bitcoin node's tip, best, by
// getblockhash, starting from a guess: getblockheader's height is not in
// every node's answer shape, and a tip usually sits at or just above the
// chain's best header. If the node's tip moves meanwhile, it returns the
// new tip: the hash is only what woke the step.
func (s *Synchronizer) tipHeight(ctx context.Context, best chainhash.Hash, guess int32) (int32, chainhash.Hash, error) {
	guess = max(guess, 0)
	// Up from the guess: a new block or a short catch-up.
	for h := guess; h-guess < 16; h++ {
		hash, err := s.cfg.Bitcoin.BlockHash(ctx, h)
		if err != nil {
			break // above the node's tip
		}
		if hash == best {
			return h, best, nil
		}
	}
	// Far ahead, or below the guess: find the last height getblockhash
	// answers by doubling, then bisection.
	lo, hi := int32(0), int32(1)
	for {
		if _, err := s.cfg.Bitcoin.BlockHash(ctx, hi); err != nil {
			break
		}
		lo, hi = hi, hi*2
		if hi > 1<<30 {
			return 0, best, errors.New("bitcoin node: no end to getblockhash")
		}
	}
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		if _, err := s.cfg.Bitcoin.BlockHash(ctx, mid); err == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	hash, err := s.cfg.Bitcoin.BlockHash(ctx, lo)
	if err != nil {
		return 0, best, fmt.Errorf("bitcoin node: getblockhash %d: %w", lo, err)
	}
	return lo, hash, nil
}

// submitFrom submits one batch of headers above from, up to target, with
// their bodies kept and announced, and returns the last header sent.
func (s *Synchronizer) submitFrom(ctx context.Context, from point, target int32) (point, error) {
	if err := s.send.ready(ctx); err != nil {
		return from, err
	}
	end := min(target, from.height+int32(s.cfg.Batch))
	msg := tx.SubmitHeaders{Headers: make([][tx.HeaderSize]byte, 0, end-from.height)}
	type body struct {
		p   point
		raw []byte
	}
	bodies := make([]body, 0, end-from.height)
	prev := from.hash
	for h := from.height + 1; h <= end; h++ {
		hash, err := s.cfg.Bitcoin.BlockHash(ctx, h)
		if err != nil {
			return from, fmt.Errorf("bitcoin node: getblockhash %d: %w", h, err)
		}
		raw, err := s.cfg.Bitcoin.Block(ctx, hash)
		if err != nil {
			return from, fmt.Errorf("bitcoin node: getblock %s: %w", hash, err)
		}
		if _, err := app.CheckBody(s.cfg.Params, hash, h, raw); err != nil {
			return from, fmt.Errorf("bitcoin node: block %d: %w", h, err)
		}
		if chainhash.Hash(raw[4:36]) != prev {
			// The node reorganized while we read it; the next step
			// starts again from the new tip.
			return from, fmt.Errorf("bitcoin node: block %d %s does not follow %s (reorganizing?)", h, hash, prev)
		}
		if err := s.cfg.Bodies.Keep(hash, h, raw); err != nil {
			return from, err
		}
		msg.Headers = append(msg.Headers, [tx.HeaderSize]byte(raw[:tx.HeaderSize]))
		bodies = append(bodies, body{point{h, hash}, raw})
		prev = hash
	}
	if err := s.send.send(ctx, msg); err != nil {
		return from, err
	}
	last := bodies[len(bodies)-1].p
	s.sent, s.sentAt = last, time.Now()
	for _, b := range bodies {
		if err := s.cfg.Bodies.Announce(ctx, b.p.hash, b.p.height, b.raw); err != nil {
			s.log.Warn("announcing a body", "height", b.p.height, "hash", b.p.hash, "err", err)
		}
	}
	if remaining := target - last.height; remaining > 0 || len(bodies) > 1 {
		s.catchingUp = s.catchingUp || remaining > 0
		s.log.Info("synchronizer submitted headers", "from", from.height+1, "to", last.height,
			"target", target, "remaining", remaining)
	} else {
		s.log.Info("synchronizer submitted a header", "height", last.height, "hash", last.hash)
	}
	return last, nil
}
