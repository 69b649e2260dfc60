package esplora

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Esplora's Cache-Control lifetimes: a long one for what cannot change
// (a header by hash, anything ten blocks deep) and a short one for what
// moves with the tip.
const (
	ttlLong  = 157_784_630 // five years
	ttlShort = 10
	// confFinal is how deep Esplora considers a block safe from reorgs
	// for caching.
	confFinal = 10
)

// Error is an answer other than 200: an HTTP status and the text/plain
// body, worded as Esplora words it.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("esplora: %d %s", e.Status, e.Msg) }

func badRequest(msg string) *Error { return &Error{Status: http.StatusBadRequest, Msg: msg} }

func notFound(msg string) *Error { return &Error{Status: http.StatusNotFound, Msg: msg} }

// errBlockNotFound is Esplora's answer for a height or hash it does not
// know.
var errBlockNotFound = notFound("Block not found")

// lookupError wraps a store failure. Esplora answers those 503, since the
// request itself was fine.
func lookupError(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Msg: err.Error()}
}

// writeError writes e as Esplora does: text/plain, no caching.
func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = io.WriteString(w, e.Msg)
}

// writeText writes a scalar answer: Esplora's bodies for heights and
// hashes are bare text, not JSON.
func writeText(w http.ResponseWriter, body string, ttl int) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", cacheControl(ttl))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}

// writeJSON writes v compactly with no trailing newline, byte for byte
// what electrs's serde_json::to_string produces for the same fields: in
// particular "<" and ">" (rust-bitcoin's "<push past end>" in an asm)
// are not escaped, as encoding/json would by default.
func writeJSON(w http.ResponseWriter, v any, ttl int) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the package's own types reach here; they always marshal.
		writeError(w, &Error{Status: http.StatusInternalServerError, Msg: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cacheControl(ttl))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func cacheControl(ttl int) string { return "public, max-age=" + strconv.Itoa(ttl) }

// ttlByDepth is Esplora's lifetime for an answer about the block at
// height: long once it is confFinal deep.
func ttlByDepth(tip, height int32) int {
	if int64(tip)-int64(height) >= confFinal {
		return ttlLong
	}
	return ttlShort
}
