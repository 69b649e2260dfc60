package rpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/metrics"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

func smallChain(t *testing.T) *rpctest.Chain {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 130
	return rpctest.New(t, cfg, 120)
}

func post(t *testing.T, url, body string, user, pass string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServerAuth(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{User: "alice", Password: "s3cret"})
	url := "http://" + srv.Addr() + "/"
	call := `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`
	if resp, _ := post(t, url, call, "", ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %s, want 401 with WWW-Authenticate", resp.Status)
	}
	if resp, _ := post(t, url, call, "alice", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s, want 401", resp.Status)
	}
	resp, body := post(t, url, call, "alice", "s3cret")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"result":120`) {
		t.Fatalf("right password: %s %s", resp.Status, body)
	}
	// The REST dialects stay open.
	r, err := http.Get("http://" + srv.Addr() + "/blocks/tip/height")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("esplora without credentials: %s", r.Status)
	}
}

func TestServerCookie(t *testing.T) {
	c := smallChain(t)
	cookie := filepath.Join(t.TempDir(), "rpc.cookie")
	srv, err := New(Config{Listen: "127.0.0.1:0", CookieFile: cookie}, c.Views)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cookie)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cookie mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(cookie)
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != "__cookie__" || len(pass) != 64 {
		t.Fatalf("cookie %q is not __cookie__:<64 hex>", raw)
	}
	url := "http://" + srv.Addr() + "/"
	call := `{"jsonrpc":"1.0","id":1,"method":"getbestblockhash","params":[]}`
	if resp, _ := post(t, url, call, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the cookie: %s", resp.Status)
	}
	if resp, body := post(t, url, call, user, pass); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the cookie: %s %s", resp.Status, body)
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cookie); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cookie left behind after Close: %v", err)
	}
}

func TestServerOversizedBody(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{MaxBodyBytes: 4096})
	body := `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":["` + strings.Repeat("x", 10000) + `"]}`
	resp, text := post(t, "http://"+srv.Addr()+"/", body, "", "")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %s %s, want 413", resp.Status, text)
	}
	// And the server still answers.
	if resp, text := post(t, "http://"+srv.Addr()+"/", `{"id":2,"method":"getblockcount","params":[]}`, "", ""); resp.StatusCode != 200 {
		t.Fatalf("after an oversized body: %s %s", resp.Status, text)
	}
}

// TestServerSlowClients: connections that stop mid-header or mid-body are
// cut off by the read timeouts, and while they hang, with every connection
// slot taken, the server still answers once a slot frees; it never stops.
func TestServerSlowClients(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{MaxConns: 2, ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond})
	dial := func() net.Conn {
		conn, err := net.DialTimeout("tcp", srv.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	// One stops inside its headers, one inside its body.
	midHeader := dial()
	defer midHeader.Close()
	io.WriteString(midHeader, "POST / HTTP/1.1\r\nHost: x\r\n")
	midBody := dial()
	defer midBody.Close()
	io.WriteString(midBody, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":1,")
	start := time.Now()
	// Both slots are taken: this request waits until a timeout frees one.
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + srv.Addr() + "/blocks/tip/height")
	if err != nil {
		t.Fatalf("a normal client behind two stalled ones: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
	t.Logf("served after %v with both slots stalled", time.Since(start).Round(time.Millisecond))
	for _, conn := range []net.Conn{midHeader, midBody} {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(bufio.NewReader(conn))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a stalled connection was still open after 5 s")
		}
	}
}

func TestServerNoStateYet(t *testing.T) {
	views := &app.Views{}
	srv, err := New(Config{Listen: "127.0.0.1:0"}, views)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	resp, body := post(t, "http://"+srv.Addr()+"/", `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`, "", "")
	if !strings.Contains(body, "-28") {
		t.Errorf("getblockcount before the first commit: %s %s, want error -28 (warming up)", resp.Status, body)
	}
	r, err := http.Get("http://" + srv.Addr() + "/blocks/tip/height")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("esplora before the first commit: %s, want 503", r.Status)
	}
}

func TestServerStampsAndMetrics(t *testing.T) {
	c := smallChain(t)
	m := metrics.New(metrics.Sources{Views: c.Views, CacheStats: c.Engine.CacheStats,
		Peers: func() map[string]int { return map[string]int{"cometbft": 3} }})
	srv := startServer(t, c, Config{Metrics: m})
	base := "http://" + srv.Addr()
	for _, path := range []string{"/blocks/tip/hash", "/api/blocks/tip/hash", "/v1/status"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get(stamp.HeaderHash) != c.Blocks[120].BlockHash().String() ||
			resp.Header.Get(stamp.HeaderHeight) != "120" || resp.Header.Get(stamp.HeaderChainHeight) == "" {
			t.Errorf("%s: %s, headers %v", path, resp.Status, resp.Header)
		}
	}
	resp, _ := post(t, base+"/", `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`, "", "")
	if resp.Header.Get(stamp.HeaderHeight) != "120" {
		t.Errorf("JSON-RPC answer not stamped: %v", resp.Header)
	}
	c.Extend(2) // an event for the counters
	var text []byte
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ = io.ReadAll(r.Body)
		r.Body.Close()
		// The apply histogram is the last metric the event updates.
		if bytes.Contains(text, []byte(`satnode_btc_block_apply_seconds_count{op="connect"} 2`)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`satnode_btc_tip_height{tip="canonical"} 122`,
		`satnode_btc_blocks_total{op="connect"} 2`,
		`satnode_btc_block_apply_seconds_count{op="connect"} 2`,
		`satnode_btc_txs_applied_total`,
		`satnode_utxo_cache_lookups_total{result="hit"}`,
		`satnode_peers{network="cometbft"} 3`,
		`satnode_rpc_request_duration_seconds_count{code="200",dialect="esplora"`,
		`satnode_rpc_request_duration_seconds_count{code="200",dialect="core",route="getblockcount"} 1`,
	} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

// TestServerStreamOutlivesTimeouts: the websocket stream, behind the real
// server, outlives the server's read and write timeouts (which guard plain
// requests) and still delivers the next block.
func TestServerStreamOutlivesTimeouts(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond})
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/v1/stream", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hello struct {
		Type string `json:"type"`
	}
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("first message %+v, %v", hello, err)
	}
	time.Sleep(time.Second) // past every server timeout
	c.Extend(1)
	var msg struct {
		Type   string `json:"type"`
		Height int32  `json:"height"`
	}
	if err := ws.ReadJSON(&msg); err != nil {
		t.Fatalf("after the server's timeouts: %v", err)
	}
	if msg.Type != "block_connected" || msg.Height != 121 {
		t.Fatalf("got %+v, want block_connected at 121", msg)
	}
}

// TestServerRecoversFromPanic: a handler bug answers 500 and is logged;
// the server goes on serving.
func TestServerRecoversFromPanic(t *testing.T) {
	c := smallChain(t)
	s, err := New(Config{Listen: "127.0.0.1:0"}, c.Views)
	if err != nil {
		t.Fatal(err)
	}
	h := s.wrap("test", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("a bug") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("panicking handler: %d, want 500", rec.Code)
	}
}
