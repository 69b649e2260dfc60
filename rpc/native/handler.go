package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/internal/stamp"
)

// Options configures a Handler. Zero fields take the defaults in brackets.
type Options struct {
	Logger *slog.Logger

	// MaxPage caps ?limit= of a paged list (/v1/endorsements) and is the
	// page size when none is asked for [1000].
	MaxPage int

	// Stream limits.
	//
	// MaxSubscriptions is how many script hashes one connection may follow
	// [1000].
	MaxSubscriptions int
	// QueueLen is how many messages may wait for one connection's writer
	// [256]; a client further behind is closed as too slow.
	QueueLen int
	// WriteTimeout bounds each write to a connection [10s].
	WriteTimeout time.Duration
	// PingInterval is how often the server pings an idle connection [30s];
	// a client that answers neither pings nor anything else for twice that
	// (plus WriteTimeout) is dropped.
	PingInterval time.Duration
	// ReadLimit is the largest client message accepted [256 KiB]; a bigger
	// one closes the connection (1009), since it cannot be skipped without
	// reading it.
	ReadLimit int64
	// EventBuffer is how many commit events may wait between the views and
	// the stream's dispatcher [64]. A dispatcher further behind has lost
	// events: every stream client is told and closed.
	EventBuffer int

	// NodeState, if set, reports the node's way to live (state syncing,
	// catching up, live) as /v1/status's "node" object. With it,
	// /v1/status answers 200 before the first commit too, with that
	// object alone: a node restoring a snapshot has no state to answer
	// from for hours, and that is when an operator asks. Without it the
	// route answers 503 then, like every other.
	NodeState func() NodeState
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxPage <= 0 {
		o.MaxPage = 1000
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 1000
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 256 << 10
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 64
	}
}

// Handler serves the native API under /v1/. It is safe for concurrent use.
type Handler struct {
	views *app.Views
	opts  Options
	log   *slog.Logger
	hub   *hub
}

// New returns a handler reading from views. It starts the stream's
// dispatcher at once (one subscription to views for all stream clients);
// Close stops it.
func New(views *app.Views, opts Options) *Handler {
	opts.defaults()
	h := &Handler{views: views, opts: opts, log: opts.Logger}
	h.hub = newHub(h)
	return h
}

// Close ends the stream: the dispatcher stops and every websocket
// connection is closed with 1001 (going away). Plain requests in flight are
// not affected; they hold their own views. Close returns once every stream
// goroutine has ended, which a client that does not read can delay by at
// most closeGrace.
func (h *Handler) Close() { h.hub.close() }

// route is one endpoint: the fixed path segments after /v1/, with "*"
// standing for a parameter.
type route struct {
	// name is the route template the server's metrics label requests
	// with (bounded cardinality, unlike paths).
	name    string
	pattern []string
	serve   func(h *Handler, v *app.View, q *httpReq) (any, error)
	// atHeight: ?height= picks one of the recent views (proofs).
	atHeight bool
	// nodeOnly: without a committed view, answer with the node's state
	// alone (when Options.NodeState is set) instead of 503.
	nodeOnly bool
}

// httpReq is what a route reads of its HTTP request (the path parameters
// and the raw query) and, for a paged list, what it tells ServeHTTP to
// put in the headers.
type httpReq struct {
	args  []string
	query string
	// next is the cursor of the next page ("" on the last) and limit the
	// page size, which the Link header repeats.
	next  string
	limit int
}

var routes = []route{
	{"/v1/status", []string{"status"}, (*Handler).status, false, true},
	{"/v1/utxo/:txid/:vout", []string{"utxo", "*", "*"}, (*Handler).utxo, false, false},
	{"/v1/endorsements", []string{"endorsements"}, (*Handler).endorsements, false, false},
	{"/v1/validators", []string{"validators"}, (*Handler).validators, false, false},
	{"/v1/synchronizers", []string{"synchronizers"}, (*Handler).synchronizers, false, false},
	{"/v1/block/:id/stats", []string{"block", "*", "stats"}, (*Handler).blockStats, false, false},
	{"/v1/proof/utxo/:txid/:vout", []string{"proof", "utxo", "*", "*"}, (*Handler).proofUTXO, true, false},
	{"/v1/proof/address/:addr", []string{"proof", "address", "*"}, (*Handler).proofAddress, true, false},
}

// match returns the route for the segments and its parameters.
func match(segs []string) (*route, []string) {
	for i := range routes {
		r := &routes[i]
		if len(r.pattern) != len(segs) {
			continue
		}
		var args []string
		ok := true
		for j, p := range r.pattern {
			switch {
			case p == "*":
				args = append(args, segs[j])
			case p != segs[j]:
				ok = false
			}
		}
		if ok {
			return r, args
		}
	}
	return nil, nil
}

// ServeHTTP implements http.Handler for paths beginning with /v1/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeError(w, nil, notFound("no such endpoint: %s", r.URL.Path))
		return
	}
	if rest == "stream" {
		reqinfo.SetRoute(r.Context(), "/v1/stream")
		h.hub.serveStream(w, r)
		return
	}
	rt, args := match(strings.Split(rest, "/"))
	if rt == nil {
		writeError(w, nil, notFound("no such endpoint: %s", r.URL.Path))
		return
	}
	reqinfo.SetRoute(r.Context(), rt.name)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, nil, errorf(http.StatusMethodNotAllowed, "method %s not allowed", r.Method))
		return
	}
	var height int64
	if rt.atHeight {
		var herr *Error
		if height, herr = proofHeight(r.URL.RawQuery); herr != nil {
			writeError(w, nil, herr)
			return
		}
	}
	var v *app.View
	var err error
	if height > 0 {
		v, err = h.views.AcquireAt(height)
	} else {
		v, err = h.views.Acquire()
	}
	if errors.Is(err, app.ErrViewGone) {
		writeError(w, nil, notFound("%v", err))
		return
	}
	if errors.Is(err, app.ErrNoView) && rt.nodeOnly && h.opts.NodeState != nil {
		// Unstamped: the answer names no state because there is none.
		writeJSON(w, http.StatusOK, nodeOnly{Node: h.opts.NodeState()})
		return
	}
	if errors.Is(err, app.ErrNoView) {
		writeError(w, nil, errorf(http.StatusServiceUnavailable, "no committed state yet"))
		return
	} else if err != nil {
		writeError(w, nil, statusOf(err))
		return
	}
	defer v.Release()
	// Every answer, errors included, names the state it was computed from.
	stamp.Set(w.Header(), v)
	q := &httpReq{args: args, query: r.URL.RawQuery}
	body, err := rt.serve(h, v, q)
	if err != nil {
		e := statusOf(err)
		if e.Status >= 500 {
			h.log.Error("native: request failed", "path", r.URL.Path, "err", err)
		}
		writeError(w, v, e)
		return
	}
	if q.next != "" {
		w.Header().Set(HeaderNext, q.next)
		w.Header().Set("Link", "<"+r.URL.EscapedPath()+"?after="+q.next+"&limit="+strconv.Itoa(q.limit)+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, body)
}

// HeaderNext carries the cursor of the next page of a paged list, as in
// the Esplora dialect's paged /utxo.
const HeaderNext = "X-Satnode-Next"

// errorBody is the shape of every error answer. At is present when there
// was a view to answer from.
type errorBody struct {
	Error string    `json:"error"`
	Code  int       `json:"code"`
	At    *stamp.At `json:"at,omitempty"`
}

func writeError(w http.ResponseWriter, v *app.View, e *Error) {
	b := errorBody{Error: e.Msg, Code: e.Status}
	if v != nil {
		at := stamp.Of(v)
		b.At = &at
	}
	writeJSON(w, e.Status, b)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(body); err != nil {
		// Only a bug can make our own types unencodable; say so in JSON.
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorBody{Error: "encode: " + err.Error(), Code: status})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
