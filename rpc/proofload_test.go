package rpc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// proofCheck accepts a 200 that carries a proof chained to an app hash.
func proofCheck(status int, body []byte) error {
	if status != 200 || !bytes.Contains(body, []byte(`"app_hash"`)) || !bytes.Contains(body, []byte(`"unspent"`)) {
		return fmt.Errorf("bad proof answer: status %d: %.200s", status, body)
	}
	return nil
}

// proofRequests are GET /v1/proof/utxo paths: three in four for unspent
// outpoints, one in four for made-up ones (non-membership, two
// neighbours proven).
func proofRequests(tb testing.TB, c *rpctest.Chain) [][3]string {
	ops := unspentOutpoints(tb, c)
	rng := rand.New(rand.NewPCG(5, 6))
	var reqs [][3]string
	for _, op := range ops {
		reqs = append(reqs, [3]string{"GET", fmt.Sprintf("/v1/proof/utxo/%s/%d", chainhash.Hash(op.Hash), op.Index), ""})
		if rng.IntN(3) == 0 {
			var h chainhash.Hash
			for i := range h {
				h[i] = byte(rng.UintN(256))
			}
			reqs = append(reqs, [3]string{"GET", fmt.Sprintf("/v1/proof/utxo/%s/%d", h, rng.IntN(4)), ""})
		}
	}
	return reqs
}

// BenchmarkLoadProofUTXO is issue 13's goal "proof generation p99 ≤ 2 ms
// under load", measured two ways on the chain and store of
// BenchmarkLoadGetTxOut:
//
//   - generation: the proof handler called in process by as many
//     goroutines as there are cores, each timing its own calls, so the
//     CPU is saturated but no request waits in a queue behind others;
//   - over loopback at concurrency 8 and 64, with gettxout at 64 and the
//     net/http floor in the same run: what a client sees, queueing
//     included (at 64 clients on 2 cores the floor's own p99 is several
//     ms, so that number measures the scheduler as much as the proofs).
func BenchmarkLoadProofUTXO(b *testing.B) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 600
	c := rpctest.New(b, cfg, 600)
	compact(b, c)
	reqs := proofRequests(b, c)
	b.Logf("chain of %d blocks, %d proof requests (a quarter of them for absent outpoints)", c.Tip(), len(reqs))
	dur := loadSeconds()

	h := native.New(c.Views, native.Options{})
	defer h.Close()
	workers := runtime.GOMAXPROCS(0)
	lats := make([][]time.Duration, workers)
	var sizes []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; time.Now().Before(deadline); i++ {
				q := reqs[rng.IntN(len(reqs))]
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q[1], nil))
				lats[w] = append(lats[w], time.Since(t0))
				if err := proofCheck(rec.Code, rec.Body.Bytes()); err != nil {
					b.Error(err)
					return
				}
				if i%100 == 0 {
					mu.Lock()
					sizes = append(sizes, rec.Body.Len())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lats...)
	slices.Sort(all)
	slices.Sort(sizes)
	p := func(q int) time.Duration { return all[min(len(all)-1, len(all)*q/100)] }
	b.Logf("generation, %d goroutines in process: %d proofs in %v (%.0f/s), p50 %v, p99 %v, max %v; JSON answer median %d B",
		workers, len(all), dur, float64(len(all))/dur.Seconds(), p(50), p(99), all[len(all)-1], sizes[len(sizes)/2])
	b.ReportMetric(float64(len(all))/dur.Seconds(), "generation-proofs/s")
	b.ReportMetric(float64(p(99).Microseconds())/1000, "generation-p99-ms")

	floor := floorServer(b)
	fl := runLoad(loadSpec{addr: floor, conc: 64, dur: dur, request: pick([][3]string{{"GET", "/", ""}}), check: gettxoutCheck})
	reportLoad(b, "nethttp-floor-c64", fl)
	srv := startServer(b, c, Config{MaxConns: 256})
	for _, conc := range []int{8, 64} {
		r := runLoad(loadSpec{addr: srv.Addr(), conc: conc, dur: dur, request: pick(reqs), check: proofCheck})
		reportLoad(b, fmt.Sprintf("proof-c%d", conc), r)
	}
	var txouts [][3]string
	for i, op := range unspentOutpoints(b, c) {
		txouts = append(txouts, [3]string{"POST", "/", string(jsonRPC(i, "gettxout", chainhash.Hash(op.Hash).String(), op.Index))})
	}
	g := runLoad(loadSpec{addr: srv.Addr(), conc: 64, dur: dur, request: pick(txouts), check: gettxoutCheck})
	reportLoad(b, "gettxout-c64", g)
}
