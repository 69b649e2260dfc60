package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node/client"
)

// Chain is the sidechain as the roles see it. *client.Client implements
// it, over the node's in-process CometBFT client or over HTTP.
type Chain interface {
	Query(ctx context.Context, path string) (json.RawMessage, error)
	Account(ctx context.Context, addr tx.Address) (*client.Account, error)
	Broadcast(ctx context.Context, chainID string, priv *btcec.PrivateKey, msg tx.Msg, nonce uint64) (string, error)
}

// Bitcoin is the Bitcoin node as the roles see it: the JSON-RPC calls
// getbestblockhash, getblockhash and getblock <hash> 0, which Bitcoin Core
// and btcd both answer. btcnode.Client and btcnode.FileSource implement it.
type Bitcoin interface {
	BestBlockHash(ctx context.Context) (chainhash.Hash, error)
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	Block(ctx context.Context, hash chainhash.Hash) ([]byte, error)
}

// btcTip is the /btc-tip answer.
type btcTip struct {
	Height           int32  `json:"height"`
	Hash             string `json:"hash"`
	BaseHeight       int32  `json:"base_height"`
	BaseHash         string `json:"base_hash"`
	BestHeaderHeight int32  `json:"best_header_height"`
	BestHeaderHash   string `json:"best_header_hash"`
	MaxHeadersAhead  int32  `json:"max_headers_ahead"`
}

// record is one /endorsements entry.
type record struct {
	Height    int32    `json:"height"`
	Hash      string   `json:"hash"`
	Endorsers []string `json:"endorsers"`
	// Late endorsed after the block became canonical.
	Late     []string `json:"late"`
	Endorsed bool     `json:"endorsed"`
	// Paid: settled, its attendance window closed; endorsing it is no
	// longer of use.
	Paid bool `json:"paid"`
}

// endorsedBy reports whether op endorsed r, on time or late.
func (r record) endorsedBy(op string) bool {
	return slices.Contains(r.Endorsers, op) || slices.Contains(r.Late, op)
}

// endorsementPage and maxEndorsementPages bound what one look at the open
// records reads: the chain answers at most 1000 a page.
const (
	endorsementPage     = 1000
	maxEndorsementPages = 16
)

// openRecords pages through /endorsements (the records not settled, in
// height order) until want records pass keep or the pages run out.
func openRecords(ctx context.Context, c Chain, want int, keep func(record) bool) ([]record, error) {
	var out []record
	path := fmt.Sprintf("/endorsements?limit=%d", endorsementPage)
	for range maxEndorsementPages {
		page, err := queryJSON[[]record](ctx, c, path)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if keep(r) {
				out = append(out, r)
			}
		}
		if len(page) < endorsementPage || len(out) >= want {
			break
		}
		last := page[len(page)-1]
		path = fmt.Sprintf("/endorsements?limit=%d&after=%d:%s", endorsementPage, last.Height, last.Hash)
	}
	return out, nil
}

type validator struct {
	Operator string `json:"operator"`
	Endorser string `json:"endorser"`
	Jailed   bool   `json:"jailed"`
	// Power is 0 unless the validator is bonded, active and unjailed:
	// only then do its endorsements count, and the chain refuses others.
	Power int64 `json:"power"`
}

func queryJSON[T any](ctx context.Context, c Chain, path string) (T, error) {
	var v T
	raw, err := c.Query(ctx, path)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("live: query %s: %w", path, err)
	}
	return v, nil
}

// known reports whether the sidechain's header tree holds hash.
func known(ctx context.Context, c Chain, hash chainhash.Hash) (bool, error) {
	_, err := c.Query(ctx, "/btc-header/"+hash.String())
	var qe *client.QueryError
	if errors.As(err, &qe) && qe.Code == tx.CodeUnknownBlock {
		return false, nil
	}
	return err == nil, err
}

// sender signs and broadcasts one account's transactions, keeping the
// nonces in order. Up to maxInFlight may wait in the mempool at once; if
// the committed nonce stops moving while some are out (one was dropped
// from a mempool, say), it starts again after the committed one. It is
// safe for concurrent use.
type sender struct {
	chain   Chain
	chainID string
	priv    *btcec.PrivateKey
	addr    tx.Address

	mu   sync.Mutex
	next uint64 // nonce of the next transaction; 0: not read yet
	// committed is the last committed nonce seen, and progressAt when it
	// last moved or when a transaction went out with none in flight.
	committed  uint64
	progressAt time.Time
}

const (
	maxInFlight = 4
	// stuckAfter: how long transactions may stay out with the committed
	// nonce not moving before they are taken as lost, and sent again
	// from the committed nonce on.
	stuckAfter = 20 * time.Second
)

// errBusy: maxInFlight transactions are out; wait for a commit.
var errBusy = errors.New("live: transactions in flight; waiting for a block")

func newSender(c Chain, chainID string, priv *btcec.PrivateKey) *sender {
	return &sender{chain: c, chainID: chainID, priv: priv, addr: tx.AddressOf(priv.PubKey())}
}

// ready returns errBusy if a transaction sent now would have to wait for
// one in flight: callers check it before they do the work of one.
func (s *sender) ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.advance(ctx)
}

// advance sets s.next from the committed nonce, or returns errBusy.
func (s *sender) advance(ctx context.Context) error {
	acct, err := s.chain.Account(ctx, s.addr)
	if err != nil {
		return fmt.Errorf("live: reading account %s: %w", s.addr, err)
	}
	committed := acct.Nonce
	if committed != s.committed {
		s.committed, s.progressAt = committed, time.Now()
	}
	switch {
	case s.next <= committed:
		s.next = committed + 1
	case time.Since(s.progressAt) >= stuckAfter:
		s.next = committed + 1 // lost (dropped from a mempool, say)
	case s.next-committed-1 >= maxInFlight:
		return errBusy
	}
	return nil
}

// send broadcasts msg with the next nonce; the transaction has passed
// CheckTx when it returns nil.
func (s *sender) send(ctx context.Context, msg tx.Msg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.advance(ctx); err != nil {
		return err
	}
	_, err := s.chain.Broadcast(ctx, s.chainID, s.priv, msg, s.next)
	var te *client.TxError
	if errors.As(err, &te) && te.Code == tx.CodeBadNonce {
		s.next = 0 // someone else used the key; read it again next time
		return err
	}
	if err != nil {
		return err
	}
	if s.next == s.committed+1 { // the first in flight
		s.progressAt = time.Now()
	}
	s.next++
	return nil
}

// run calls step at once, then at every tick and every commit signal,
// until ctx ends. A step's error is logged once, not at every tick, until
// a step succeeds again; errBusy is no error (a block will come).
func run(ctx context.Context, log *slog.Logger, role string, poll time.Duration, commits <-chan int64, step func(context.Context) error) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	var lastErr string
	for {
		err := step(ctx)
		switch {
		case err == nil || errors.Is(err, errBusy):
			lastErr = ""
		case ctx.Err() != nil:
			return nil
		case err.Error() != lastErr:
			log.Warn(role+" step failed", "err", err)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-commits:
		}
	}
}
