package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/satnode/satnode/rpc/internal/reqinfo"
)

//go:embed static
var static embed.FS

// Prefix is where the page and its assets are served.
const Prefix = "/ui"

// Security headers of every answer. The page loads its script from its own
// origin and opens no connection but to it (the API and the stream);
// styles are inline in the page.
const csp = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes are the types of the embedded files, fixed here rather
// than read from the system's MIME tables, which differ between hosts.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// file is one embedded file, ready to serve.
type file struct {
	name  string
	ctype string
	etag  string
	body  []byte
}

// Handler serves the page and its assets. It is safe for concurrent use.
type Handler struct {
	page   *file
	assets map[string]*file
}

// New returns the handler over the embedded files.
func New() *Handler {
	h := &Handler{assets: map[string]*file{}}
	entries, err := static.ReadDir("static")
	if err != nil {
		panic("ui: the embedded files are missing: " + err.Error()) // a broken build
	}
	for _, e := range entries {
		body, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			panic("ui: reading the embedded " + e.Name() + ": " + err.Error())
		}
		sum := sha256.Sum256(body)
		ctype, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			panic("ui: no content type for the embedded " + e.Name())
		}
		f := &file{name: e.Name(), ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, body: body}
		if e.Name() == "index.html" {
			h.page = f
			continue
		}
		h.assets[e.Name()] = f
	}
	if h.page == nil {
		panic("ui: the embedded index.html is missing")
	}
	return h
}

// ServeHTTP serves "/", "/ui" and "/ui/" (the page) and "/ui/NAME" (an
// asset). Any other path is a 404 with no route set, which the server
// answers as it answers every unknown path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var f *file
	route := Prefix
	if p := r.URL.Path; p == "/" || p == Prefix || p == Prefix+"/" {
		f = h.page
	} else if name, ok := strings.CutPrefix(p, Prefix+"/"); ok {
		f, route = h.assets[name], Prefix+"/:asset"
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	reqinfo.SetRoute(r.Context(), route)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: the status page is read-only (GET, HEAD)",
			http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	// Revalidated every time (cheap: an ETag match is a 304), so a node
	// upgraded in place serves its new page at once.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	// The page at "/" depends on Accept; tell caches so.
	if r.URL.Path == "/" {
		hd.Set("Vary", "Accept")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// AcceptsHTML reports whether an Accept header asks for HTML: one of its
// media ranges is text/html (any case, any parameters) with a quality
// above zero. Browsers send it when they navigate to a page; API clients
// (curl, Core's and Esplora's libraries) do not, so they keep getting the
// API's answer at "/". Wildcards ("*/*", "text/*") do not count: they
// say what a client tolerates, not that it wants a page.
func AcceptsHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(mediaType), "text/html") {
			continue
		}
		if qualityZero(params) {
			continue
		}
		return true
	}
	return false
}

// qualityZero reports whether a media range's parameters set q=0 (or an
// unreadable q, which RFC 9110 gives no meaning; it is taken as a refusal
// rather than a wish).
func qualityZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err != nil || !(q > 0) // NaN too
	}
	return false
}
