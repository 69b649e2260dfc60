package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/internal/stamp"
)

// Defaults of the Options left zero.
const (
	DefaultMaxUTXOs      = 10000
	DefaultMaxBatch      = 1000
	DefaultMaxReplyBytes = 16 << 20
)

// Options configure New.
type Options struct {
	// MaxUTXOs caps the unspent outputs one scantxoutset answer may list;
	// above it the call fails with a clear -8 error instead of taking
	// forever. Default 10000.
	MaxUTXOs int
	// MaxBatch caps the calls of one batch: a longer batch is refused
	// whole with -32600 before any call runs, since a 1 MiB body holds
	// hundreds of thousands of tiny calls. Default 1000.
	MaxBatch int
	// MaxReplyBytes caps the bytes of one reply, single call or whole
	// batch, counted while it is built: a call whose result would take the
	// reply past it fails with CodeReplyTooLarge, and so does every later
	// call of its batch, without running (their error objects are small
	// and not counted). scantxoutset stops reading the index as soon as
	// its outputs cannot fit, so the cap bounds memory, not just what is
	// sent. Default 16 MiB.
	MaxReplyBytes int
	// Logger receives the errors no client caused (a store that cannot be
	// read). Default: discard.
	Logger *slog.Logger
	// Bodies, if set, holds the block bodies getblock and getrawtransaction
	// answer from (the node's body store). Without it every block but the
	// genesis block is answered as pruned.
	Bodies Bodies
}

// server answers the Core dialect over the latest view.
type server struct {
	views   *app.Views
	opts    Options
	log     *slog.Logger
	methods map[string]*method
	bufs    sync.Pool // *buffers
	scripts scriptCache
}

// buffers are one request's body and reply, reused across requests.
type buffers struct {
	in  bytes.Buffer
	out []byte
}

// New returns the JSON-RPC handler over views. The caller mounts it at
// "/", authenticates and caps the body with http.MaxBytesReader.
func New(views *app.Views, opts Options) http.Handler {
	if opts.MaxUTXOs <= 0 {
		opts.MaxUTXOs = DefaultMaxUTXOs
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxReplyBytes <= 0 {
		opts.MaxReplyBytes = DefaultMaxReplyBytes
	}
	s := &server{views: views, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.methods = methods(s)
	s.bufs.New = func() any { return new(buffers) }
	return s
}

// call is the state of one HTTP request: the view every call in it reads,
// acquired on first use (a request that reads no state takes none) and
// then shared, so that all the answers of a batch come from one commit.
type call struct {
	s    *server
	v    *app.View
	verr *Error
}

// view returns the request's view, acquiring it on first use.
func (c *call) view() (*app.View, *Error) {
	if c.v != nil || c.verr != nil {
		return c.v, c.verr
	}
	v, err := c.s.views.Acquire()
	switch {
	case err == nil:
		c.v = v
	case errors.Is(err, app.ErrNoView):
		c.verr = errNoState
	default:
		c.verr = c.s.internal("acquiring a view", err)
	}
	return c.v, c.verr
}

func (c *call) release() {
	if c.v != nil {
		c.v.Release()
		c.v = nil
	}
}

// internal logs an error no client caused and returns what the client
// sees.
func (s *server) internal(what string, err error) *Error {
	s.log.Error("core rpc: "+what, "err", err)
	return &Error{Code: CodeInternal, Message: what + ": " + err.Error()}
}

// maxBuf is the largest reply buffer kept for reuse; a huge scantxoutset
// answer should not pin its memory.
const maxBuf = 64 << 10

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		reqinfo.SetRoute(r.Context(), "not-post")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte("JSONRPC server handles only POST requests"))
		return
	}
	b := s.bufs.Get().(*buffers)
	defer func() {
		if b.in.Cap() <= maxBuf && cap(b.out) <= maxBuf {
			b.in.Reset()
			b.out = b.out[:0]
			s.bufs.Put(b)
		}
	}()
	if _, err := b.in.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reqinfo.SetRoute(r.Context(), "too-large")
			e := rpcErr(CodeInvalidRequest, "Request body too large: the limit is %d bytes", tooBig.Limit)
			b.out = appendError(b.out[:0], nullID, false, e)
			b.out = s.write(w, http.StatusRequestEntityTooLarge, b.out, nil)
			return
		}
		// The client went away or sent a broken body; there is no one to
		// answer in JSON.
		reqinfo.SetRoute(r.Context(), "unreadable")
		http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{s: s}
	defer c.release()
	status, reply, route := s.handle(c, b.in.Bytes(), b.out[:0])
	reqinfo.SetRoute(r.Context(), route)
	b.out = s.write(w, status, reply, c.v)
}

// write sends a reply: stamped if it read a view, without a body for 204.
func (s *server) write(w http.ResponseWriter, status int, body []byte, v *app.View) []byte {
	h := w.Header()
	if v != nil {
		stamp.Set(h, v)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return body
	}
	body = append(body, '\n')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return body
}

// handle answers a request body: the HTTP status, the reply (appended to
// dst) and the route name for the metrics.
func (s *server) handle(c *call, body, dst []byte) (int, []byte, string) {
	if !json.Valid(body) {
		return http.StatusInternalServerError, appendError(dst, nullID, false, &Error{Code: CodeParse, Message: "Parse error"}), "invalid"
	}
	i := skipSpace(body, 0)
	switch body[i] {
	case '{':
		return s.single(c, body[i:], dst)
	case '[':
		return s.batch(c, body[i:], dst)
	}
	return http.StatusInternalServerError,
		appendError(dst, nullID, false, &Error{Code: CodeParse, Message: "Top-level object parse error"}), "invalid"
}

func (s *server) single(c *call, obj, dst []byte) (int, []byte, string) {
	req, perr := parseRequest(obj)
	if perr != nil {
		// Core answers a request it cannot parse with an HTTP error
		// whatever its version (JSONErrorReply).
		return httpStatus(perr.Code), appendError(dst, req.id, req.v2, perr), "invalid"
	}
	m := s.methods[req.method]
	route := "unknown"
	if m != nil {
		route = m.name
	}
	if req.notification() {
		// Core runs a notification and sends nothing back; every method
		// here only reads, so there is nothing to run.
		return http.StatusNoContent, dst, route
	}
	start := len(dst)
	out, err := s.exec(c, m, &req, dst)
	if err == nil && len(out) > s.opts.MaxReplyBytes {
		err = s.replyTooLarge(false)
	}
	if err == nil {
		return http.StatusOK, out, route
	}
	status := http.StatusOK
	if !req.v2 {
		status = httpStatus(err.Code)
	}
	return status, appendError(dst[:start], req.id, req.v2, err), route
}

// batch answers an array of calls with an array of replies, HTTP 200,
// leaving out the notifications; all from the one view of c. A batch
// longer than Options.MaxBatch is refused whole; once a result does not
// fit in Options.MaxReplyBytes, it and every later call get an error and
// nothing more runs.
func (s *server) batch(c *call, arr, dst []byte) (int, []byte, string) {
	// Count before splitting, so that a body of 300k tiny calls costs a
	// scan, not a slice of 300k elements.
	count := 0
	eachElement(arr, func([]byte) bool { count++; return true })
	if count == 0 {
		// Core 28 answers [] here; satnode follows JSON-RPC 2.0 (and its
		// own specification) and calls an empty batch invalid.
		return http.StatusBadRequest,
			appendError(dst, nullID, false, &Error{Code: CodeInvalidRequest, Message: "Invalid Request: empty batch"}), "batch"
	}
	if count > s.opts.MaxBatch {
		return http.StatusBadRequest, appendError(dst, nullID, false, rpcErr(CodeInvalidRequest,
			"Invalid Request: batch of %d calls exceeds the limit of %d calls per request (max_batch); split it",
			count, s.opts.MaxBatch)), "batch"
	}
	calls, _ := elements(arr)
	dst = append(dst, '[')
	n := 0
	full := false // a result did not fit: run nothing more
	for _, raw := range calls {
		start := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		var req request
		var err *Error
		if kindOf(raw) != kindObject {
			// Core's reply to a non-object element carries no version and
			// a null id.
			req.id = nullID
			err = &Error{Code: CodeInvalidRequest, Message: "Invalid Request object"}
		} else if req, err = parseRequest(raw); err == nil && !req.notification() {
			body := len(dst)
			if full {
				err = s.replyTooLarge(true)
			} else {
				var out []byte
				out, err = s.exec(c, s.methods[req.method], &req, dst)
				if err == nil && len(out) > s.opts.MaxReplyBytes {
					err = s.replyTooLarge(false)
				}
				if err == nil {
					dst = out
					n++
					continue
				}
				full = err.Code == CodeReplyTooLarge
			}
			dst = dst[:body]
		}
		if req.notification() {
			dst = dst[:start]
			continue
		}
		dst = appendError(dst, req.id, req.v2, err)
		n++
	}
	if n == 0 {
		return http.StatusNoContent, dst[:0], "batch"
	}
	return http.StatusOK, append(dst, ']'), "batch"
}

// exec runs one parsed call and appends its whole reply object to dst.
func (s *server) exec(c *call, m *method, req *request, dst []byte) ([]byte, *Error) {
	if m == nil {
		return dst, &Error{Code: CodeMethodNotFound, Message: "Method not found"}
	}
	args, perr := m.positional(req.params)
	if perr != nil {
		return dst, perr
	}
	if req.v2 {
		dst = append(dst, `{"jsonrpc":"2.0","result":`...)
	} else {
		dst = append(dst, `{"result":`...)
	}
	out, err := m.run(c, args, dst)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = s.internal(m.name, err)
		}
		return dst, e
	}
	if !req.v2 {
		out = append(out, `,"error":null`...)
	}
	return appendID(out, req.id), nil
}

// appendError appends an error reply: legacy replies carry both result
// and error, 2.0 replies only the error (Core's JSONRPCReplyObj).
func appendError(dst, id []byte, v2 bool, e *Error) []byte {
	if v2 {
		dst = append(dst, `{"jsonrpc":"2.0","error":{"code":`...)
	} else {
		dst = append(dst, `{"result":null,"error":{"code":`...)
	}
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, e.Message)
	dst = append(dst, '}')
	return appendID(dst, id)
}

// nullID is the id of a reply to something that could not be parsed as a
// call (Core's default null id); a call parsed without an "id" member
// gets a reply without one.
var nullID = []byte("null")

func appendID(dst, id []byte) []byte {
	if id != nil {
		dst = append(dst, `,"id":`...)
		dst = append(dst, id...)
	}
	return append(dst, '}')
}
