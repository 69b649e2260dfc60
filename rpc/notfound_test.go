package rpc

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fetch sends one request and returns the answer with its body read.
func fetch(t *testing.T, method, url, accept, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// TestServerRoot: at "/" a browser gets the status page and everything
// else what it got before: JSON-RPC for a POST (whatever it accepts),
// the JSON-RPC dialect's 405 for any other GET.
func TestServerRoot(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{})
	base := "http://" + srv.Addr()
	call := `{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":[]}`
	for _, tc := range []struct {
		method, path, accept, body string
		status                     int
		ctype, contains            string
	}{
		{"GET", "/", browserAccept, "", 200, "text/html; charset=utf-8", `id="tip-canonical"`},
		{"GET", "/", "text/html", "", 200, "text/html; charset=utf-8", `id="tip-canonical"`},
		{"GET", "/ui", "", "", 200, "text/html; charset=utf-8", `id="tip-canonical"`},
		{"GET", "/ui", "application/json", "", 200, "text/html; charset=utf-8", `id="tip-canonical"`},
		{"GET", "/ui/", "", "", 200, "text/html; charset=utf-8", `id="tip-canonical"`},
		{"GET", "/ui/app.js", "", "", 200, "text/javascript; charset=utf-8", "/v1/status"},
		{"HEAD", "/", browserAccept, "", 200, "text/html; charset=utf-8", ""},
		// Not a browser: today's answers.
		{"GET", "/", "", "", 405, "text/plain; charset=utf-8", "JSONRPC server handles only POST requests"},
		{"GET", "/", "*/*", "", 405, "text/plain; charset=utf-8", "JSONRPC server handles only POST requests"},
		{"GET", "/", "application/json", "", 405, "text/plain; charset=utf-8", "JSONRPC server handles only POST requests"},
		{"GET", "/", "text/html;q=0", "", 405, "text/plain; charset=utf-8", "JSONRPC server handles only POST requests"},
		{"POST", "/", "", call, 200, "application/json", `"result":120`},
		{"POST", "/", browserAccept, call, 200, "application/json", `"result":120`},
		{"POST", "/wallet/x", "", call, 200, "application/json", `"result":120`},
	} {
		resp, body := fetch(t, tc.method, base+tc.path, tc.accept, tc.body)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(body, tc.contains) {
			t.Errorf("%s %s (Accept %q): %d %q %.200q", tc.method, tc.path, tc.accept, resp.StatusCode,
				resp.Header.Get("Content-Type"), body)
		}
	}
	// The page at "/" varies with Accept, so that no cache hands it to an
	// API client.
	if resp, _ := fetch(t, "GET", base+"/", browserAccept, ""); resp.Header.Get("Vary") != "Accept" {
		t.Errorf("the page at /: Vary %q, want Accept", resp.Header.Get("Vary"))
	}
}

// TestServerNotFound: every GET or HEAD of a path no dialect serves is the
// same 404, whichever dialect's prefix it is under; a dialect's own 404s
// for its known routes keep their format.
func TestServerNotFound(t *testing.T) {
	c := smallChain(t)
	srv := startServer(t, c, Config{})
	base := "http://" + srv.Addr()
	long := "/" + strings.Repeat("x", 300)
	for _, path := range []string{
		"/x", "/nope/deeper", "/favicon.ico", "/metrics", // no metrics configured
		"/blocks/tip", "/blocks/tip/height/", "/blocks/tip/nope", "/block-height/1/x",
		"/scripthash/" + strings.Repeat("ab", 32) + "/nope",
		"/api/nope", "/api/blocks/tip", "/api/",
		"/v1/", "/v1/nope", "/v1/utxo", "/v1/block/1/nope", "/v1/status/x",
		"/ui/nope", "/ui/app.js/", "/uix",
		long,
	} {
		want := path
		if len(want) > 200 {
			want = want[:200] + "..."
		}
		msg, _ := json.Marshal("not found: " + want)
		wantBody := `{"error":` + string(msg) + `,"code":404}`
		for _, accept := range []string{"", browserAccept} {
			resp, body := fetch(t, "GET", base+path, accept, "")
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" ||
				body != wantBody+"\n" {
				t.Errorf("GET %s (Accept %q): %d %q %q, want 404 %s", path[:min(len(path), 60)], accept, resp.StatusCode,
					resp.Header.Get("Content-Type"), body, wantBody)
			}
		}
		if resp, body := fetch(t, "HEAD", base+path, "", ""); resp.StatusCode != http.StatusNotFound || body != "" {
			t.Errorf("HEAD %s: %d %q", path[:min(len(path), 60)], resp.StatusCode, body)
		}
	}
	// Known routes with a parameter that names nothing: each dialect's own
	// answer, as before.
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/block-height/99999", "text/plain", "Block not found"},
		{"/api/block-height/99999", "text/plain", "Block not found"},
		{"/v1/utxo/" + strings.Repeat("00", 32) + "/0", "application/json", `"no unspent output`},
		{"/v1/block/99999/stats", "application/json", `"no block at height 99999`},
	} {
		resp, body := fetch(t, "GET", base+tc.path, "", "")
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != tc.ctype ||
			!strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q %q, want the dialect's 404 with %q", tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), body, tc.contains)
		}
	}
	// Other methods keep their dialect's answers.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/blocks/tip/height", http.StatusMethodNotAllowed},
		{"POST", "/v1/status", http.StatusMethodNotAllowed},
		{"PUT", "/x", http.StatusMethodNotAllowed}, // the JSON-RPC dialect's
	} {
		if resp, body := fetch(t, tc.method, base+tc.path, "", ""); resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d %q, want %d", tc.method, tc.path, resp.StatusCode, body, tc.status)
		}
	}
}
