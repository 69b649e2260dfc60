package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/satnode/satnode/rpc/rpctest"
)

// fannedChain is a short chain whose last blocks pay n outputs to one
// P2PKH address, and that address.
func fannedChain(t *testing.T, n int) (*rpctest.Chain, string) {
	t.Helper()
	c := rpctest.New(t, testChainConfig(20), 20)
	a, err := btcutil.NewAddressPubKeyHash(bytes.Repeat([]byte{7}, 20), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		t.Fatal(err)
	}
	c.FanOut(script, n, 1000)
	return c, a.EncodeAddress()
}

func scanCall(id int, addr string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"scantxoutset","params":["start",["addr(%s)"]]}`, id, addr)
}

// batchReplies decodes a batch answer.
func batchReplies(t *testing.T, r reply) []rpcReply {
	t.Helper()
	var reps []rpcReply
	if err := json.Unmarshal(r.body, &reps); err != nil || r.status != 200 {
		t.Fatalf("batch: %d %.300s (%v)", r.status, r.body, err)
	}
	return reps
}

// TestBatchLimit: a batch longer than MaxBatch is refused whole, with
// -32600 naming the limit and the count; one of exactly MaxBatch runs.
func TestBatchLimit(t *testing.T) {
	c := rpctest.New(t, testChainConfig(10), 5)
	h := New(c.Views, Options{MaxBatch: 3})
	call := `{"jsonrpc":"2.0","id":1,"method":"getblockcount"}`
	if reps := batchReplies(t, post(h, "["+strings.Repeat(call+",", 2)+call+"]")); len(reps) != 3 || reps[2].Error != nil {
		t.Fatalf("batch of 3: %+v", reps)
	}
	r := post(h, "["+strings.Repeat(call+",", 3)+call+"]")
	var rep rpcReply
	if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 400 || rep.Error == nil ||
		rep.Error.Code != CodeInvalidRequest || string(rep.ID) != "null" {
		t.Fatalf("batch of 4: %d %s (%v)", r.status, r.body, err)
	}
	if msg := rep.Error.Message; !strings.Contains(msg, "batch of 4 calls exceeds the limit of 3") || !strings.Contains(msg, "max_batch") {
		t.Fatalf("batch of 4: message %q", msg)
	}
}

// TestReplyLimit: the reply cap is exact for scantxoutset (an answer of
// exactly MaxReplyBytes passes, one byte less fails), names
// max_reply_kb, and in a batch stops everything after the call that did
// not fit while what came before stands.
func TestReplyLimit(t *testing.T) {
	c, addr := fannedChain(t, 300)
	big := New(c.Views, Options{})
	full := post(big, scanCall(1, addr))
	var rep rpcReply
	if err := json.Unmarshal(full.body, &rep); err != nil || rep.Error != nil {
		t.Fatalf("uncapped scan: %.300s (%v)", full.body, err)
	}
	var r scanResult
	if err := json.Unmarshal(rep.Result, &r); err != nil || len(r.Unspents) != 300 {
		t.Fatalf("uncapped scan: %d unspents (%v)", len(r.Unspents), err)
	}
	// The hand-written reply is what encoding/json makes of scanResult.
	if again, _ := json.Marshal(&r); !bytes.Equal(again, rep.Result) {
		t.Fatalf("scantxoutset result differs from encoding/json's:\n%.400s\n%.400s", rep.Result, again)
	}
	size := len(full.body) - 1 // the handler adds a newline after the reply
	fits := New(c.Views, Options{MaxReplyBytes: size})
	if got := post(fits, scanCall(1, addr)); !bytes.Equal(got.body, full.body) {
		t.Fatalf("a reply of exactly the cap was refused: %.300s", got.body)
	}
	short := New(c.Views, Options{MaxReplyBytes: size - 1})
	rep = rpcReply{}
	if err := json.Unmarshal(post(short, scanCall(1, addr)).body, &rep); err != nil || rep.Error == nil ||
		rep.Error.Code != CodeReplyTooLarge {
		t.Fatalf("a reply one byte over the cap: %+v (%v)", rep.Error, err)
	}
	if msg, want := rep.Error.Message, fmt.Sprintf("Reply exceeds %d bytes (max_reply_kb)", size-1); !strings.HasPrefix(msg, want) {
		t.Fatalf("message %q, want it to start with %q", msg, want)
	}

	// A batch: two cheap calls fit, the scan does not, the calls after it
	// are not run, and a notification still gets no reply.
	h := New(c.Views, Options{MaxReplyBytes: 4096})
	body := `[{"jsonrpc":"2.0","id":"a","method":"getblockcount"},` + scanCall(2, addr) +
		`,{"jsonrpc":"2.0","method":"getblockcount"},{"id":3,"method":"getbestblockhash"},` + scanCall(4, addr) + `]`
	reps := batchReplies(t, post(h, body))
	if len(reps) != 4 || reps[0].Error != nil || string(reps[0].ID) != `"a"` {
		t.Fatalf("batch replies: %+v", reps)
	}
	for i, id := range []string{"2", "3", "4"} {
		e := reps[i+1]
		if e.Error == nil || e.Error.Code != CodeReplyTooLarge || string(e.ID) != id ||
			!strings.Contains(e.Error.Message, "Reply exceeds 4096 bytes (max_reply_kb)") {
			t.Fatalf("batch reply %d: %+v", i+1, e)
		}
		if notRun := strings.Contains(e.Error.Message, "not run"); notRun != (i > 0) {
			t.Fatalf("batch reply %d: %q", i+1, e.Error.Message)
		}
	}
	// The server answers afterwards.
	callOK(t, h, "getblockcount", `[]`, new(int))
}

// TestScanStopsEarly: over a script with far more outputs than fit, the
// scan gives up after reading about as many as the budget holds, not the
// whole list (the index read is where the memory goes).
func TestScanStopsEarly(t *testing.T) {
	c, addr := fannedChain(t, 30_000)
	h := New(c.Views, Options{MaxUTXOs: 1_000_000, MaxReplyBytes: 64 << 10})
	msg := callErr(t, h, "scantxoutset", `["start",["addr(`+addr+`)"]]`, CodeReplyTooLarge)
	if !strings.Contains(msg, "max_reply_kb") {
		t.Fatalf("message %q", msg)
	}
	// Without the early stop the scan would read all 30,000 entries (some
	// 6 MB of allocations); with it, about one index page.
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	post(h, `{"id":1,"method":"scantxoutset","params":["start",["addr(`+addr+`)"]]}`)
	runtime.ReadMemStats(&m1)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("a scan capped at 64 KiB allocated %d bytes", alloc)
	if alloc > 2<<20 {
		t.Fatalf("a capped scan allocated %d bytes: it reads past the budget", alloc)
	}
}

// TestManyDescriptors: scan objects are deduplicated in O(n log n): 15,000
// descriptors, most of them repeats, scan as the few distinct ones, and
// uniqueScripts handles 200,000 distinct scripts in well under the time a
// pairwise comparison would take.
func TestManyDescriptors(t *testing.T) {
	c, addr := fannedChain(t, 5)
	h := New(c.Views, Options{})
	objs := make([]string, 0, 15_000)
	for i := range 15_000 {
		switch i % 3 {
		case 0:
			objs = append(objs, `"addr(`+addr+`)"`)
		case 1:
			objs = append(objs, fmt.Sprintf(`"raw(51%02x)"`, i%50))
		default:
			objs = append(objs, `{"desc":"addr(`+addr+`)"}`)
		}
	}
	var r scanResult
	t0 := time.Now()
	callOK(t, h, "scantxoutset", `["start",[`+strings.Join(objs, ",")+`]]`, &r)
	t.Logf("15,000 scan objects in %v", time.Since(t0))
	if len(r.Unspents) != 5 {
		t.Fatalf("%d unspents, want the address's 5 once each", len(r.Unspents))
	}

	const n = 200_000
	scripts := make([][]byte, 0, 2*n)
	for i := range n {
		s := fmt.Appendf(nil, "script-%07d", (i*7919)%n)
		scripts = append(scripts, s, slices.Clone(s))
	}
	t0 = time.Now()
	got := uniqueScripts(scripts)
	elapsed := time.Since(t0)
	t.Logf("uniqueScripts of %d scripts in %v", 2*n, elapsed)
	if len(got) != n || !slices.IsSortedFunc(got, bytes.Compare) {
		t.Fatalf("%d unique scripts, want %d, sorted", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if bytes.Equal(got[i-1], got[i]) {
			t.Fatalf("repeat %q", got[i])
		}
	}
	// Pairwise, 400,000 scripts are 8e10 comparisons: minutes. Sorting is
	// well under a second; 10 s leaves room for a loaded machine.
	if elapsed > 10*time.Second {
		t.Fatalf("uniqueScripts took %v: not O(n log n)", elapsed)
	}
}
