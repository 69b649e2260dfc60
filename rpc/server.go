package rpc

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/core"
	"github.com/satnode/satnode/rpc/esplora"
	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/metrics"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/ui"
)

// ErrConfig wraps every invalid server setting.
var ErrConfig = errors.New("rpc: invalid configuration")

// Config configures the server. Zero values take the defaults in brackets.
type Config struct {
	// Listen is the TCP address, e.g. "127.0.0.1:26680". Required.
	Listen string
	// User and Password, or CookieFile, turn on HTTP basic auth for the
	// JSON-RPC dialect, as Bitcoin Core does. With CookieFile the server
	// writes a fresh "__cookie__:<random>" there at start (mode 0600) and
	// removes it at Close, so local tools authenticate by reading it.
	// Esplora, the native API and /metrics stay open, as Esplora's are:
	// everything here is public chain data and read-only.
	User, Password string
	CookieFile     string
	// MaxBodyBytes caps a request body [1 MiB]; above it the answer is
	// 413.
	MaxBodyBytes int64
	// MaxUTXOs caps the unspent outputs of one unpaged answer (Esplora's
	// /utxo, scantxoutset) [1000]; MaxPage caps ?limit= [1000].
	MaxUTXOs, MaxPage int
	// MaxBatch caps the calls of one JSON-RPC batch [1000]; a longer
	// batch is refused whole (-32600) before any call runs.
	MaxBatch int
	// MaxReplyBytes caps one JSON-RPC reply, a batch's included [16 MiB],
	// counted while it is built: results past it are replaced by -7
	// errors (rpc/core), so a 1 MiB body cannot ask for gigabytes.
	MaxReplyBytes int
	// MaxConns caps simultaneous connections [1024]; further clients wait
	// in the kernel's accept queue instead of exhausting the process.
	MaxConns int
	// ReadHeaderTimeout [5 s] and ReadTimeout [10 s] cut off slow or
	// abandoned requests; WriteTimeout [30 s] bounds one response;
	// IdleTimeout [60 s] closes idle keep-alive connections.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	Logger                                                    *slog.Logger
	// Metrics, if set, receives request latencies and is served at
	// /metrics.
	Metrics *metrics.Metrics
	// NodeState, if set, is /v1/status's "node" object: the node state
	// syncing, catching up or live, with progress. With it /v1/status
	// answers before the first commit too (native.Options.NodeState).
	NodeState func() native.NodeState
	// Bodies, if set, is the node's store of block bodies (p2p.BodyStore
	// satisfies it), from which Core's getblock and getrawtransaction and
	// Esplora's /block/:hash/txids, /raw and /txs answer; without it they
	// answer every block but the genesis block as not held.
	Bodies core.Bodies
}

func (c *Config) defaults() error {
	if c.Listen == "" {
		return fmt.Errorf("%w: no listen address", ErrConfig)
	}
	if (c.User == "") != (c.Password == "") {
		return fmt.Errorf("%w: set both user and password, or neither", ErrConfig)
	}
	if c.CookieFile != "" && c.User != "" {
		return fmt.Errorf("%w: set a cookie file or user/password, not both", ErrConfig)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 10*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxUTXOs == 0 {
		c.MaxUTXOs = 1000
	}
	if c.MaxPage == 0 {
		c.MaxPage = 1000
	}
	if c.MaxConns == 0 {
		c.MaxConns = 1024
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = core.DefaultMaxBatch
	}
	if c.MaxReplyBytes == 0 {
		c.MaxReplyBytes = core.DefaultMaxReplyBytes
	}
	if c.MaxBodyBytes < 0 || c.MaxUTXOs < 0 || c.MaxPage < 0 || c.MaxConns < 0 || c.MaxBatch < 0 || c.MaxReplyBytes < 0 {
		return fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Server is satnode's read-only HTTP server.
type Server struct {
	cfg    Config
	views  *app.Views
	native *native.Handler
	http   *http.Server
	ln     net.Listener
	// creds is the accepted "user:password" for the JSON-RPC dialect, or
	// empty for none.
	creds string
	done  chan struct{}
	once  sync.Once
	err   error
}

// New builds the server over views; Start listens.
func New(cfg Config, views *app.Views) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, views: views, done: make(chan struct{})}
	if cfg.User != "" {
		s.creds = cfg.User + ":" + cfg.Password
	}
	s.native = native.New(views, native.Options{Logger: cfg.Logger.With("module", "rpc-stream"), MaxPage: cfg.MaxPage,
		NodeState: cfg.NodeState})
	esp := esplora.New(views, esplora.Options{MaxUTXOs: cfg.MaxUTXOs, MaxPage: cfg.MaxPage, Bodies: cfg.Bodies})
	mux := http.NewServeMux()
	mux.Handle("/", s.wrap("core", s.auth(core.New(views, core.Options{MaxUTXOs: cfg.MaxUTXOs,
		MaxBatch: cfg.MaxBatch, MaxReplyBytes: cfg.MaxReplyBytes, Logger: cfg.Logger, Bodies: cfg.Bodies}))))
	espW := s.wrap("esplora", esp)
	for _, p := range []string{"/blocks/", "/block-height/", "/block/", "/tx/", "/address/", "/scripthash/"} {
		mux.Handle(p, espW)
	}
	// mempool.space-style clients put the Esplora API under /api.
	mux.Handle("/api/", s.wrap("esplora", http.StripPrefix("/api", esp)))
	mux.Handle("/v1/", s.wrap("native", s.native))
	if cfg.Metrics != nil {
		mux.Handle("/metrics", s.wrap("metrics", cfg.Metrics.Handler()))
	}
	// The status page (rpc/ui).
	page := s.wrap("ui", ui.New())
	mux.Handle(ui.Prefix, page)
	mux.Handle(ui.Prefix+"/", page)
	s.http = &http.Server{Handler: s.root(mux, page),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}
	return s, nil
}

// root is the server's handler: the mux, but for a GET or HEAD that only
// the mux's catch-all "/" (the JSON-RPC dialect) would take. Of those,
// GET / from a browser (ui.AcceptsHTML) gets the status page and a path
// other than "/" the server's 404 (writeNotFound); any other GET / gets
// the JSON-RPC dialect's answer, and every other method JSON-RPC at any
// path, as before.
func (s *Server) root(mux *http.ServeMux, page http.Handler) http.Handler {
	unknown := s.wrap("unknown", http.HandlerFunc(http.NotFound))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if _, pattern := mux.Handler(r); pattern == "/" {
				switch {
				case r.URL.Path != "/":
					unknown.ServeHTTP(w, r)
					return
				case ui.AcceptsHTML(r.Header.Get("Accept")):
					page.ServeHTTP(w, r)
					return
				}
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// notFoundBody is the answer to every path no dialect serves, whichever
// dialect's prefix it is under: {"error":"not found: /path","code":404},
// the shape of the native API's errors. A dialect's own errors for its
// known routes (a bad height, a spent coin) keep the dialect's format.
type notFoundBody struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
}

// writeNotFound writes the 404 for path.
func writeNotFound(w http.ResponseWriter, path string) {
	// Echoing a huge path back helps nobody.
	if len(path) > 200 {
		path = path[:200] + "..."
	}
	body, _ := json.Marshal(notFoundBody{Error: "not found: " + path, Code: http.StatusNotFound})
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(append(body, '\n'))
}

// wrap caps the body, times the request for the metrics and recovers from
// a handler panic (a bug: logged, answered 500, the server stays up). A
// 404 from a handler that named no route (rpc/internal/reqinfo: it has no
// route for the path) is replaced by writeNotFound's, so that every
// dialect answers an unknown path alike; the dialects name a route for
// every path they serve, so their own 404s (an unknown block, a spent
// coin) are kept.
func (s *Server) wrap(dialect string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, info := reqinfo.With(r.Context())
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, info: info, path: r.URL.Path}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.cfg.Logger.Error("rpc handler panicked", "dialect", dialect, "path", r.URL.Path, "panic", p)
				if !sw.wrote {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			if s.cfg.Metrics != nil {
				route := info.Route
				if route == "" {
					route = "unmatched"
				}
				s.cfg.Metrics.ObserveRequest(dialect, route, sw.status, time.Since(start))
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// auth applies basic auth to the JSON-RPC dialect when configured, with
// Bitcoin Core's answer to a failure: 401 with a WWW-Authenticate header.
func (s *Server) auth(h http.Handler) http.Handler {
	if s.creds == "" && s.cfg.CookieFile == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			reqinfo.SetRoute(r.Context(), "unauthorized")
			w.Header().Set("WWW-Authenticate", `Basic realm="jsonrpc"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(header string) bool {
	enc, ok := strings.CutPrefix(header, "Basic ")
	if !ok {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, []byte(s.creds)) == 1
}

// Start writes the cookie, if configured, and starts listening.
func (s *Server) Start() error {
	if s.cfg.CookieFile != "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		s.creds = "__cookie__:" + hex.EncodeToString(b[:])
		if err := writeCookie(s.cfg.CookieFile, s.creds); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("rpc: listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = netutil.LimitListener(ln, s.cfg.MaxConns)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Start()
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("rpc server stopped", "err", err)
			s.err = err
		}
	}()
	s.cfg.Logger.Info("rpc server listening", "addr", s.Addr())
	return nil
}

// writeCookie writes the cookie atomically with mode 0600, so no reader
// sees half of it and no other user reads it.
func writeCookie(path, creds string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(creds), 0o600); err != nil {
		return fmt.Errorf("rpc: writing the cookie: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rpc: writing the cookie: %w", err)
	}
	return nil
}

// Addr is the address the server listens on (after Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the stream, lets requests in flight finish for up to the
// context's deadline, and removes the cookie.
func (s *Server) Close(ctx context.Context) error {
	s.once.Do(func() {
		s.native.Close()
		if s.ln != nil {
			err := s.http.Shutdown(ctx)
			if err != nil {
				_ = s.http.Close()
			}
			<-s.done
			s.err = errors.Join(s.err, err)
		}
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.Stop()
		}
		if s.cfg.CookieFile != "" {
			if err := os.Remove(s.cfg.CookieFile); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.err = errors.Join(s.err, err)
			}
		}
	})
	return s.err
}

// statusWriter remembers the status for the metrics and replaces the 404
// of a path the handler has no route for (wrap). It passes Hijack and
// Flush through, which the websocket stream needs.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	// info is the request's reqinfo and path its URL path.
	info *reqinfo.Info
	path string
	// replaced: the handler's 404 was answered with writeNotFound's; what
	// the handler writes after it is dropped.
	replaced bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.replaced {
		return
	}
	if !w.wrote {
		w.status, w.wrote = code, true
		if code == http.StatusNotFound && w.info != nil && w.info.Route == "" {
			w.replaced = true
			writeNotFound(w.ResponseWriter, w.path)
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker, which gorilla/websocket asserts.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("rpc: connection cannot be hijacked")
	}
	w.status, w.wrote = http.StatusSwitchingProtocols, true
	return h.Hijack()
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
