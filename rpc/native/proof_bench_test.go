package native_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// BenchmarkProofUTXO times GET /v1/proof/utxo through the handler (no
// network) for present and absent outpoints on the 150-block test chain,
// and reports p99 alongside ns/op.
func BenchmarkProofUTXO(b *testing.B) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 150
	c := rpctest.New(b, cfg, 120)
	h := native.New(c.Views, native.Options{})
	defer h.Close()
	tip := c.Blocks[len(c.Blocks)-1]
	for _, absent := range []bool{false, true} {
		b.Run(fmt.Sprintf("absent=%v", absent), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				path := fmt.Sprintf("/v1/proof/utxo/%s/0", tip.Transactions[i%len(tip.Transactions)].TxHash())
				if absent {
					path = fmt.Sprintf("/v1/proof/utxo/%064x/%d", i+1, i%7)
				}
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				lat = append(lat, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
		})
	}
}
