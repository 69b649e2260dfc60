package btcnode_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/node/btcnode"
)

var mainnet struct {
	once sync.Once
	ref  *refChain
}

// mainnetRef loads the mainnet fixture once for all tests.
func mainnetRef(t *testing.T) *refChain {
	t.Helper()
	mainnet.once.Do(func() { mainnet.ref = refFromBlk(t, mainnetFixture, wire.MainNet) })
	if mainnet.ref == nil {
		t.Fatal("mainnet fixture did not load")
	}
	return mainnet.ref
}

// newClient returns a client of srv with millisecond backoff, so retry
// tests run fast; mod adjusts the config.
func newClient(t *testing.T, url string, mod func(*btcnode.Config)) *btcnode.Client {
	t.Helper()
	cfg := btcnode.Config{URL: url, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := btcnode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestClientSource runs the Source suite against a fake Core and a fake
// btcd serving the mainnet fixture.
func TestClientSource(t *testing.T) {
	ref := mainnetRef(t)
	for _, btcd := range []bool{false, true} {
		name := map[bool]string{false: "core", true: "btcd"}[btcd]
		t.Run(name, func(t *testing.T) {
			f, srv := newFakeNode(t, ref, btcd)
			checkSource(t, newClient(t, srv.URL, nil), ref, f.chain)
		})
	}
}

func TestClientAuth(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	f.setAuth("alice", "secret")
	ctx := context.Background()
	good := newClient(t, srv.URL, func(c *btcnode.Config) { c.User, c.Password = "alice", "secret" })
	if _, err := good.BestBlockHash(ctx); err != nil {
		t.Fatal(err)
	}
	bad := newClient(t, srv.URL, func(c *btcnode.Config) { c.User, c.Password = "alice", "wrong" })
	before := f.requests.Load()
	_, err := bad.BestBlockHash(ctx)
	var he *btcnode.HTTPError
	if !errors.Is(err, btcnode.ErrUnauthorized) || !errors.As(err, &he) || he.Status != 401 {
		t.Fatalf("wrong password: %v, want HTTP 401 matching ErrUnauthorized", err)
	}
	if n := f.requests.Load() - before; n != 1 {
		t.Fatalf("a refused password was sent %d times, want 1 (no retry)", n)
	}
}

// TestClientCookie: the cookie is re-read after a 401, as after a Core
// restart; an unchanged cookie is not retried.
func TestClientCookie(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	cookie := filepath.Join(t.TempDir(), ".cookie")
	write := func(pass string) {
		t.Helper()
		if err := os.WriteFile(cookie, []byte("__cookie__:"+pass), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	c := newClient(t, srv.URL, func(c *btcnode.Config) { c.CookieFile = cookie; c.Retries = 2 })

	// No cookie yet: the node may be starting, so it is retried, then
	// reported as a *CookieError.
	_, err := c.BestBlockHash(ctx)
	var ce *btcnode.CookieError
	var re *btcnode.RetryError
	if !errors.As(err, &ce) || !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing cookie: %v, want a *RetryError of 3 attempts wrapping a *CookieError", err)
	}

	write("one")
	f.setAuth("__cookie__", "one")
	if _, err := c.BestBlockHash(ctx); err != nil {
		t.Fatal(err)
	}

	// "Restart": new password in node and cookie. One 401, one success.
	write("two")
	f.setAuth("__cookie__", "two")
	before := f.requests.Load()
	if _, err := c.BestBlockHash(ctx); err != nil {
		t.Fatalf("after the cookie changed: %v", err)
	}
	if n := f.requests.Load() - before; n != 2 {
		t.Fatalf("%d requests after the cookie changed, want 2 (401, then the new cookie)", n)
	}

	// The node wants a password the cookie does not have: refused once,
	// cookie re-read and unchanged, error.
	f.setAuth("__cookie__", "three")
	before = f.requests.Load()
	if _, err := c.BestBlockHash(ctx); !errors.Is(err, btcnode.ErrUnauthorized) {
		t.Fatalf("stale cookie: %v, want ErrUnauthorized", err)
	}
	if n := f.requests.Load() - before; n != 1 {
		t.Fatalf("%d requests with a stale cookie, want 1", n)
	}
}

// failFirst answers the first n requests with fail, then lets the fake
// node answer.
func failFirst(n int32, fail func(w http.ResponseWriter, req *fakeRequest)) func(http.ResponseWriter, *http.Request, *fakeRequest) bool {
	var mu sync.Mutex
	var seen int32
	return func(w http.ResponseWriter, _ *http.Request, req *fakeRequest) bool {
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen > n {
			return false
		}
		fail(w, req)
		return true
	}
}

func plainStatus(status int, body string) func(http.ResponseWriter, *fakeRequest) {
	return func(w http.ResponseWriter, _ *fakeRequest) { http.Error(w, body, status) }
}

// coreError is an RPC error the way Core sends it: HTTP 500, JSON body.
func coreError(code int, msg string) func(http.ResponseWriter, *fakeRequest) {
	return func(w http.ResponseWriter, req *fakeRequest) {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]any{"result": nil, "error": map[string]any{"code": code, "message": msg}, "id": req.ID})
	}
}

func TestClientRetries(t *testing.T) {
	ref := mainnetRef(t)
	tests := []struct {
		name     string
		fails    int32
		fail     func(http.ResponseWriter, *fakeRequest)
		requests int32 // HTTP requests made, with Retries = 3
		code     int   // for an *RPCError result; 0: success, or see status
		status   int   // for an *HTTPError result
		exhaust  bool  // a *RetryError
	}{
		{name: "500 then success", fails: 2, fail: plainStatus(500, "boom"), requests: 3},
		{name: "503 work queue then success", fails: 3, fail: plainStatus(503, "Work queue depth exceeded"), requests: 4},
		{name: "warming up then success", fails: 2, fail: coreError(-28, "Loading block index..."), requests: 3},
		{name: "warming up exhausts retries", fails: 100, fail: coreError(-28, "Verifying blocks..."), requests: 4, code: -28, exhaust: true},
		{name: "500 exhausts retries", fails: 100, fail: plainStatus(500, "boom"), requests: 4, status: 500, exhaust: true},
		{name: "RPC error in a 500 not retried", fails: 100, fail: coreError(-5, "Block not found"), requests: 1, code: -5},
		{name: "misc RPC error not retried", fails: 100, fail: coreError(-1, "something"), requests: 1, code: -1},
		{name: "403 not retried", fails: 100, fail: plainStatus(403, "Forbidden"), requests: 1, status: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeNode(t, ref, false)
			f.setHook(failFirst(tc.fails, tc.fail))
			c := newClient(t, srv.URL, func(c *btcnode.Config) { c.Retries = 3 })
			_, err := c.BestBlockHash(context.Background())
			if got := f.requests.Load(); got != tc.requests {
				t.Errorf("%d requests, want %d (err %v)", got, tc.requests, err)
			}
			var (
				re *btcnode.RetryError
				pe *btcnode.RPCError
				he *btcnode.HTTPError
			)
			switch {
			case tc.code == 0 && tc.status == 0:
				if err != nil {
					t.Fatalf("want success after retries, got %v", err)
				}
			case tc.exhaust != errors.As(err, &re):
				t.Fatalf("error %v: *RetryError %v, want %v", err, !tc.exhaust, tc.exhaust)
			case tc.code != 0 && (!errors.As(err, &pe) || pe.Code != tc.code || pe.Method != "getbestblockhash"):
				t.Fatalf("error %v, want an *RPCError with code %d", err, tc.code)
			case tc.status != 0 && (!errors.As(err, &he) || he.Status != tc.status):
				t.Fatalf("error %v, want an *HTTPError with status %d", err, tc.status)
			}
		})
	}
}

// TestClientBackoff: waits double from Backoff up to MaxBackoff.
func TestClientBackoff(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	var mu sync.Mutex
	var times []time.Time
	f.setHook(func(w http.ResponseWriter, _ *http.Request, _ *fakeRequest) bool {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		http.Error(w, "down", http.StatusBadGateway)
		return true
	})
	c := newClient(t, srv.URL, func(c *btcnode.Config) {
		c.Retries, c.Backoff, c.MaxBackoff = 4, 20*time.Millisecond, 50*time.Millisecond
	})
	if _, err := c.BestBlockHash(context.Background()); err == nil {
		t.Fatal("want an error")
	}
	want := []time.Duration{20, 40, 50, 50} // ms
	if len(times) != len(want)+1 {
		t.Fatalf("%d requests, want %d", len(times), len(want)+1)
	}
	for i, w := range want {
		got := times[i+1].Sub(times[i])
		if got < w*time.Millisecond || got > w*time.Millisecond+time.Second {
			t.Errorf("wait before retry %d: %v, want about %dms", i+1, got, w)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	f.setHook(func(w http.ResponseWriter, r *http.Request, _ *fakeRequest) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return true
	})
	c := newClient(t, srv.URL, func(c *btcnode.Config) { c.Timeout, c.Retries = 50*time.Millisecond, 1 })
	start := time.Now()
	_, err := c.BestBlockHash(context.Background())
	var te *btcnode.TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, new(*btcnode.RetryError)) {
		t.Fatalf("slow node: %v, want a *RetryError of *TransportError timeouts", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("two 50ms attempts took %v", d)
	}
	if n := f.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// TestClientContextCancel: the caller's context ends the call at once,
// retries and backoff included.
func TestClientContextCancel(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	f.setHook(func(w http.ResponseWriter, _ *http.Request, _ *fakeRequest) bool {
		http.Error(w, "down", http.StatusInternalServerError)
		return true
	})
	c := newClient(t, srv.URL, func(c *btcnode.Config) { c.Backoff = 10 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.BestBlockHash(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled during backoff: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v to be noticed", d)
	}
	if n := f.requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}

	// A deadline that ends during a slow request.
	f.setHook(func(w http.ResponseWriter, r *http.Request, _ *fakeRequest) bool {
		<-r.Context().Done()
		return true
	})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.BestBlockHash(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline during a request: %v, want context.DeadlineExceeded", err)
	}
}

// TestClientBadReplies: replies that are not what was asked for are
// *ResponseErrors, and not retried.
func TestClientBadReplies(t *testing.T) {
	ref := mainnetRef(t)
	h1, h2 := ref.hashes[1], ref.hashes[2]
	result := func(v any) func(http.ResponseWriter, *fakeRequest) {
		return func(w http.ResponseWriter, req *fakeRequest) {
			json.NewEncoder(w).Encode(map[string]any{"result": v, "error": nil, "id": req.ID})
		}
	}
	bestHash := func(c *btcnode.Client) error { _, err := c.BestBlockHash(context.Background()); return err }
	header := func(c *btcnode.Client) error { _, err := c.BlockHeader(context.Background(), h1); return err }
	block := func(c *btcnode.Client) error { _, err := c.Block(context.Background(), h1); return err }
	tests := []struct {
		name   string
		method string // the method whose reply is replaced
		reply  func(http.ResponseWriter, *fakeRequest)
		call   func(*btcnode.Client) error
	}{
		{"not JSON", "getbestblockhash", func(w http.ResponseWriter, _ *fakeRequest) { w.Write([]byte("<html>hello</html>")) }, bestHash},
		{"wrong id", "getbestblockhash", func(w http.ResponseWriter, _ *fakeRequest) {
			w.Write([]byte(`{"result":"` + h1.String() + `","error":null,"id":424242}`))
		}, bestHash},
		{"short hash", "getbestblockhash", result("00ab"), bestHash},
		{"hash not hex", "getbestblockhash", result(strings.Repeat("zz", 32)), bestHash},
		{"result of the wrong type", "getbestblockhash", result(42), bestHash},
		{"header of another block", "getblockheader", result(hex.EncodeToString(ref.blocks[2][:80])), header},
		{"header of 79 bytes", "getblockheader", result(hex.EncodeToString(ref.blocks[1][:79])), header},
		{"header not hex", "getblockheader", result("xyz"), header},
		{"block of another hash", "getblock", result(hex.EncodeToString(ref.blocks[2])), block},
		{"block shorter than a header", "getblock", result("00"), block},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeNode(t, ref, false)
			f.setHook(func(w http.ResponseWriter, _ *http.Request, req *fakeRequest) bool {
				if req.Method != tc.method {
					return false
				}
				tc.reply(w, req)
				return true
			})
			err := tc.call(newClient(t, srv.URL, nil))
			var re *btcnode.ResponseError
			if !errors.As(err, &re) || re.Method != tc.method {
				t.Fatalf("got %v, want a *ResponseError for %s", err, tc.method)
			}
			if n := f.requests.Load(); n != 1 {
				t.Fatalf("%d requests, want 1 (no retry)", n)
			}
		})
	}

	// The verbose header (for the height) must be for the same block.
	f, srv := newFakeNode(t, ref, true)
	f.setHook(func(w http.ResponseWriter, _ *http.Request, req *fakeRequest) bool {
		if req.Method != "getblockheader" || string(req.Params[1]) != "true" {
			return false
		}
		result(map[string]any{"hash": h2.String(), "height": 2})(w, req)
		return true
	})
	if err := header(newClient(t, srv.URL, nil)); !errors.As(err, new(*btcnode.ResponseError)) {
		t.Fatalf("verbose header of another block: %v, want a *ResponseError", err)
	}
}

// TestClientCall covers the generic call: params sent as [] when nil, a
// null result, errors of unknown methods.
func TestClientCall(t *testing.T) {
	f, srv := newFakeNode(t, mainnetRef(t), false)
	var params []string
	f.setHook(func(w http.ResponseWriter, _ *http.Request, req *fakeRequest) bool {
		switch req.Method {
		case "echo":
			params = append(params, string(mustJSON(t, req.Params)))
			f.reply(w, req.ID, req.Params)
			return true
		case "gettxout":
			if string(req.Params[1]) == "0" {
				f.reply(w, req.ID, nil) // spent or unknown
				return true
			}
			f.reply(w, req.ID, map[string]any{
				"bestblock": mainnetRef(t).hashes[7].String(), "confirmations": 12, "value": 0.1,
				"scriptPubKey": map[string]any{"hex": "0014aabb"}, "coinbase": true,
			})
			return true
		}
		return false
	})
	c := newClient(t, srv.URL, nil)
	ctx := context.Background()
	if err := c.Call(ctx, "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	var got []any
	if err := c.Call(ctx, "echo", []any{1, "two", true}, &got); err != nil || len(got) != 3 {
		t.Fatalf("echo: %v, %v", got, err)
	}
	if want := []string{"[]", `[1,"two",true]`}; strings.Join(params, " ") != strings.Join(want, " ") {
		t.Fatalf("params sent %q, want %q", params, want)
	}

	if out, err := c.GetTxOut(ctx, mainnetRef(t).hashes[1], 0, true); out != nil || err != nil {
		t.Fatalf("spent output: %+v, %v; want nil, nil", out, err)
	}
	out, err := c.GetTxOut(ctx, mainnetRef(t).hashes[1], 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.BestBlock != mainnetRef(t).hashes[7] || out.Confirmations != 12 || out.Sats() != 10_000_000 ||
		out.ScriptPubKeyHex != "0014aabb" || !out.Coinbase {
		t.Fatalf("GetTxOut = %+v", out)
	}

	var pe *btcnode.RPCError
	if err := c.Call(ctx, "nosuchmethod", nil, nil); !errors.As(err, &pe) || pe.Code != btcnode.CodeMethodNotFound {
		t.Fatalf("unknown method (Core answers HTTP 404 with a JSON error): %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClientTLS(t *testing.T) {
	ref := mainnetRef(t)
	f := &fakeNode{ref: ref, chain: "main"}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	certFile := filepath.Join(t.TempDir(), "rpc.cert")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// host:port and a certificate file: https, trusting only that file.
	c := newClient(t, srv.Listener.Addr().String(), func(c *btcnode.Config) { c.TLSCertFile = certFile })
	if !strings.HasPrefix(c.Endpoint(), "https://") {
		t.Fatalf("endpoint %s, want https", c.Endpoint())
	}
	if _, err := c.BestBlockHash(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without the certificate the system roots do not trust it.
	untrusting := newClient(t, srv.URL, func(c *btcnode.Config) { c.Retries = -1 })
	if _, err := untrusting.BestBlockHash(context.Background()); !errors.As(err, new(*btcnode.TransportError)) {
		t.Fatalf("self-signed server without its certificate: %v, want a *TransportError", err)
	}
}

func TestConfig(t *testing.T) {
	certFile := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(certFile, []byte("not a certificate"), 0o600)
	bad := []struct {
		field string
		cfg   btcnode.Config
	}{
		{"URL", btcnode.Config{}},
		{"URL", btcnode.Config{URL: "ftp://host:1"}},
		{"URL", btcnode.Config{URL: "http://user:pw@host:1"}},
		{"URL", btcnode.Config{URL: "http://"}},
		{"CookieFile", btcnode.Config{URL: "host:1", CookieFile: "c", User: "u"}},
		{"TLSCertFile", btcnode.Config{URL: "http://host:1", TLSCertFile: certFile}},
		{"TLSCertFile", btcnode.Config{URL: "host:1", TLSCertFile: certFile}},
		{"TLSCertFile", btcnode.Config{URL: "host:1", TLSCertFile: filepath.Join(t.TempDir(), "missing")}},
		{"Timeout", btcnode.Config{URL: "host:1", Timeout: -1}},
	}
	for _, tc := range bad {
		_, err := btcnode.New(tc.cfg)
		var ce *btcnode.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("New(%+v) = %v, want a *ConfigError for %s", tc.cfg, err, tc.field)
		}
	}
	c, err := btcnode.New(btcnode.Config{URL: "127.0.0.1:8332"})
	if err != nil || c.Endpoint() != "http://127.0.0.1:8332" {
		t.Fatalf("host:port: %v, %v", c, err)
	}
}

// TestNotFoundCodes pins which replies count as ErrNotFound.
func TestNotFoundCodes(t *testing.T) {
	tests := []struct {
		method string
		code   int
		msg    string
		want   bool
	}{
		{"getblockhash", -8, "Block height out of range", true}, // Core
		{"getblockhash", -1, "Block number out of range", true}, // btcd
		{"getblockhash", -1, "something else", false},
		{"getblockheader", -5, "Block not found", true}, // both
		{"getblock", -5, "Block not found", true},       // both
		{"getblock", -1, "Block not available (pruned data)", false},
		{"getblock", -8, "blockhash must be of length 64", false},
		{"getrawtransaction", -5, "No such mempool or blockchain transaction", true},
		{"validateaddress", -5, "Invalid address", false},
		{"getrawtransaction", -5, "Transaction not found", true},
		{"getblockheader", -28, "Loading", false},
	}
	for _, tc := range tests {
		err := error(&btcnode.RPCError{Code: tc.code, Message: tc.msg, Method: tc.method})
		if got := errors.Is(err, btcnode.ErrNotFound); got != tc.want {
			t.Errorf("%s %d %q: ErrNotFound %v, want %v", tc.method, tc.code, tc.msg, got, tc.want)
		}
	}
}

func TestParamsForChain(t *testing.T) {
	for name, want := range map[string]*chaincfg.Params{
		"main": &chaincfg.MainNetParams, "mainnet": &chaincfg.MainNetParams,
		"test": &chaincfg.TestNet3Params, "testnet3": &chaincfg.TestNet3Params,
		"regtest": &chaincfg.RegressionNetParams, "signet": &chaincfg.SigNetParams,
		"simnet": &chaincfg.SimNetParams,
	} {
		if got, ok := btcnode.ParamsForChain(name); !ok || got != want {
			t.Errorf("ParamsForChain(%q) = %v, %v", name, got, ok)
		}
	}
	if _, ok := btcnode.ParamsForChain("testnet4"); ok {
		t.Error("testnet4 is not in btcd v0.24.2's chaincfg")
	}
}
