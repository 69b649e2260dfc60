package esplora

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/utxo"
)

// Defaults of Options.
const (
	DefaultMaxUTXOs = 1000
	DefaultMaxPage  = 1000
)

// Options tunes the handler. Zero values take the defaults.
type Options struct {
	// MaxUTXOs: an unpaged /utxo request for an address with more unspent
	// outputs than this fails at once with HTTP 400 and a clear message
	// (electrs has the same kind of limit) instead of timing out. Default
	// 1000.
	MaxUTXOs int
	// MaxPage caps ?limit= of a paged request. Default 1000.
	MaxPage int
	// Bodies, if set, holds the block bodies /block/:hash/txids, /raw and
	// /txs answer from (the node's body store). Without it they answer
	// only for the genesis block.
	Bodies Bodies
}

// handler serves the routes; see the package comment.
type handler struct {
	views *app.Views
	opts  Options
}

// New returns the Esplora handler over views, rooted at "/".
func New(views *app.Views, opts Options) http.Handler {
	if opts.MaxUTXOs <= 0 {
		opts.MaxUTXOs = DefaultMaxUTXOs
	}
	if opts.MaxPage <= 0 {
		opts.MaxPage = DefaultMaxPage
	}
	return &handler{views: views, opts: opts}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		reqinfo.SetRoute(r.Context(), "method-not-allowed")
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Msg: "Method not allowed: the Esplora API here is read-only (GET, HEAD)"})
		return
	}
	q, perr := parseRequest(r.URL.Path, r.URL.RawQuery, h.opts)
	if q != nil {
		reqinfo.SetRoute(r.Context(), q.route())
	}
	if perr != nil {
		// Refused before reading any state: no view, no stamp.
		writeError(w, perr)
		return
	}
	v, err := h.acquire()
	if err != nil {
		writeError(w, err)
		return
	}
	defer v.Release()
	stamp.Set(w.Header(), v)
	if err := h.serve(w, r, q, v); err != nil {
		writeError(w, err)
	}
}

// acquire returns the latest view, or a 503 before the first commit.
func (h *handler) acquire() (*app.View, *Error) {
	if h.views == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "no committed state yet"}
	}
	v, err := h.views.Acquire()
	switch {
	case errors.Is(err, app.ErrNoView):
		return nil, &Error{Status: http.StatusServiceUnavailable,
			Msg: "no committed state yet: the node has not committed its first block"}
	case err != nil:
		return nil, lookupError(err)
	}
	return v, nil
}

// serve answers q from v; a returned error has written nothing.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, q *request, v *app.View) *Error {
	switch q.ep {
	case epTipHeight:
		writeText(w, strconv.FormatInt(int64(v.Tip.Height), 10), ttlShort)
	case epTipHash:
		writeText(w, v.Tip.Hash.String(), ttlShort)
	case epBlockHeight:
		return blockAtHeight(w, q.height, v)
	case epBlockHeader:
		return blockHeader(w, q.hash, v)
	case epBlockStatus:
		return blockStatus(w, q.hash, v)
	case epScript:
		return h.scriptStats(w, q, v)
	case epScriptUTXO:
		return h.scriptUTXOs(w, r, q, v)
	case epBlockTxids:
		return h.blockTxids(w, q, v)
	case epBlockRaw:
		return h.blockRaw(w, q, v)
	case epBlockTxs:
		return h.blockTxs(w, q, v)
	case epOutspend:
		return outspend(w, q, v)
	default:
		return unknownEndpoint(r.URL.Path)
	}
	return nil
}

// hashAt returns the hash of the block at height on v's chain, or
// errBlockNotFound.
func hashAt(v *app.View, height int32) (chainhash.Hash, *Error) {
	if height < 0 || height > v.Tip.Height {
		return chainhash.Hash{}, errBlockNotFound
	}
	if height == v.Tip.Height {
		return v.Tip.Hash, nil
	}
	hdr, err := v.Reader.Header(height)
	switch {
	case utxo.IsNotFound(err):
		// Below the base of a seeded store: no header kept.
		return chainhash.Hash{}, errBlockNotFound
	case err != nil:
		return chainhash.Hash{}, lookupError(err)
	}
	return hdr.BlockHash(), nil
}

// heightOf returns the height of the block with the given hash on v's
// chain, or ok false if the chain does not have it.
func heightOf(v *app.View, hash chainhash.Hash) (height int32, ok bool, e *Error) {
	if hash == v.Tip.Hash {
		return v.Tip.Height, true, nil
	}
	height, err := v.Reader.HeightOf(hash)
	switch {
	case utxo.IsNotFound(err):
		return 0, false, nil
	case err != nil:
		return 0, false, lookupError(err)
	case height > v.Tip.Height:
		// Cannot happen in one consistent snapshot; answer as if absent
		// rather than describe a block above the tip.
		return 0, false, nil
	}
	return height, true, nil
}

func blockAtHeight(w http.ResponseWriter, height int32, v *app.View) *Error {
	hash, err := hashAt(v, height)
	if err != nil {
		return err
	}
	writeText(w, hash.String(), ttlByDepth(v.Tip.Height, height))
	return nil
}

func blockHeader(w http.ResponseWriter, hash chainhash.Hash, v *app.View) *Error {
	height, ok, e := heightOf(v, hash)
	if e != nil {
		return e
	}
	if !ok {
		return errBlockNotFound
	}
	hdr, err := v.Reader.Header(height)
	switch {
	case utxo.IsNotFound(err):
		return errBlockNotFound
	case err != nil:
		return lookupError(err)
	}
	var buf bytes.Buffer
	if err := hdr.Serialize(&buf); err != nil {
		return lookupError(err)
	}
	// A header is immutable: Esplora caches it for good.
	writeText(w, hex.EncodeToString(buf.Bytes()), ttlLong)
	return nil
}

// BlockStatus is Esplora's /block/:hash/status answer.
type BlockStatus struct {
	InBestChain bool `json:"in_best_chain"`
	// Height is null for a block not on the best chain.
	Height *int32 `json:"height"`
	// NextBest is the hash of the following block on the best chain, null
	// at the tip or off the chain.
	NextBest *string `json:"next_best"`
}

func blockStatus(w http.ResponseWriter, hash chainhash.Hash, v *app.View) *Error {
	height, ok, e := heightOf(v, hash)
	if e != nil {
		return e
	}
	if !ok {
		// Esplora does not tell an unknown hash from a stale one: both are
		// "not in the best chain", with a 200.
		writeJSON(w, BlockStatus{}, ttlShort)
		return nil
	}
	st := BlockStatus{InBestChain: true, Height: &height}
	if height < v.Tip.Height {
		next, e := hashAt(v, height+1)
		if e != nil && e != errBlockNotFound {
			return e
		}
		if e == nil {
			s := next.String()
			st.NextBest = &s
		}
	}
	writeJSON(w, st, ttlByDepth(v.Tip.Height, height))
	return nil
}
