package rpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/node/btcnode/btcdtest"
	"github.com/satnode/satnode/rpc/rpctest"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/query"
)

// The load benchmarks run closed-loop load on loopback for a fixed time
// (SATNODE_LOAD_SECONDS, default 10) rather than b.N iterations, and report
// throughput and latency percentiles as custom metrics. Run them once:
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 1x ./rpc/
//
// (make bench-rpc). The load generator shares the 2-core machine with the
// server, as a client on the same host would.
func loadSeconds() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SATNODE_LOAD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 10 * time.Second
}

func startServer(tb testing.TB, c *rpctest.Chain, cfg Config) *Server {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := New(cfg, c.Views)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// unspentOutpoints lists the chain's unspent outputs at its tip.
func unspentOutpoints(tb testing.TB, c *rpctest.Chain) []utxo.Outpoint {
	tb.Helper()
	v, err := c.Views.Acquire()
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Release()
	var ops []utxo.Outpoint
	for _, b := range c.Blocks[1:] {
		for _, tx := range b.Transactions {
			h := tx.TxHash()
			for i := range tx.TxOut {
				op := utxo.Outpoint{Hash: h, Index: uint32(i)}
				if _, err := v.Reader.Coin(op); err == nil {
					ops = append(ops, op)
				}
			}
		}
	}
	return ops
}

func reportLoad(b *testing.B, name string, r loadResult) {
	b.Logf("%s: %s", name, r)
	if r.FirstErr != nil {
		b.Errorf("%s: %d errors, first: %v", name, r.Errors, r.FirstErr)
	}
	b.ReportMetric(r.perSecond(), name+"-req/s")
	b.ReportMetric(float64(r.P50.Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, name+"-p99-ms")
}

// gettxoutCheck accepts a JSON-RPC answer whose result is an object. It
// looks at bytes, not a full parse, so that the load generator stays
// light; the answers' content is checked by rpc/core's tests.
func gettxoutCheck(status int, body []byte) error {
	// btcd puts "jsonrpc" first, satnode answers as Core does.
	if status != 200 || !bytes.Contains(body, []byte(`"result":{"bestblock":"`)) || !bytes.Contains(body, []byte(`"error":null`)) {
		return fmt.Errorf("bad gettxout answer: status %d: %.200s", status, body)
	}
	return nil
}

// BenchmarkLoadGetTxOut is the load goal: gettxout throughput and
// p99 at concurrency 64, against satnode and, in the same run and for the
// same chain and outpoints, against btcd (the peer).
func BenchmarkLoadGetTxOut(b *testing.B) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 600
	c := rpctest.New(b, cfg, 600)
	compact(b, c)
	ops := unspentOutpoints(b, c)
	b.Logf("chain of %d blocks, %d unspent outpoints", c.Tip(), len(ops))
	var reqs [][3]string
	for i, op := range ops {
		reqs = append(reqs, [3]string{"POST", "/", string(jsonRPC(i, "gettxout", chainhash.Hash(op.Hash).String(), op.Index))})
	}
	dur := loadSeconds()
	// The floor: net/http answering a fixed gettxout reply without reading
	// anything, under the same load generator. No server built on net/http
	// does better on this machine; it puts satnode's numbers in proportion.
	floor := floorServer(b)
	fl := runLoad(loadSpec{addr: floor, conc: 64, dur: dur, request: pick(reqs), check: gettxoutCheck})
	reportLoad(b, "nethttp-floor", fl)
	srv := startServer(b, c, Config{MaxConns: 256})
	sat := runLoad(loadSpec{addr: srv.Addr(), conc: 64, dur: dur, request: pick(reqs), check: gettxoutCheck})
	reportLoad(b, "satnode", sat)

	if os.Getenv("SATNODE_LOAD_NO_BTCD") != "" {
		return
	}
	// btcd with the same chain, its RPC limits raised so that 64 clients
	// are served rather than refused.
	btcd := btcdtest.Start(b, btcdtest.Options{ExtraArgs: []string{"--rpcmaxclients=256", "--rpcmaxconcurrentreqs=256"}})
	ctx := context.Background()
	for _, blk := range c.Blocks[1:] {
		if err := btcd.SubmitBlock(ctx, serialize(b, blk)); err != nil {
			b.Fatal(err)
		}
	}
	bt := runLoad(loadSpec{addr: btcd.RPCAddr, conc: 64, dur: dur, request: pick(reqs), check: gettxoutCheck,
		user: btcd.User, password: btcd.Password})
	reportLoad(b, "btcd", bt)
	b.ReportMetric(sat.perSecond()/bt.perSecond(), "satnode/btcd-throughput")
	b.Logf("satnode/btcd throughput ratio %.2f; p99 %v vs %v", sat.perSecond()/bt.perSecond(), sat.P99, bt.P99)
}

// BenchmarkLoadAddressUTXOPage: p99 of paged /address/:addr/utxo for an
// address with over 100k unspent outputs, walking its pages from random
// cursors at concurrency 8.
func BenchmarkLoadAddressUTXOPage(b *testing.B) {
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 220
	cfg.TxsPerBlock = 1500
	cfg.PreActivationTxsPerBlock = 1500
	// One hot legacy address takes 90% of the outputs (legacy, so that it
	// gets them before segwit activates at 432).
	cfg.Hot = []chaingen.HotAddress{{KeyIndex: 0, Type: chaingen.ScriptP2PKH, Weight: 1}}
	cfg.HotShare = 0.9
	c := rpctest.New(b, cfg, 220)
	compact(b, c)
	addr, count, cursors := hotAddress(b, c)
	b.Logf("address %s has %d unspent outputs", addr, count)
	if count < 100_000 {
		b.Fatalf("the hot address has %d unspent outputs, want ≥ 100k", count)
	}
	const page = 1000
	srv := startServer(b, c, Config{MaxPage: page})
	var reqs [][3]string
	for _, after := range cursors {
		reqs = append(reqs, [3]string{"GET", "/address/" + addr + "/utxo?limit=" + strconv.Itoa(page) + "&after=" + after, ""})
	}
	for _, conc := range []int{1, 8} {
		r := runLoad(loadSpec{addr: srv.Addr(), conc: conc, dur: loadSeconds(), request: pick(reqs), check: jsonArrayCheck})
		reportLoad(b, fmt.Sprintf("page1000-c%d", conc), r)
	}
}

// hotAddress finds the address with the most unspent outputs among the
// last block's outputs, its count, and cursors spread over its outputs.
func hotAddress(tb testing.TB, c *rpctest.Chain) (addr string, count uint64, cursors []string) {
	tb.Helper()
	v, err := c.Views.Acquire()
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Release()
	var best []byte
	for _, tx := range c.Blocks[c.Tip()].Transactions {
		for _, out := range tx.TxOut {
			st, err := v.Reader.ScriptHashStats(query.ScriptHashOf(out.PkScript))
			if err != nil {
				tb.Fatal(err)
			}
			if st.UTXOCount() > count {
				best, count = out.PkScript, st.UTXOCount()
			}
		}
	}
	spk := query.DescribeScript(best, v.Params.Chain)
	if spk.Address == "" {
		tb.Fatalf("the busiest script %s has no address", spk.Hex)
	}
	sh := query.ScriptHashOf(best)
	var after *utxo.Outpoint
	for {
		page, next, err := v.Reader.ScriptHashUnspent(sh, after, 997)
		if err != nil {
			tb.Fatal(err)
		}
		cursors = append(cursors, page[0].Outpoint.String())
		if next == nil {
			break
		}
		after = next
	}
	return spk.Address, count, cursors
}

func serialize(tb testing.TB, blk interface{ Serialize(w io.Writer) error }) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := blk.Serialize(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// compact moves the freshly written store out of goleveldb's memtable into
// tables, where a node's long-lived data is: lookups then go through the
// bloom filters and the block cache as they do in production, rather than
// through a skip list of everything written.
func compact(tb testing.TB, c *rpctest.Chain) {
	tb.Helper()
	s, ok := c.Store.(*leveldbstore.Store)
	if !ok {
		tb.Fatalf("rpctest store is %T, not leveldb", c.Store)
	}
	if err := s.Compact(); err != nil {
		tb.Fatal(err)
	}
	c.Commit() // a view of the compacted store
}

// pick sends random requests from reqs ([method, path, body] each).
func pick(reqs [][3]string) func(w, i int) (string, string, []byte) {
	bodies := make([][]byte, len(reqs))
	for i, q := range reqs {
		bodies[i] = []byte(q[2])
	}
	return func(w, i int) (string, string, []byte) {
		k := rand.IntN(len(reqs))
		return reqs[k][0], reqs[k][1], bodies[k]
	}
}

// jsonArrayCheck accepts a 200 whose body is a non-empty JSON array.
func jsonArrayCheck(status int, body []byte) error {
	if status != 200 || !bytes.HasPrefix(body, []byte(`[{`)) || !bytes.HasSuffix(body, []byte(`}]`)) {
		return fmt.Errorf("bad page: status %d: %.200s", status, body)
	}
	return nil
}

// floorServer serves a constant gettxout answer with a bare net/http
// server and returns its address.
func floorServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	reply := []byte(`{"result":{"bestblock":"00","confirmations":1},"error":null,"id":1}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	})}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
