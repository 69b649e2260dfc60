package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/muhash"
	"github.com/satnode/satnode/utxo/query"

	"github.com/satnode/satnode/consensus/tx"
)

// Query answers read-only questions about the state as of the last
// FinalizeBlock, in JSON. Paths:
//
//	/account/<address>   {"address","balance","nonce"}
//	/validators          [{"operator","consensus_key","endorser","commission_bps","moniker","tokens","power","jailed","jailed_until"}]
//	/synchronizers       [{"address","bond","payout"}]
//	/btc-tip             {"height","hash","muhash","base_height","base_hash","best_header_height","best_header_hash"}
//	/endorsements        [{"height","hash","submitter","endorsers","endorsed","paid","endorsed_power","total_power"}]
//
// Every answer carries the CometBFT height it was read at.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if a.stake == nil {
		return queryErr(&tx.Error{Code: tx.CodeInternal, Msg: "no chain yet"}), nil
	}
	v, err := a.query(req.Path)
	if err != nil {
		return queryErr(err), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return queryErr(err), nil
	}
	return &abci.ResponseQuery{Code: uint32(tx.CodeOK), Value: b, Height: a.height}, nil
}

func queryErr(err error) *abci.ResponseQuery {
	return &abci.ResponseQuery{Code: uint32(tx.CodeOf(err)), Codespace: codespace, Log: err.Error()}
}

type accountJSON struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
	Nonce   uint64 `json:"nonce"`
}

type validatorJSON struct {
	Operator      string     `json:"operator"`
	ConsensusKey  string     `json:"consensus_key"`
	Endorser      string     `json:"endorser"`
	CommissionBps uint16     `json:"commission_bps"`
	Moniker       string     `json:"moniker"`
	Tokens        uint64     `json:"tokens"`
	Power         int64      `json:"power"`
	Jailed        bool       `json:"jailed"`
	JailedUntil   *time.Time `json:"jailed_until,omitempty"`
}

type synchronizerJSON struct {
	Address string `json:"address"`
	Bond    uint64 `json:"bond"`
	Payout  string `json:"payout"`
}

type btcTipJSON struct {
	Height           int32  `json:"height"`
	Hash             string `json:"hash"`
	MuHash           string `json:"muhash"`
	BaseHeight       int32  `json:"base_height"`
	BaseHash         string `json:"base_hash"`
	BestHeaderHeight int32  `json:"best_header_height"`
	BestHeaderHash   string `json:"best_header_hash"`
}

type endorsementJSON struct {
	Height        int32    `json:"height"`
	Hash          string   `json:"hash"`
	Submitter     string   `json:"submitter"`
	Endorsers     []string `json:"endorsers"`
	Endorsed      bool     `json:"endorsed"`
	Paid          bool     `json:"paid"`
	EndorsedPower int64    `json:"endorsed_power"`
	TotalPower    int64    `json:"total_power"`
}

// headerJSON answers /btc-header/<hash>: where a header the chain knows
// stands. Synchronizers ask it to find where their Bitcoin node's chain
// and the sidechain's part.
type headerJSON struct {
	Height int32  `json:"height"`
	Hash   string `json:"hash"`
	// Canonical: the header is on the chain of the UTXO set's tip (its
	// block is applied), or is the finalized base or below it.
	Canonical bool `json:"canonical"`
	// Final: at or below the finalized base.
	Final bool `json:"final"`
}

func (a *App) query(path string) (any, error) {
	switch {
	case strings.HasPrefix(path, "/btc-header/"):
		hash, err := chainhash.NewHashFromStr(strings.TrimPrefix(path, "/btc-header/"))
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("bad block hash: %v", err)}
		}
		n, ok := a.tree.Get(*hash)
		if !ok {
			return nil, &tx.Error{Code: tx.CodeUnknownBlock, Msg: fmt.Sprintf("no header %s in the tree", hash)}
		}
		tip, err := a.btcTip()
		if err != nil {
			return nil, err
		}
		base := a.tree.Base()
		return headerJSON{Height: n.Height(), Hash: n.Hash().String(),
			Canonical: n.Height() <= tip.Height() && tip.Ancestor(n.Height()) == n,
			Final:     n.Height() <= base.Height()}, nil
	case strings.HasPrefix(path, "/account/"):
		addr, err := tx.ParseAddress(strings.TrimPrefix(path, "/account/"))
		if err != nil {
			return nil, err
		}
		acct, ok := a.stake.Account(addr)
		if !ok {
			return nil, &tx.Error{Code: tx.CodeUnknownAccount, Msg: fmt.Sprintf("no account %s", addr)}
		}
		return accountJSON{Address: addr.String(), Balance: acct.Balance, Nonce: acct.Nonce}, nil
	case path == "/utxo-info" || strings.HasPrefix(path, "/utxo-info/"):
		// The store holds exactly the committed state: the engine writes
		// only at Commit, and queries run between ABCI calls.
		height := int64(-1)
		if h := strings.TrimPrefix(path, "/utxo-info/"); h != path {
			v, err := strconv.ParseInt(h, 10, 32)
			if err != nil || v < 0 {
				return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("bad height %q", h)}
			}
			height = v
		}
		v, err := query.GetTxOutSetInfo(utxo.NewReader(a.cfg.Store), int32(height))
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeMalformed, Msg: err.Error()}
		}
		return v, nil
	case path == "/validators":
		out := []validatorJSON{}
		for _, v := range a.stake.Validators() {
			j := validatorJSON{Operator: v.Operator.String(), ConsensusKey: hex.EncodeToString(v.ConsensusKey[:]),
				Endorser: v.EndorserKey.String(), CommissionBps: v.CommissionBps, Moniker: v.Moniker,
				Tokens: v.Tokens, Power: a.stake.Power(v.Operator), Jailed: v.Jailed}
			if v.Jailed {
				t := v.JailedUntil.UTC()
				j.JailedUntil = &t
			}
			out = append(out, j)
		}
		return out, nil
	case path == "/synchronizers":
		out := []synchronizerJSON{}
		for _, s := range a.stake.Synchronizers() {
			out = append(out, synchronizerJSON{Address: s.Address.String(), Bond: s.Bond, Payout: s.Payout.String()})
		}
		return out, nil
	case path == "/btc-tip":
		tip, err := a.btcTip()
		if err != nil {
			return nil, err
		}
		mu, err := a.engine.Digest()
		if err != nil {
			return nil, err
		}
		best := a.tree.BestChain(func(*btcheaders.Node) bool { return true })
		return btcTipJSON{Height: tip.Height(), Hash: tip.Hash().String(), MuHash: muhash.Digest(mu).String(),
			BaseHeight: a.tree.Base().Height(), BaseHash: a.tree.Base().Hash().String(),
			BestHeaderHeight: best.Height(), BestHeaderHash: best.Hash().String()}, nil
	case path == "/endorsements":
		total := a.stake.TotalPower()
		out := []endorsementJSON{}
		for _, r := range a.recs.sorted() {
			j := endorsementJSON{Height: r.height, Hash: r.hash.String(), Submitter: r.submitter.String(),
				Endorsers: []string{}, Endorsed: r.endorsed, Paid: r.paid, TotalPower: total}
			for _, op := range r.endorsers {
				j.Endorsers = append(j.Endorsers, op.String())
				j.EndorsedPower += a.stake.Power(op)
			}
			out = append(out, j)
		}
		return out, nil
	}
	return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("unknown query path %q", path)}
}
