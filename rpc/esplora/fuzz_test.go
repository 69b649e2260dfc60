package esplora

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/satnode/satnode/rpc/rpctest"
)

// FuzzRequest feeds arbitrary paths and query strings to the parser and
// to the whole handler over a small chain: never a panic, never a 5xx,
// always Esplora's content types (binary only for /block/:hash/raw), and
// an error from the parser is always a 4xx with a message. Run with
//
//	go test -run '^$' -fuzz FuzzRequest -fuzztime 30s ./rpc/esplora/
func FuzzRequest(f *testing.F) {
	cfg := testConfig()
	cfg.Blocks = 30
	c := rpctest.New(f, cfg, 30)
	h := New(c.Views, Options{MaxUTXOs: 5, MaxPage: 7, Bodies: c.Bodies})
	hotAddr := hotAddress(f, cfg, 0).addr
	sh := hotAddress(f, cfg, 0).scriptHash()
	tip := c.Blocks[30].BlockHash().String()
	coinbase := c.Blocks[3].Transactions[0].TxHash().String()
	seeds := [][2]string{
		{"/blocks/tip/height", ""},
		{"/blocks/tip/hash", ""},
		{"/block-height/7", ""},
		{"/block-height/+7", ""},
		{"/block-height/-7", ""},
		{"/block-height/99999999999999999999", ""},
		{"/block-height/2147483648", ""},
		{"/block/" + tip + "/header", ""},
		{"/block/" + tip + "/status", ""},
		{"/block/" + strings.Repeat("0", 63) + "/status", ""},
		{"/address/" + hotAddr, ""},
		{"/address/" + hotAddr + "/utxo", ""},
		{"/address/" + hotAddr + "/utxo", "limit=3"},
		{"/address/" + hotAddr + "/utxo", "limit=3&after=" + strings.Repeat("1", 64) + ":2"},
		{"/address/" + hotAddr + "/utxo", "after=x:y&limit=%"},
		{"/address/" + mainnetP2WPKH + "/utxo", "limit=1"},
		{"/address/" + pubKeyHex, ""},
		{"/address/bcrt1qqqqq", ""},
		{"/scripthash/" + sh, ""},
		{"/scripthash/" + sh + "/utxo", "limit=7"},
		{"/scripthash/" + sh[:10], ""},
		{"//", ""},
		{"", ""},
		{"/block//status", ""},
		{"/address/\x00\xff/utxo", "limit=\x00"},
		{"/block/" + tip + "/txids", ""},
		{"/block/" + tip + "/raw", ""},
		{"/block/" + tip + "/txs", ""},
		{"/block/" + tip + "/txs/25", ""},
		{"/block/" + tip + "/txs/99999999999999999999", ""},
		{"/block/" + tip + "/txs/-0", ""},
		{"/tx/" + coinbase + "/outspend/0", ""},
		{"/tx/" + coinbase + "/outspend/4294967296", ""},
		{"/tx/" + coinbase + "/outspend/+1", ""},
		{"/tx/" + strings.Repeat("f", 64) + "/outspend/0", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		q, perr := parseRequest(path, rawQuery, h.(*handler).opts)
		switch {
		case perr != nil && (perr.Status < 400 || perr.Status > 499 || perr.Msg == ""):
			t.Fatalf("parse %q %q: %+v", path, rawQuery, perr)
		case perr == nil && q.ep == epBlockHeight && q.height < -1:
			t.Fatalf("parse %q: height %d", path, q.height)
		case perr == nil && q.ep == epScriptUTXO && q.page.paged && (q.page.limit < 1 || q.page.limit > 7):
			t.Fatalf("parse %q %q: limit %d", path, rawQuery, q.page.limit)
		case q != nil && q.route() == "unmatched":
			t.Fatalf("parse %q: no route name", path)
		case perr == nil && q == nil:
			t.Fatalf("parse %q: neither a request nor an error", path)
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: rawQuery}})
		ct := rec.Header().Get("Content-Type")
		switch rec.Code {
		case http.StatusOK:
			if ct == "application/json" && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %q %q: invalid JSON %q", path, rawQuery, rec.Body.String())
			}
			if ct != "application/json" && ct != "text/plain" && (ct != "application/octet-stream" || q.ep != epBlockRaw) {
				t.Fatalf("GET %q %q: Content-Type %q", path, rawQuery, ct)
			}
		case http.StatusBadRequest, http.StatusNotFound:
			if ct != "text/plain" || rec.Body.Len() == 0 {
				t.Fatalf("GET %q %q: %d with Content-Type %q, body %q", path, rawQuery, rec.Code, ct, rec.Body.String())
			}
		default:
			t.Fatalf("GET %q %q: status %d %q", path, rawQuery, rec.Code, rec.Body.String())
		}
		if perr != nil && (rec.Code != perr.Status || rec.Body.String() != perr.Msg) {
			t.Fatalf("GET %q %q: handler %d %q, parser %+v", path, rawQuery, rec.Code, rec.Body.String(), perr)
		}
	})
}
