package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"

	"github.com/satnode/satnode/consensus/tx"
)

// Query answers read-only questions about the last committed state, in
// JSON, from the committed view: never from the state FinalizeBlock is
// changing, so queries run on their own ABCI connection while a block
// executes (or waits for a body), and every answer belongs to the one
// commit whose height it carries. Paths:
//
//	/account/<address>   {"address","balance","nonce"}
//	/validators          [{"operator","consensus_key","endorser","commission_bps","moniker","tokens","power","jailed","jailed_until"}]
//	/synchronizers       [{"address","bond","payout"}]
//	/btc-tip             {"height","hash","muhash","base_height","base_hash","best_header_height","best_header_hash","max_headers_ahead"}
//	/btc-header/<hash>   {"height","hash","canonical","final"}
//	/utxo-info[/<height>] the set's totals (gettxoutsetinfo)
//	/utxo/<txid>:<vout>  an unspent output (gettxout); null if spent or never created
//	/address/<address>[?after=<txid>:<vout>&limit=<n>]
//	/scripthash/<hex>[?after=<txid>:<vout>&limit=<n>]
//	                     counters and a page of unspent outputs (query.ScriptHashInfo)
//	/endorsements[?after=<height>:<hash>&limit=<n>]
//	                     [{"height","hash","submitter","endorsers","late","endorsed","paid","endorsed_power","total_power"}]
//
// /endorsements lists the open records, those not yet settled (paid), in
// (height, hash) order, at most limit (default and maximum
// MaxEndorsementsPage) after the cursor: the endorser pages through them.
// /address and /scripthash page like the offline `satnode utxo address`:
// limit (default 100, at most MaxUTXOPage) outputs after the cursor, and
// "next" names the last one when more follow.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	v, err := a.views.Acquire()
	if err != nil {
		return queryErr(&tx.Error{Code: tx.CodeInternal, Msg: "no committed state yet"}), nil
	}
	defer v.Release()
	out, err := v.query(req.Path)
	if err != nil {
		return queryErr(err), nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return queryErr(err), nil
	}
	return &abci.ResponseQuery{Code: uint32(tx.CodeOK), Value: b, Height: v.Height}, nil
}

// MaxEndorsementsPage bounds one /endorsements answer.
const MaxEndorsementsPage = 1000

// MaxUTXOPage bounds the unspent outputs of one /address or /scripthash
// answer.
const MaxUTXOPage = 1000

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
	// MaxHeadersAhead is the genesis cap: headers more than this above
	// Height are refused.
	MaxHeadersAhead int32 `json:"max_headers_ahead"`
}

type endorsementJSON struct {
	Height    int32    `json:"height"`
	Hash      string   `json:"hash"`
	Submitter string   `json:"submitter"`
	Endorsers []string `json:"endorsers"`
	// Late endorsed after the block became canonical, within the
	// attendance window.
	Late          []string `json:"late"`
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

func (v *View) query(path string) (any, error) {
	switch {
	case strings.HasPrefix(path, "/btc-header/"):
		hash, err := chainhash.NewHashFromStr(strings.TrimPrefix(path, "/btc-header/"))
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("bad block hash: %v", err)}
		}
		h, ok, err := v.HeaderHeight(*hash)
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
		}
		if !ok {
			return nil, &tx.Error{Code: tx.CodeUnknownBlock, Msg: fmt.Sprintf("no header %s in the tree", hash)}
		}
		canonical := false
		if ch, err := v.Reader.HeightOf(*hash); err == nil && ch == h && h <= v.Tip.Height {
			canonical = true
		}
		return headerJSON{Height: h, Hash: hash.String(), Canonical: canonical, Final: h <= v.Final.Height}, nil
	case strings.HasPrefix(path, "/account/"):
		addr, err := tx.ParseAddress(strings.TrimPrefix(path, "/account/"))
		if err != nil {
			return nil, err
		}
		acct, ok, err := v.Account(addr)
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
		}
		if !ok {
			return nil, &tx.Error{Code: tx.CodeUnknownAccount, Msg: fmt.Sprintf("no account %s", addr)}
		}
		return accountJSON{Address: addr.String(), Balance: acct.Balance, Nonce: acct.Nonce}, nil
	case path == "/utxo-info" || strings.HasPrefix(path, "/utxo-info/"):
		height := int64(-1)
		if h := strings.TrimPrefix(path, "/utxo-info/"); h != path {
			n, err := strconv.ParseInt(h, 10, 32)
			if err != nil || n < 0 {
				return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("bad height %q", h)}
			}
			height = n
		}
		info, err := query.GetTxOutSetInfo(v.Reader, int32(height))
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeMalformed, Msg: err.Error()}
		}
		return info, nil
	case strings.HasPrefix(path, "/utxo/"):
		op, err := query.ParseOutpoint(strings.TrimPrefix(path, "/utxo/"))
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeMalformed, Msg: err.Error()}
		}
		if v.Params == nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: "no network parameters"}
		}
		out, err := query.GetTxOut(v.Reader, v.Params.Chain, op)
		if utxo.IsNotFound(err) {
			return nil, nil // Core's gettxout answers null
		}
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
		}
		return out, nil
	case strings.HasPrefix(path, "/address/") || strings.HasPrefix(path, "/scripthash/"):
		return v.scriptHashQuery(path)
	case path == "/validators":
		out := []validatorJSON{}
		for _, val := range v.Validators {
			j := validatorJSON{Operator: val.Operator.String(), ConsensusKey: hex.EncodeToString(val.ConsensusKey[:]),
				Endorser: val.EndorserKey.String(), CommissionBps: val.CommissionBps, Moniker: val.Moniker,
				Tokens: val.Tokens, Power: v.Powers[val.Operator], Jailed: val.Jailed}
			if val.Jailed {
				t := val.JailedUntil.UTC()
				j.JailedUntil = &t
			}
			out = append(out, j)
		}
		return out, nil
	case path == "/synchronizers":
		out := []synchronizerJSON{}
		for _, s := range v.Synchronizers {
			out = append(out, synchronizerJSON{Address: s.Address.String(), Bond: s.Bond, Payout: s.Payout.String()})
		}
		return out, nil
	case path == "/btc-tip":
		info, err := query.GetTxOutSetInfo(v.Reader, -1)
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
		}
		return btcTipJSON{Height: v.Tip.Height, Hash: v.Tip.Hash.String(), MuHash: info.MuHash,
			BaseHeight: v.Final.Height, BaseHash: v.Final.Hash.String(),
			BestHeaderHeight: v.BestHeader.Height, BestHeaderHash: v.BestHeader.Hash.String(),
			MaxHeadersAhead: v.ChainParams.MaxHeadersAhead}, nil
	case path == "/endorsements" || strings.HasPrefix(path, "/endorsements?"):
		after, limit, err := parsePage(strings.TrimPrefix(path, "/endorsements"))
		if err != nil {
			return nil, err
		}
		recs, err := v.openRecords(after, limit)
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
		}
		out := []endorsementJSON{}
		for _, r := range recs {
			j := endorsementJSON{Height: r.height, Hash: r.hash.String(), Submitter: r.submitter.String(),
				Endorsers: []string{}, Late: []string{}, Endorsed: r.endorsed, Paid: r.paid, TotalPower: v.TotalPower}
			for _, op := range r.endorsers {
				j.Endorsers = append(j.Endorsers, op.String())
				j.EndorsedPower += v.Powers[op]
			}
			for _, op := range r.lateEndorsers() {
				j.Late = append(j.Late, op.String())
			}
			out = append(out, j)
		}
		return out, nil
	}
	return nil, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("unknown query path %q", path)}
}

// scriptHashQuery answers /address/<address> and /scripthash/<hex>, each
// with an optional "?after=<txid>:<vout>&limit=<n>".
func (v *View) scriptHashQuery(path string) (any, error) {
	bad := func(f string, a ...any) error { return &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf(f, a...)} }
	path, rawQuery, _ := strings.Cut(path, "?")
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, bad("bad query string: %v", err)
	}
	limit, err := parseLimit(vals, 100, MaxUTXOPage)
	if err != nil {
		return nil, err
	}
	var after *utxo.Outpoint
	if a := vals.Get("after"); a != "" {
		op, err := query.ParseOutpoint(a)
		if err != nil {
			return nil, bad("after: %v", err)
		}
		after = &op
	}
	var sh [32]byte
	addr, isAddr := strings.CutPrefix(path, "/address/")
	if isAddr {
		if v.Params == nil {
			return nil, &tx.Error{Code: tx.CodeInternal, Msg: "no network parameters"}
		}
		script, err := query.ScriptForAddress(addr, v.Params.Chain)
		if err != nil {
			return nil, &tx.Error{Code: tx.CodeInvalidAddress, Msg: err.Error()}
		}
		sh = query.ScriptHashOf(script)
	} else if sh, err = query.ParseScriptHash(strings.TrimPrefix(path, "/scripthash/")); err != nil {
		return nil, bad("%v", err)
	}
	info, err := query.GetScriptHash(v.Reader, sh, after, limit)
	if err != nil {
		return nil, &tx.Error{Code: tx.CodeInternal, Msg: err.Error()}
	}
	if isAddr {
		info.Address = addr
	}
	return info, nil
}

// parseLimit reads a page's "limit" (1..max), def when absent.
func parseLimit(vals url.Values, def, max int) (int, error) {
	l := vals.Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		return 0, &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf("limit %q: want 1..%d", l, max)}
	}
	return n, nil
}

// parsePage reads "?after=<height>:<hash>&limit=<n>" (both optional).
func parsePage(q string) (*BlockRef, int, error) {
	bad := func(f string, a ...any) error { return &tx.Error{Code: tx.CodeMalformed, Msg: fmt.Sprintf(f, a...)} }
	limit := MaxEndorsementsPage
	if q == "" {
		return nil, limit, nil
	}
	vals, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
	if err != nil {
		return nil, 0, bad("bad query string: %v", err)
	}
	if limit, err = parseLimit(vals, limit, MaxEndorsementsPage); err != nil {
		return nil, 0, err
	}
	var after *BlockRef
	if c := vals.Get("after"); c != "" {
		ref, err := ParseBlockRef(c)
		if err != nil {
			return nil, 0, bad("after %q: want <height>:<hash>", c)
		}
		after = &ref
	}
	return after, limit, nil
}

// openRecords reads up to limit records not yet settled, after the cursor,
// from the committed store. Settled records lie between the finalized base
// and the tip (at most finality_depth heights), so a page reads little
// more than it returns.
func (v *View) openRecords(after *BlockRef, limit int) ([]*blockRec, error) {
	var out []*blockRec
	err := v.eachRecord(after, func(r *blockRec) (bool, error) {
		if !r.paid {
			out = append(out, r)
		}
		return len(out) < limit, nil
	})
	return out, err
}
