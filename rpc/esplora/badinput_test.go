package esplora

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/satnode/satnode/rpc/internal/reqinfo"
	"github.com/satnode/satnode/rpc/rpctest"
)

// Addresses of other networks (BIP173 and well-known mainnet vectors).
const (
	mainnetP2PKH  = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	mainnetP2WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
	testnetP2WPKH = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
	// A compressed public key: btcutil would take it for a P2PK
	// "address"; Esplora does not.
	pubKeyHex = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
)

func TestBadInputs(t *testing.T) {
	cfg := testConfig()
	c := rpctest.New(t, cfg, 30)
	h := New(c.Views, Options{MaxPage: 100, Bodies: c.Bodies})
	hotAddr := hotAddress(t, cfg, 0).addr
	tipHash := c.Blocks[c.Tip()].BlockHash().String()
	pruned := c.Blocks[5].BlockHash()
	c.Bodies.Delete(pruned)
	hex64 := strings.Repeat("ab", 32)
	// A regtest bech32 address with its checksum broken.
	badSum := []byte(hotAddress(t, cfg, 1).addr)
	if last := &badSum[len(badSum)-1]; *last == 'q' {
		*last = 'p'
	} else {
		*last = 'q'
	}
	cases := []struct {
		path   string
		status int
		// body is the exact body, or with a trailing "*" its prefix.
		body string
	}{
		{"/block-height/abc", 400, "Invalid number"},
		{"/block-height/-1", 400, "Invalid number"},
		{"/block-height/", 400, "Invalid number"},
		{"/block-height/+", 400, "Invalid number"},
		{"/block-height/++1", 400, "Invalid number"},
		{"/block-height/1e3", 400, "Invalid number"},
		{"/block-height/1.0", 400, "Invalid number"},
		{"/block-height/%201", 400, "Invalid number"},
		{"/block-height/18446744073709551616", 400, "Invalid number"},
		{"/block-height/" + strings.Repeat("9", 5000), 400, "Invalid number"},
		{"/block-height/31", 404, "Block not found"},
		{"/block-height/2147483647", 404, "Block not found"},
		{"/block-height/2147483648", 404, "Block not found"},
		{"/block-height/18446744073709551615", 404, "Block not found"},
		{"/block-height/+30", 200, tipHash},
		{"/block-height/0030", 200, tipHash},
		{"/block/xyz/header", 400, "Invalid hex string"},
		{"/block/" + hex64[:63] + "/header", 400, "Invalid hex string"},
		{"/block/" + hex64 + "a/header", 400, "Invalid hex string"},
		{"/block/" + strings.Repeat("zz", 32) + "/status", 400, "Invalid hex string"},
		{"/block/" + hex64 + "/header", 404, "Block not found"},
		{"/block/" + strings.ToUpper(tipHash) + "/status", 200, `{"in_best_chain":true,"height":30,"next_best":null}`},
		{"/block/" + tipHash, 404, `endpoint does not exist "/block/` + tipHash + `"`},
		{"/block/" + tipHash + "/txids", 200, `["` + c.Blocks[c.Tip()].Transactions[0].TxHash().String() + `"]`},
		{"/block/" + tipHash + "/txs/25", 400, "start index out of range"},
		{"/block/" + tipHash + "/txs/5", 400, "start index must be a multiple of 25"},
		{"/block/" + tipHash + "/txs/+4294967295", 400, "start index must be a multiple of 25"},
		{"/block/" + tipHash + "/txs/4294967275", 400, "start index out of range"},
		{"/block/" + tipHash + "/txs/25/", 404, "endpoint does not exist *"},
		{"/block/" + tipHash + "/txid/0", 404, "endpoint does not exist *"},
		{"/block/" + hex64 + "/txs/abc", 404, "Block not found"},
		{"/block/" + hex64 + "/txids", 404, "Block not found"},
		{"/block/" + hex64 + "/raw", 404, "Block not found"},
		{"/block/xyz/raw", 400, "Invalid hex string"},
		{"/block/" + hex64[:62] + "/txs/0", 400, "Invalid hex string"},
		{"/block/" + pruned.String() + "/raw", 404, "Block body not available: *"},
		{"/block/" + pruned.String() + "/txs", 404, "Block body not available: *"},
		{"/block/" + pruned.String() + "/txids", 404, "Block body not available: *"},
		{"/tx/" + hex64 + "/outspend/4294967296", 400, "Invalid number"},
		{"/tx/" + hex64 + "/outspend/18446744073709551616", 400, "Invalid number"},
		{"/tx/" + hex64 + "/outspend/" + strings.Repeat("9", 5000), 400, "Invalid number"},
		{"/tx/" + hex64 + "/outspend/-1", 400, "Invalid number"},
		{"/tx/" + hex64 + "/outspend/", 400, "Invalid number"},
		{"/tx/" + hex64 + "/outspend/0x1", 400, "Invalid number"},
		{"/tx/zz/outspend/0", 400, "Invalid hex string"},
		{"/tx/" + hex64 + "/outspend/+4294967295", 404, "Spend not known: output " + reversedHex(hex64) + ":4294967295 *"},
		{"/tx/" + hex64 + "/outspend/0", 404, "Spend not known: *"},
		{"/tx/" + hex64 + "/outspend", 404, "endpoint does not exist *"},
		{"/tx/" + hex64 + "/outspend/0/", 404, "endpoint does not exist *"},
		{"/tx/" + hex64 + "/outspends", 404, "endpoint does not exist *"},
		{"/block/" + tipHash + "/header/", 404, "endpoint does not exist *"},
		{"/address/garbage", 400, "base58 error"},
		{"/address/0OIl", 400, "base58 error"},
		{"/address/", 400, "base58 error"},
		{"/address/" + mainnetP2PKH, 400, "Address on invalid network"},
		{"/address/" + mainnetP2WPKH, 400, "Address on invalid network"},
		{"/address/" + testnetP2WPKH + "/utxo", 400, "Address on invalid network"},
		{"/address/" + string(badSum), 400, "bech32 segwit decoding error"},
		{"/address/bcrt1", 400, "bech32 segwit decoding error"},
		{"/address/" + pubKeyHex, 400, "legacy address base58 string"},
		{"/address/" + strings.Repeat("1", 100_000), 400, "legacy address base58 string"},
		{"/address/" + "bcrt1" + strings.Repeat("q", 100_000), 400, "bech32 segwit decoding error"},
		// 21 bytes with a valid checksum but version byte 0x01.
		{"/address/" + wrongVersion(t), 400, "legacy address base58 prefix"},
		// 25 bytes with a valid checksum.
		{"/address/" + wrongLength(t), 400, "legacy address base58 data"},
		{"/address/" + hotAddr + "/txs", 404, "endpoint does not exist *"},
		{"/address/" + hotAddr + "/utxo/", 404, "endpoint does not exist *"},
		{"/address/" + hotAddr + "/utxo?limit=0", 400, "Invalid limit: *"},
		{"/address/" + hotAddr + "/utxo?limit=101", 400, "Invalid limit: expected a whole number from 1 to 100"},
		{"/address/" + hotAddr + "/utxo?limit=-1", 400, "Invalid limit: *"},
		{"/address/" + hotAddr + "/utxo?limit=", 400, "Invalid limit: *"},
		{"/address/" + hotAddr + "/utxo?limit=99999999999999999999999", 400, "Invalid limit: *"},
		{"/address/" + hotAddr + "/utxo?after=", 400, "Invalid after: *"},
		{"/address/" + hotAddr + "/utxo?after=" + hex64, 400, "Invalid after: *"},
		{"/address/" + hotAddr + "/utxo?after=" + hex64 + ":-1", 400, "Invalid after: *"},
		{"/address/" + hotAddr + "/utxo?after=" + hex64 + ":4294967296", 400, "Invalid after: *"},
		{"/address/" + hotAddr + "/utxo?after=" + hex64[:60] + ":1", 400, "Invalid after: *"},
		{"/address/" + hotAddr + "/utxo?limit=%zz", 400, "Invalid query string: *"},
		// Unknown parameters are ignored, as Esplora ignores them.
		{"/address/" + hotAddr + "?limit=0", 200, `{"address":"` + hotAddr + `"*`},
		{"/address/garbage/utxo?limit=5", 400, "base58 error"},
		{"/scripthash/zz", 400, "Invalid scripthash"},
		{"/scripthash/" + hex64[:62], 400, "Invalid scripthash"},
		{"/scripthash/" + hex64 + "00", 400, "Invalid scripthash"},
		{"/scripthash/" + hex64 + "/utxo?limit=x", 400, "Invalid limit: *"},
		{"/scripthash/" + strings.ToUpper(hex64), 200, `{"chain_stats":{"funded_txo_count":0,"funded_txo_sum":0,"spent_txo_count":0,"spent_txo_sum":0,"tx_count":0},"mempool_stats":{"funded_txo_count":0,"funded_txo_sum":0,"spent_txo_count":0,"spent_txo_sum":0,"tx_count":0},"scripthash":"` + strings.ToUpper(hex64) + `"}`},
		{"/scripthash/" + hex64 + "/utxo", 200, "[]"},
		{"/nope", 404, `endpoint does not exist "/nope"`},
		{"/", 404, `endpoint does not exist "/"`},
		{"/blocks/tip", 404, "endpoint does not exist *"},
		{"/blocks/tip/height/", 404, "endpoint does not exist *"},
		{"/blocks/tip/height/x", 404, "endpoint does not exist *"},
		{"/tx/" + hex64, 404, "endpoint does not exist *"},
		{"/mempool", 404, "endpoint does not exist *"},
		{"/" + strings.Repeat("/", 10_000), 404, "endpoint does not exist *"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, &http.Request{Method: http.MethodGet, URL: mustURL(t, tc.path)})
		body := rec.Body.String()
		ok := rec.Code == tc.status
		if p, isPrefix := strings.CutSuffix(tc.body, "*"); isPrefix {
			ok = ok && strings.HasPrefix(body, p)
		} else {
			ok = ok && body == tc.body
		}
		if !ok {
			t.Errorf("GET %.120s: %d %.200q, want %d %.200q", tc.path, rec.Code, body, tc.status, tc.body)
			continue
		}
		wantCT := "text/plain"
		if tc.status == 200 && (strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[")) {
			wantCT = "application/json"
		}
		if ct := rec.Header().Get("Content-Type"); ct != wantCT {
			t.Errorf("GET %.120s: Content-Type %q, want %q", tc.path, ct, wantCT)
		}
		if len(body) > 1000 {
			t.Errorf("GET %.120s: a %d-byte answer", tc.path, len(body))
		}
	}
}

// reversedHex is the txid string of a hash written as hex: the bytes
// reversed, as chainhash prints them back.
func reversedHex(s string) string {
	b, _ := hex.DecodeString(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return hex.EncodeToString(b)
}

// mustURL parses a test path with its query, keeping a malformed query
// string raw (as the server would) instead of failing.
func mustURL(t testing.TB, target string) *url.URL {
	t.Helper()
	path, rawQuery, _ := strings.Cut(target, "?")
	u := &url.URL{RawQuery: rawQuery}
	p, err := url.PathUnescape(path)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	u.Path = p
	return u
}

// wrongVersion is a base58check string of 21 bytes, version 0x01.
func wrongVersion(t testing.TB) string { return base58Check(t, 0x01, 20) }

// wrongLength is a base58check string of 25 bytes, version 0x6f.
func wrongLength(t testing.TB) string { return base58Check(t, 0x6f, 24) }

func base58Check(t testing.TB, version byte, n int) string {
	t.Helper()
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i + 1)
	}
	return base58.CheckEncode(payload, version)
}

// TestRouteNames checks what the server's metrics see: route templates,
// whatever the parameters, and nothing for a path that is no route.
func TestRouteNames(t *testing.T) {
	c := rpctest.New(t, testConfig(), 20)
	h := New(c.Views, Options{})
	hex64 := strings.Repeat("ab", 32)
	for path, want := range map[string]string{
		"/blocks/tip/height":            "/blocks/tip/height",
		"/block-height/7":               "/block-height/:height",
		"/block-height/x":               "/block-height/:height",
		"/block/" + hex64 + "/status":   "/block/:hash/status",
		"/block/zz/header":              "/block/:hash/header",
		"/address/garbage":              "/address/:address",
		"/address/garbage/utxo?limit=0": "/address/:address/utxo",
		"/scripthash/" + hex64:          "/scripthash/:hash",
		"/scripthash/zz/utxo":           "/scripthash/:hash/utxo",
		"/block/" + hex64 + "/txids":    "/block/:hash/txids",
		"/block/zz/raw":                 "/block/:hash/raw",
		"/block/" + hex64 + "/txs":      "/block/:hash/txs",
		"/block/" + hex64 + "/txs/x":    "/block/:hash/txs/:start",
		"/tx/" + hex64 + "/outspend/7":  "/tx/:txid/outspend/:vout",
		"/tx/zz/outspend/x":             "/tx/:txid/outspend/:vout",
		"/tx/" + hex64:                  "",
		"/nope/" + hex64:                "",
	} {
		ctx, info := reqinfo.With(context.Background())
		r := (&http.Request{Method: http.MethodGet, URL: mustURL(t, path)}).WithContext(ctx)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if info.Route != want {
			t.Errorf("%s: route %q, want %q", path, info.Route, want)
		}
	}
}
