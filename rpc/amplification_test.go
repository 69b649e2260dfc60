package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/rpc/core"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestRPCAmplification is issue 11's "RPC amplification" scenario, against
// the real server on loopback over a store where one address holds
// 100,000 unspent outputs:
//
//	(a) one JSON-RPC batch of 100,000 calls;
//	(b) a ~1 MiB body of scantxoutset calls on that address (a batch of
//	    max_batch calls, each naming the address many times), which
//	    without the reply cap asks for ~1000 × 33 MB.
//
// Each gets a clear error naming the limit, the server answers a probe
// throughout and afterwards, and the heap stays bounded: a sampler reads
// HeapInuse every few milliseconds and the peak's growth over the
// baseline must stay under 512 MiB (it is a few tens of MiB). The server
// runs with max_utxos raised to 200,000 and an 8 MiB body cap, as an
// operator might set them, so that the batch and reply caps, not the
// older limits, are what stop the requests; (b) is repeated against the
// defaults, where max_utxos refuses each call.
func TestRPCAmplification(t *testing.T) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 20
	c := rpctest.New(t, cfg, 20)
	a, err := btcutil.NewAddressPubKeyHash(bytes.Repeat([]byte{0xa5}, 20), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.FanOut(script, 100_000, 1000)
	addr, count, _ := hotAddress(t, c)
	if addr != a.EncodeAddress() || count != 100_000 {
		t.Fatalf("busiest address %s with %d outputs, want %s with 100,000", addr, count, a.EncodeAddress())
	}
	t.Logf("store with %d unspent outputs for %s built in %v", count, addr, time.Since(t0).Round(time.Millisecond))

	raised := startServer(t, c, Config{MaxUTXOs: 200_000, MaxBodyBytes: 8 << 20})
	defaults := startServer(t, c, Config{})
	mem := startHeapSampler()
	defer mem.stop()
	hwm0 := vmHWM()

	// A probe keeps asking a cheap question on its own connection while
	// the big requests run.
	probe := startProbe(t, raised.Addr(), c.Tip())

	// (a) 100,000 calls in one batch (about 5 MB).
	var batch bytes.Buffer
	batch.WriteByte('[')
	for i := range 100_000 {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"jsonrpc":"2.0","id":%d,"method":"getblockcount"}`, i)
	}
	batch.WriteByte(']')
	ta := time.Now()
	status, body := postRPC(t, raised.Addr(), batch.Bytes())
	da := time.Since(ta)
	var rep struct {
		Error *core.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || status != http.StatusBadRequest || rep.Error == nil ||
		rep.Error.Code != core.CodeInvalidRequest ||
		!strings.Contains(rep.Error.Message, "batch of 100000 calls exceeds the limit of 1000 calls per request (max_batch)") {
		t.Fatalf("(a) batch of 100,000: %d %.300s (%v)", status, body, err)
	}
	aMsg := rep.Error.Message

	// (b) ~1 MiB of scantxoutset calls: 1000 calls (max_batch), each
	// naming the address 22 times.
	objs := strings.TrimSuffix(strings.Repeat(`"addr(`+addr+`)",`, 22), ",")
	var scans bytes.Buffer
	scans.WriteByte('[')
	for i := range core.DefaultMaxBatch {
		if i > 0 {
			scans.WriteByte(',')
		}
		fmt.Fprintf(&scans, `{"jsonrpc":"2.0","id":%d,"method":"scantxoutset","params":["start",[%s]]}`, i, objs)
	}
	scans.WriteByte(']')
	if n := scans.Len(); n < 900<<10 || n > 1<<20 {
		t.Fatalf("scan body is %d bytes, want about 1 MiB", n)
	}
	tb := time.Now()
	status, body = postRPC(t, raised.Addr(), scans.Bytes())
	db := time.Since(tb)
	replies := checkScanBatch(t, "(b) reply cap", status, body, core.CodeReplyTooLarge,
		fmt.Sprintf("Reply exceeds %d bytes (max_reply_kb)", core.DefaultMaxReplyBytes))
	bMsg := replies[0].Error.Message

	// (b) against the defaults: max_utxos refuses every call at once.
	tc := time.Now()
	status, body2 := postRPC(t, defaults.Addr(), scans.Bytes())
	dc := time.Since(tc)
	cMsg := checkScanBatch(t, "(b) defaults", status, body2, core.CodeInvalidParameter,
		"more than 1000 unspent outputs")[0].Error.Message

	probes, worst, perr := probe.stop()
	if perr != nil {
		t.Fatalf("the server stopped answering during the requests: %v", perr)
	}
	// And afterwards.
	for _, s := range []*Server{raised, defaults} {
		status, body := postRPC(t, s.Addr(), []byte(`{"jsonrpc":"2.0","id":1,"method":"getblockcount"}`))
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"result":`+strconv.Itoa(int(c.Tip())))) {
			t.Fatalf("after the requests: %d %s", status, body)
		}
	}
	peak, base := mem.stop()
	hwm1 := vmHWM()
	const mib = 1 << 20
	growth := int64(peak) - int64(base)
	t.Logf("RPC AMPLIFICATION: (a) 100000-call batch (%d bytes): HTTP 400 in %v: %q", batch.Len(), da.Round(time.Millisecond), aMsg)
	t.Logf("RPC AMPLIFICATION: (b) %d-byte body of %d scantxoutset calls on a 100000-UTXO address: HTTP 200, %d-byte reply in %v; first: %q",
		scans.Len(), core.DefaultMaxBatch, len(body), db.Round(time.Millisecond), bMsg)
	t.Logf("RPC AMPLIFICATION: (b, defaults) HTTP 200, %d-byte reply in %v; first: %q", len(body2), dc.Round(time.Millisecond), cMsg)
	t.Logf("RPC AMPLIFICATION: peak HeapInuse %.1f MiB (baseline %.1f MiB, growth %.1f MiB); VmHWM %.1f -> %.1f MiB; "+
		"%d probes answered meanwhile, slowest %v",
		float64(peak)/mib, float64(base)/mib, float64(growth)/mib, float64(hwm0)/mib, float64(hwm1)/mib, probes, worst.Round(time.Millisecond))
	if growth > 512*mib {
		t.Fatalf("heap grew by %d MiB during the requests", growth/mib)
	}
}

// checkScanBatch checks a batch answer in which every call failed with
// code and a message containing want, and returns the replies.
func checkScanBatch(t *testing.T, what string, status int, body []byte, code int, want string) []struct {
	Error *core.Error `json:"error"`
	ID    int         `json:"id"`
} {
	t.Helper()
	var reps []struct {
		Error *core.Error `json:"error"`
		ID    int         `json:"id"`
	}
	if err := json.Unmarshal(body, &reps); err != nil || status != http.StatusOK || len(reps) != core.DefaultMaxBatch {
		t.Fatalf("%s: %d, %d replies: %.300s (%v)", what, status, len(reps), body, err)
	}
	for i, r := range reps {
		if r.ID != i || r.Error == nil || r.Error.Code != code || !strings.Contains(r.Error.Message, want) {
			t.Fatalf("%s: reply %d: %+v, want error %d with %q", what, i, r, code, want)
		}
	}
	return reps
}

// postRPC posts a JSON-RPC body on a fresh connection.
func postRPC(t *testing.T, addr string, body []byte) (int, []byte) {
	t.Helper()
	cl := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Post("http://"+addr+"/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// heapSampler records the peak of runtime.MemStats.HeapInuse.
type heapSampler struct {
	base, peak atomic.Uint64
	done       chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapSampler{done: make(chan struct{})}
	h.base.Store(ms.HeapInuse)
	h.peak.Store(ms.HeapInuse)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
		}
	}()
	return h
}

// stop ends the sampling and returns the peak and the baseline.
func (h *heapSampler) stop() (peak, base uint64) {
	h.once.Do(func() { close(h.done); h.wg.Wait() })
	return h.peak.Load(), h.base.Load()
}

// vmHWM is the process's peak resident set (Linux), 0 where unknown.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// prober asks getblockcount every 20 ms on its own keep-alive connection
// until stopped.
type prober struct {
	done  chan struct{}
	wg    sync.WaitGroup
	n     int
	worst time.Duration
	err   error
}

func startProbe(t *testing.T, addr string, tip int32) *prober {
	p := &prober{done: make(chan struct{})}
	want := []byte(`"result":` + strconv.Itoa(int(tip)))
	cl := &http.Client{Timeout: 30 * time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for p.err == nil {
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			t0 := time.Now()
			resp, err := cl.Post("http://"+addr+"/", "application/json",
				strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"getblockcount"}`))
			if err != nil {
				p.err = err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, want) {
				p.err = fmt.Errorf("probe: %d %s (%v)", resp.StatusCode, body, err)
				return
			}
			p.n++
			p.worst = max(p.worst, time.Since(t0))
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *prober) stop() (int, time.Duration, error) {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
	return p.n, p.worst, p.err
}
