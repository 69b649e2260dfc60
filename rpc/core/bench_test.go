package core

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/satnode/satnode/rpc/rpctest"
)

// BenchmarkGetTxOut measures the handler alone (no network) on the
// load-tested path: a legacy gettxout of a random unspent output.
func BenchmarkGetTxOut(b *testing.B) {
	c := rpctest.New(b, testChainConfig(130), 125)
	var bodies []string
	for _, blk := range c.Blocks[1:] {
		for _, tx := range blk.Transactions {
			for i := range tx.TxOut {
				bodies = append(bodies, `{"jsonrpc":"1.0","id":7,"method":"gettxout","params":["`+
					tx.TxHash().String()+`",`+strconv.Itoa(i)+`]}`)
			}
		}
	}
	h := New(c.Views, Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(bodies[rand.IntN(len(bodies))]))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Body)
			}
		}
	})
}

// BenchmarkHandleGetTxOut is the handler's own work for one gettxout:
// decoding, the view, the coin, the reply; no HTTP.
func BenchmarkHandleGetTxOut(b *testing.B) {
	c := rpctest.New(b, testChainConfig(130), 125)
	var bodies [][]byte
	for _, blk := range c.Blocks[1:] {
		for _, tx := range blk.Transactions {
			for i := range tx.TxOut {
				bodies = append(bodies, []byte(`{"jsonrpc":"1.0","id":7,"method":"gettxout","params":["`+
					tx.TxHash().String()+`",`+strconv.Itoa(i)+`]}`))
			}
		}
	}
	s := New(c.Views, Options{}).(*server)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cl := &call{s: s}
		status, _, _ := s.handle(cl, bodies[i%len(bodies)], buf[:0])
		cl.release()
		if status != 200 {
			b.Fatal(status)
		}
	}
}
