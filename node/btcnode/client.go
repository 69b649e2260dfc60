package btcnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// maxResponse bounds a reply body. The largest legitimate reply is getblock
// of a 4 MB block as hex (8 MB) or a verbose getblock; 64 MiB leaves room
// for those while keeping a confused or hostile server from filling memory.
const maxResponse = 64 << 20

// Client talks JSON-RPC to a Bitcoin Core or btcd node. It is safe for
// concurrent use.
type Client struct {
	cfg      Config // with defaults applied
	endpoint string
	http     *http.Client
	ids      atomic.Uint64

	mu       sync.Mutex
	user     string // current credentials: from Config, or from the cookie file
	pass     string
	haveCred bool
}

// Client implements Source.
var _ Source = (*Client)(nil)

// New returns a client for the node cfg describes. It does not connect: a
// node that is not up yet is only noticed (and retried) by the first call.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	u, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}
	tlsConf, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	// A transport of our own: the default one would share connection pools
	// (and proxy settings from the environment) with the rest of the
	// process. btcd serves at most 10 RPC clients by default, so few idle
	// connections are kept.
	tr := &http.Transport{
		TLSClientConfig:     tlsConf,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Client{
		cfg:      cfg,
		endpoint: u.String(),
		http:     &http.Client{Transport: tr},
	}
	if cfg.CookieFile == "" {
		c.user, c.pass, c.haveCred = cfg.User, cfg.Password, true
	}
	return c, nil
}

// Close releases idle connections. The client stays usable.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Endpoint returns the URL requests are posted to.
func (c *Client) Endpoint() string { return c.endpoint }

// Call invokes method with params and decodes the JSON result into result,
// which may be nil to discard it. A JSON null result leaves a non-pointer
// result untouched and sets a pointer result to nil, so pass a pointer to a
// pointer to tell null from an empty object.
//
// A retried request may already have run on the node: a submitblock
// whose reply was lost comes back as a duplicate, a generate mines twice.
// Use a client with Retries < 0 for calls that must not repeat.
//
// Errors: *RPCError for an error reply (never retried, except code -28),
// *HTTPError for a non-JSON-RPC HTTP failure, *ResponseError for a reply
// that does not decode, *RetryError when every attempt failed with a
// retryable error, and the context's error when ctx ends first.
func (c *Client) Call(ctx context.Context, method string, params []any, result any) error {
	raw, err := c.call(ctx, method, params)
	if err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return &ResponseError{Method: method, Reason: fmt.Sprintf("result does not decode into %T", result), Err: err}
	}
	return nil
}

// call runs the retry loop and returns the raw result.
func (c *Client) call(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	if params == nil {
		// btcd rejects a request whose params are null or missing as
		// "Invalid request: malformed".
		params = []any{}
	}
	wait := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("btcnode: %s: %w", method, err)
		}
		raw, err := c.attempt(ctx, method, params)
		if err == nil {
			return raw, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The caller gave up; the request error is most likely just
			// the cancellation seen from inside the transport.
			return nil, fmt.Errorf("btcnode: %s: %w", method, ctxErr)
		}
		if !isRetryable(err) {
			return nil, err
		}
		if attempt > c.cfg.Retries {
			return nil, &RetryError{Method: method, Attempts: attempt, Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("btcnode: %s: %w (after: %v)", method, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, c.cfg.MaxBackoff)
	}
}

func isRetryable(err error) bool {
	var r interface{ retryable() bool }
	return errors.As(err, &r) && r.retryable()
}

// request is a JSON-RPC 1.0 request, the dialect both Core and btcd speak.
// (Core 28+ also speaks 2.0, which btcd does not.)
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// attempt makes one request, plus one immediate repeat when a 401 made us
// find a new cookie: that is a node restart, not a failure.
func (c *Client) attempt(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	id := c.ids.Add(1)
	body, err := json.Marshal(request{JSONRPC: "1.0", ID: id, Method: method, Params: params})
	if err != nil {
		// Params are the caller's values; one that cannot be encoded is a
		// programming error, reported rather than retried.
		return nil, fmt.Errorf("btcnode: %s: encoding params: %w", method, err)
	}
	user, pass, err := c.credentials()
	if err != nil {
		return nil, err
	}
	status, data, err := c.post(ctx, method, body, user, pass)
	if err != nil {
		return nil, err
	}
	if status == http.StatusUnauthorized && c.cfg.CookieFile != "" {
		changed, err := c.reloadCookie(user, pass)
		if err != nil {
			return nil, err
		}
		if changed {
			user, pass, _ = c.credentials()
			if status, data, err = c.post(ctx, method, body, user, pass); err != nil {
				return nil, err
			}
		}
	}
	return decodeResponse(method, id, status, data)
}

// post sends one HTTP request under the per-request timeout.
func (c *Client) post(ctx context.Context, method string, body []byte, user, pass string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("btcnode: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, &TransportError{Method: method, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, nil, &TransportError{Method: method, Err: fmt.Errorf("reading reply: %w", err)}
	}
	if len(data) > maxResponse {
		return 0, nil, &ResponseError{Method: method, Reason: fmt.Sprintf("reply larger than %d bytes", maxResponse)}
	}
	return resp.StatusCode, data, nil
}

// decodeResponse classifies a reply. The JSON-RPC error object wins over the
// HTTP status because Core sends RPC errors with status 500 (404 for an
// unknown method) and btcd with 200; only a status without such an object
// is an HTTP-level failure.
func decodeResponse(method string, id uint64, status int, data []byte) (json.RawMessage, error) {
	if status == http.StatusUnauthorized {
		return nil, &HTTPError{Method: method, Status: status, Body: snippet(data)}
	}
	var resp response
	jsonErr := json.Unmarshal(data, &resp)
	if jsonErr == nil && resp.Error != nil {
		return nil, &RPCError{Code: resp.Error.Code, Message: resp.Error.Message, Method: method}
	}
	if status != http.StatusOK {
		return nil, &HTTPError{Method: method, Status: status, Body: snippet(data)}
	}
	if jsonErr != nil {
		return nil, &ResponseError{Method: method, Reason: "invalid JSON-RPC reply " + strconv.Quote(snippet(data)), Err: jsonErr}
	}
	if got := strings.TrimSpace(string(resp.ID)); got != strconv.FormatUint(id, 10) {
		return nil, &ResponseError{Method: method, Reason: fmt.Sprintf("reply id %s, want %d", got, id)}
	}
	if len(resp.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return resp.Result, nil
}

// snippet is the start of a body, for error messages.
func snippet(data []byte) string {
	const n = 200
	s := strings.TrimSpace(string(data))
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

// credentials returns the user and password to send, reading the cookie
// file on first use.
func (c *Client) credentials() (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveCred {
		user, pass, err := readCookie(c.cfg.CookieFile)
		if err != nil {
			return "", "", err
		}
		c.user, c.pass, c.haveCred = user, pass, true
	}
	return c.user, c.pass, nil
}

// reloadCookie re-reads the cookie after a 401 and reports whether it
// differs from the credentials that were refused. Comparing with those (not
// with whatever is cached now) keeps concurrent calls that all got a 401
// from reporting "unchanged" after another one already reloaded it.
func (c *Client) reloadCookie(refusedUser, refusedPass string) (bool, error) {
	user, pass, err := readCookie(c.cfg.CookieFile)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.user, c.pass, c.haveCred = user, pass, true
	c.mu.Unlock()
	return user != refusedUser || pass != refusedPass, nil
}

// readCookie parses Core's cookie file: "user:password", no newline (but
// one is tolerated, for hand-written files).
func readCookie(path string) (string, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", &CookieError{Path: path, Err: err}
	}
	user, pass, ok := strings.Cut(strings.TrimRight(string(data), "\r\n"), ":")
	if !ok || user == "" {
		return "", "", &CookieError{Path: path, Err: errors.New("not of the form user:password")}
	}
	return user, pass, nil
}
