package native

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// FuzzRequest feeds arbitrary paths to the handler over a real chain and
// arbitrary bytes to the stream's message decoder: never a panic, only the
// documented statuses, and always a JSON body.
func FuzzRequest(f *testing.F) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 110
	c := rpctest.New(f, cfg, 105)
	h := New(c.Views, Options{})
	f.Cleanup(h.Close)
	for _, p := range []string{"/v1/status", "/v1/utxo/" + c.Blocks[5].Transactions[0].TxHash().String() + "/0",
		"/v1/utxo/zz/1", "/v1/utxo/00/-1", "/v1/block/100/stats", "/v1/block/0100/stats",
		"/v1/block/" + c.Blocks[3].BlockHash().String() + "/stats", "/v1/endorsements", "/v1/validators",
		"/v1/synchronizers", "/v1/", "/v1//utxo", "/v1/block/99999999999999999999/stats"} {
		f.Add(p, []byte(`{"op":"subscribe","scripthashes":["`+strings.Repeat("ab", 32)+`"]}`))
	}
	f.Add("/v1/status", []byte(`{"op":"subscribe","addresses":["bcrt1qxyz", 5]}`))
	f.Add("/v1/status", []byte(`{"op":"unsubscribe","scripthashes":null,"id":{"a":[1,2]}}`))
	f.Add("/v1/status", []byte(`[`))
	f.Fuzz(func(t *testing.T, path string, msg []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
			return // not a request line net/http would hand over
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // net/http answers 400 itself before any handler runs
		}
		req := httptest.NewRequest(http.MethodGet, "http://satnode"+path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405, 503:
		default:
			t.Fatalf("GET %q: status %d", path, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("GET %q: body is not JSON: %q", path, rec.Body.Bytes())
		}
		var m clientMsg
		if json.Unmarshal(msg, &m) == nil {
			_, _ = h.hub.parse(&m)
		}
	})
}
