package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/ui"
)

func TestAcceptsHTML(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		// What browsers send when they navigate.
		{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", true}, // Chrome
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},                       // Firefox
		{"text/html", true},
		{"TEXT/HTML", true},
		{" text/html ; charset=utf-8", true},
		{"application/json, text/html;q=0.1", true},
		{"text/html;level=1;q=0.5", true},
		// What API clients send, or nothing.
		{"", false},
		{"*/*", false},    // curl
		{"text/*", false}, // a wildcard is tolerance, not a wish
		{"application/json", false},
		{"application/json, text/plain, */*", false}, // axios
		{"text/plain", false},
		{"text/htmlx", false},
		{"application/xhtml+xml", false},
		// Refused explicitly.
		{"text/html;q=0", false},
		{"text/html; q=0.000", false},
		{"text/html;q=abc", false},
		{"text/html;q=NaN", false},
		{"application/json, text/html;q=0", false},
	} {
		if got := ui.AcceptsHTML(tc.accept); got != tc.want {
			t.Errorf("AcceptsHTML(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// serve runs one request through the handler and returns the answer and
// the route it named (rpc/internal/reqinfo), "" for none.
func serve(t *testing.T, h http.Handler, method, path string, hdr map[string]string) (*http.Response, string, string) {
	t.Helper()
	ctx, info := reqinfo.With(context.Background())
	req := httptest.NewRequestWithContext(ctx, method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), info.Route
}

// TestHandler: the page at /, /ui and /ui/, its script at /ui/app.js,
// each with its type and the security headers; conditional requests; the
// method and unknown-path answers.
func TestHandler(t *testing.T) {
	h := ui.New()
	for _, tc := range []struct {
		path, ctype, route, contains string
	}{
		{"/", "text/html; charset=utf-8", "/ui", `id="tip-canonical"`},
		{"/ui", "text/html; charset=utf-8", "/ui", `<script src="/ui/app.js">`},
		{"/ui/", "text/html; charset=utf-8", "/ui", `id="blocks"`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "/ui/:asset", `"/v1/stream"`},
	} {
		resp, body, route := serve(t, h, http.MethodGet, tc.path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.ctype || route != tc.route ||
			!strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q route %q, body has %q: %v", tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), route, tc.contains, strings.Contains(body, tc.contains))
			continue
		}
		for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "ETag", "Cache-Control"} {
			if resp.Header.Get(k) == "" {
				t.Errorf("GET %s: no %s header", tc.path, k)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("GET %s: the policy allows other origins: %s", tc.path, csp)
		}
		if got := resp.Header.Get("Vary"); (tc.path == "/") != (got == "Accept") {
			t.Errorf("GET %s: Vary %q", tc.path, got)
		}
		etag := resp.Header.Get("ETag")
		if resp, body, _ := serve(t, h, http.MethodGet, tc.path, map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s with its ETag: %d, want 304", tc.path, resp.StatusCode)
		}
		if resp, body, _ := serve(t, h, http.MethodHead, tc.path, nil); resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("HEAD %s: %d with %d bytes", tc.path, resp.StatusCode, len(body))
		}
		if resp, _, _ := serve(t, h, http.MethodPost, tc.path, nil); resp.StatusCode != http.StatusMethodNotAllowed ||
			resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d, Allow %q", tc.path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	// Unknown paths are 404s that name no route, which the server answers
	// as it answers every unknown path.
	for _, p := range []string{"/ui/nope.js", "/ui/index.html", "/ui/app.js/", "/ui//app.js", "/uix", "/x", "/ui/static/app.js"} {
		if resp, _, route := serve(t, h, http.MethodGet, p, nil); resp.StatusCode != http.StatusNotFound || route != "" {
			t.Errorf("GET %s: %d route %q, want 404 and no route", p, resp.StatusCode, route)
		}
	}
}

// TestPageIsSelfContained: the page and its script load nothing from
// other origins: no absolute URL but the API's own paths.
func TestPageIsSelfContained(t *testing.T) {
	h := ui.New()
	for _, p := range []string{"/ui", "/ui/app.js"} {
		_, body, _ := serve(t, h, http.MethodGet, p, nil)
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "fonts.g"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
	}
}
