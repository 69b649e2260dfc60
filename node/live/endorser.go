package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/tx"
)

// BodySource is where an endorser gets the body of a pending header: the
// node's own chain of providers (body store, peers, its Bitcoin node). It
// must return only a body it has checked against the header (hash,
// merkle root, witness commitment), and keep it so the node can serve it.
type BodySource interface {
	Body(ctx context.Context, hash chainhash.Hash, height int32) ([]byte, error)
}

// EndorserConfig configures an Endorser.
type EndorserConfig struct {
	Bitcoin Bitcoin
	Chain   Chain
	ChainID string
	// Key is the validator's endorser key (CreateValidator's EndorserKey).
	Key    *btcec.PrivateKey
	Bodies BodySource
	// Batch is the number of endorsements per transaction (default and
	// maximum tx.MaxEndorsementsPerTx).
	Batch int
	// Poll is how often pending headers are looked at besides at each
	// commit (default 500ms): a header the Bitcoin node did not have a
	// moment ago may be there now.
	Poll time.Duration
	// BodyWait bounds the wait for one body (default 3s).
	BodyWait time.Duration
	Log      *slog.Logger
}

// Endorser endorses the pending headers that are in its own Bitcoin node's
// best chain and whose body it holds, checked. It never endorses a header
// its node does not have at that height.
type Endorser struct {
	cfg  EndorserConfig
	log  *slog.Logger
	send *sender
	// sent: hashes endorsed by transactions that may still be in the
	// mempool, and when.
	sent     map[chainhash.Hash]time.Time
	operator string
	// inactive: the validator had no power at the last look.
	inactive bool
}

// NewEndorser checks cfg and returns an Endorser.
func NewEndorser(cfg EndorserConfig) (*Endorser, error) {
	if cfg.Bitcoin == nil || cfg.Chain == nil || cfg.Key == nil || cfg.Bodies == nil {
		return nil, errors.New("live: EndorserConfig needs Bitcoin, Chain, Key and Bodies")
	}
	if cfg.Batch <= 0 || cfg.Batch > tx.MaxEndorsementsPerTx {
		cfg.Batch = tx.MaxEndorsementsPerTx
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.BodyWait <= 0 {
		cfg.BodyWait = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Endorser{cfg: cfg, log: cfg.Log, send: newSender(cfg.Chain, cfg.ChainID, cfg.Key),
		sent: make(map[chainhash.Hash]time.Time)}, nil
}

// Address is the endorser key's address.
func (e *Endorser) Address() tx.Address { return e.send.addr }

// Run endorses until ctx ends; commits signals sidechain commits (it may
// be nil). A step's errors are logged once and the step tried again.
func (e *Endorser) Run(ctx context.Context, commits <-chan int64) error {
	e.log.Info("endorser started", "address", e.Address())
	return run(ctx, e.log, "endorser", e.cfg.Poll, commits, func(ctx context.Context) error {
		_, err := e.Step(ctx)
		return err
	})
}

// ErrNotValidator: the endorser key belongs to no validator.
var ErrNotValidator = errors.New("live: the endorser key is no validator's endorser key")

// Step endorses what it can of the pending headers once and returns how
// many it endorsed.
func (e *Endorser) Step(ctx context.Context) (int, error) {
	if ok, err := e.active(ctx); err != nil || !ok {
		return 0, err
	}
	if err := e.send.ready(ctx); err != nil {
		return 0, err
	}
	recs, err := openRecords(ctx, e.cfg.Chain, e.cfg.Batch, func(r record) bool {
		return !r.Paid && !r.endorsedBy(e.operator)
	})
	if err != nil {
		return 0, err
	}
	now := time.Now()
	for h, at := range e.sent {
		if now.Sub(at) > stuckAfter {
			delete(e.sent, h)
		}
	}
	slices.SortFunc(recs, func(a, b record) int { return int(a.Height - b.Height) })
	var items []tx.Endorsement
	var skipped int
	for _, r := range recs {
		if len(items) == e.cfg.Batch {
			break
		}
		if r.Paid || r.endorsedBy(e.operator) {
			continue
		}
		hash, err := chainhash.NewHashFromStr(r.Hash)
		if err != nil {
			return 0, fmt.Errorf("live: /endorsements: %w", err)
		}
		if _, ok := e.sent[*hash]; ok {
			continue
		}
		ok, why, nodeErr := e.endorsable(ctx, r.Height, *hash)
		if nodeErr {
			// The Bitcoin node is down or has no block at this height:
			// the records above (in height order) would fail the same way.
			e.log.Debug("not endorsing from here on", "height", r.Height, "why", why)
			break
		}
		if !ok {
			skipped++
			e.log.Debug("not endorsing", "height", r.Height, "hash", hash, "why", why)
			continue
		}
		items = append(items, tx.Endorsement{Height: uint32(r.Height), Hash: *hash})
	}
	if len(items) == 0 {
		return 0, nil
	}
	if err := e.send.send(ctx, tx.Endorse{Items: items}); err != nil {
		return 0, err
	}
	for _, it := range items {
		e.sent[it.Hash] = now
	}
	first, last := items[0], items[len(items)-1]
	e.log.Info("endorsed", "count", len(items), "from", first.Height, "to", last.Height, "hash", last.Hash,
		"not_endorsable", skipped)
	return len(items), nil
}

// endorsable: the Bitcoin node has hash at height in its best chain, and
// the body is here, checked. nodeErr: getblockhash failed (the node is
// down, or its chain is shorter).
func (e *Endorser) endorsable(ctx context.Context, height int32, hash chainhash.Hash) (ok bool, why string, nodeErr bool) {
	have, err := e.cfg.Bitcoin.BlockHash(ctx, height)
	if err != nil {
		return false, fmt.Sprintf("bitcoin node: getblockhash %d: %v", height, err), true
	}
	if have != hash {
		return false, fmt.Sprintf("the bitcoin node has %s at %d", have, height), false
	}
	bctx, cancel := context.WithTimeout(ctx, e.cfg.BodyWait)
	defer cancel()
	if _, err := e.cfg.Bodies.Body(bctx, hash, height); err != nil {
		return false, fmt.Sprintf("no checked body: %v", err), false
	}
	return true, "", false
}

// active finds the validator whose endorser key this is and reports
// whether it has power: a jailed or inactive validator's Endorse is
// refused (and still pays its fee), so the endorser waits instead, saying
// so once. One /validators query a step answers both.
func (e *Endorser) active(ctx context.Context) (bool, error) {
	vals, err := queryJSON[[]validator](ctx, e.cfg.Chain, "/validators")
	if err != nil {
		return false, err
	}
	me := e.Address().String()
	for _, v := range vals {
		if v.Endorser != me {
			continue
		}
		if e.operator != v.Operator {
			e.operator = v.Operator
			e.log.Info("endorsing for validator", "operator", v.Operator)
		}
		ok := v.Power > 0
		if ok == e.inactive {
			if ok {
				e.log.Info("validator active again: endorsing", "operator", v.Operator)
			} else {
				e.log.Warn("validator jailed or not in the active set: not endorsing until it is", "operator", v.Operator,
					"jailed", v.Jailed)
			}
		}
		e.inactive = !ok
		return ok, nil
	}
	return false, fmt.Errorf("%w: %s", ErrNotValidator, me)
}
