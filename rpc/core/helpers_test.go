package core

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/blockchain"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// testBodyLimit is the body cap the tests put in front of the handler, as
// the server does.
const testBodyLimit = 1 << 20

// limited wraps h with the server's http.MaxBytesReader.
func limited(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// reply is one HTTP exchange with the handler.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func post(h http.Handler, body string) reply {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	limited(h, testBodyLimit).ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// rpcReply is a decoded legacy or 2.0 reply.
type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// callOK posts a legacy call and decodes its result into out, failing the
// test on any error.
func callOK(t testing.TB, h http.Handler, method string, params string, out any) {
	t.Helper()
	r := post(h, `{"id":1,"method":"`+method+`","params":`+params+`}`)
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 || rep.Error != nil {
		t.Fatalf("%s %s: %d %s (%v)", method, params, r.status, r.body, err)
	}
	if out != nil {
		if err := json.Unmarshal(rep.Result, out); err != nil {
			t.Fatalf("%s %s: result %s: %v", method, params, rep.Result, err)
		}
	}
}

// callErr posts a legacy call that must fail with code, and returns the
// message.
func callErr(t testing.TB, h http.Handler, method string, params string, code int) string {
	t.Helper()
	r := post(h, `{"id":1,"method":"`+method+`","params":`+params+`}`)
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil || rep.Error == nil || rep.Error.Code != code {
		t.Fatalf("%s %s: %d %s, want error %d (%v)", method, params, r.status, r.body, code, err)
	}
	return rep.Error.Message
}

// sameJSON reports whether two JSON texts are the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// testChainConfig is a chaingen chain of n blocks with few transactions,
// so tests build it in well under a second.
func testChainConfig(n int) chaingen.Config {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = n
	cfg.TxsPerBlock = 8
	cfg.PreActivationTxsPerBlock = 4
	return cfg
}

// withWork publishes, into fresh Views, a view of c's current state with
// TipWork set to the chain's real cumulative work (rpctest leaves it
// zero), so that chainwork answers can be checked. The snapshot is
// released with the Views at the end of the test.
func withWork(t testing.TB, c *rpctest.Chain) *app.Views {
	t.Helper()
	cur, err := c.Views.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Release()
	work := new(big.Int)
	for _, b := range c.Blocks {
		work.Add(work, blockchain.CalcWork(b.Header.Bits))
	}
	snap, err := c.Store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	v := &app.View{ChainID: cur.ChainID, Height: cur.Height, Time: cur.Time, Params: cur.Params,
		FinalityDepth: cur.FinalityDepth, Tip: cur.Tip, Final: cur.Final, BestHeader: cur.BestHeader,
		Endorsed: cur.Endorsed}
	work.FillBytes(v.TipWork[:])
	views := &app.Views{}
	views.Publish(v, snap, nil)
	t.Cleanup(func() {
		// Drop this test's reference and the Views' own, which frees the
		// snapshot before the store closes (rpctest's cleanup, registered
		// earlier, runs later).
		if v, err := views.Acquire(); err == nil {
			v.Release()
			v.Release()
		}
	})
	return views
}
