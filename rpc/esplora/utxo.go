package esplora

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo/query"
)

// HeaderNext carries the cursor of the next page of a paged /utxo answer.
const HeaderNext = "X-Satnode-Next"

// ScriptStats is Esplora's /address/:address and /scripthash/:hash
// answer; exactly one of Address and ScriptHash is set, echoing the path.
// The fields are in electrs's order (its JSON object sorts its keys).
type ScriptStats struct {
	Address    string           `json:"address,omitempty"`
	ChainStats query.ChainStats `json:"chain_stats"`
	// MempoolStats are zero: satnode has no mempool.
	MempoolStats query.ChainStats `json:"mempool_stats"`
	ScriptHash   string           `json:"scripthash,omitempty"`
}

// scriptHash resolves the request's address or script hash.
func scriptHash(q *request, v *app.View) ([32]byte, *Error) {
	if q.byAddress {
		return addressScriptHash(q.param, v.Params.Chain)
	}
	return q.sh, nil
}

func (h *handler) scriptStats(w http.ResponseWriter, q *request, v *app.View) *Error {
	sh, e := scriptHash(q, v)
	if e != nil {
		return e
	}
	s, err := v.Reader.ScriptHashStats(sh)
	if err != nil {
		return lookupError(err)
	}
	out := ScriptStats{ChainStats: query.ChainStats{FundedTxoCount: s.FundedCount, FundedTxoSum: s.FundedSum,
		SpentTxoCount: s.SpentCount, SpentTxoSum: s.SpentSum, TxCount: s.TxCount}}
	// Esplora echoes the path parameter as given.
	if q.byAddress {
		out.Address = q.param
	} else {
		out.ScriptHash = q.param
	}
	writeJSON(w, out, ttlShort)
	return nil
}

func (h *handler) scriptUTXOs(w http.ResponseWriter, r *http.Request, q *request, v *app.View) *Error {
	sh, e := scriptHash(q, v)
	if e != nil {
		return e
	}
	limit := q.page.limit
	if !q.page.paged {
		// Refuse before listing anything: the counters say how many
		// there are in one read.
		s, err := v.Reader.ScriptHashStats(sh)
		if err != nil {
			return lookupError(err)
		}
		if n := s.UTXOCount(); n > uint64(h.opts.MaxUTXOs) {
			return h.tooMany(q, n)
		}
		limit = h.opts.MaxUTXOs
	}
	info, err := query.GetScriptHash(v.Reader, sh, q.page.after, limit)
	if err != nil {
		return lookupError(err)
	}
	if info.Next != "" {
		if !q.page.paged {
			// The counters and the index disagree (they are written in
			// the same batch, so only a damaged store gets here); still
			// never send a truncated list as if it were whole.
			return h.tooMany(q, info.ChainStats.FundedTxoCount-info.ChainStats.SpentTxoCount)
		}
		w.Header().Set(HeaderNext, info.Next)
		w.Header().Set("Link", "<"+requestPath(r)+"?after="+info.Next+"&limit="+strconv.Itoa(limit)+`>; rel="next"`)
	}
	writeJSON(w, info.UTXOs, ttlShort)
	return nil
}

// tooMany is the answer to an unpaged listing over the limit.
func (h *handler) tooMany(q *request, n uint64) *Error {
	what := "this script hash"
	if q.byAddress {
		what = "this address"
	}
	return badRequest(fmt.Sprintf("Too many unspent outputs to list at once: %s has %d, the limit is %d. "+
		"Page through them with ?limit=N (at most %d), then ?after=TXID:VOUT&limit=N with the value of the %s "+
		"response header (also in the Link header, rel=\"next\") until it is absent.",
		what, n, h.opts.MaxUTXOs, h.opts.MaxPage, HeaderNext))
}

// requestPath is the path the client asked for, with any prefix the
// server stripped before the handler ("/api"), so that the Link header
// points where the client can follow it.
func requestPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.EscapedPath() != "" {
			return u.EscapedPath()
		}
	}
	return r.URL.EscapedPath()
}
