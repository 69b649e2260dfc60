package native_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
	"github.com/gorilla/websocket"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/memstore"
	"github.com/satnode/satnode/utxo/query"
)

// publish publishes a synthetic commit at satnode height ch whose one
// block, at Bitcoin height ch+100, pays coins outputs to sh (no event if
// coins < 0). The store is empty: these tests are about the stream.
func publish(t *testing.T, views *app.Views, ch int64, sh [32]byte, coins int) {
	t.Helper()
	height := int32(ch + 100)
	bc := &utxo.BlockChange{Connected: true, Height: height, Hash: hashOf(fmt.Sprint(height)), Txs: 1,
		Header: wire.BlockHeader{PrevBlock: hashOf(fmt.Sprint(height - 1)), Timestamp: time.Unix(1700000000+ch, 0)}}
	for i := range coins {
		bc.Created = append(bc.Created, utxo.CoinChange{Outpoint: utxo.Outpoint{Hash: bc.Hash, Index: uint32(i)},
			ScriptHash: sh, Value: int64(1000 + i), Height: height})
	}
	v := &app.View{ChainID: "synthetic", Height: ch, Params: utxo.RegTest(), FinalityDepth: 6,
		Tip: app.BlockRef{Height: height, Hash: bc.Hash}}
	snap, err := memstore.New().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var ev *app.Event
	if coins >= 0 {
		ev = &app.Event{Height: ch, Tip: v.Tip, Blocks: []*utxo.BlockChange{bc}}
	}
	views.Publish(v, snap, ev)
}

func scriptHash(s string) (sh [32]byte, hexed string) {
	sh = sha256.Sum256([]byte(s))
	return sh, hex.EncodeToString(sh[:])
}

func subscribe(w *wsClient, hexes ...string) *msg {
	w.t.Helper()
	w.send(map[string]any{"op": "subscribe", "scripthashes": hexes})
	return w.expect("subscribed")
}

// flood publishes commits of 1000 coins to sh, one at a time, checking
// that fast gets each within the deadline, until the handler has closed a
// slow client (and five more, to show the others go on). It returns the
// last satnode height published.
func flood(t *testing.T, h *native.Handler, views *app.Views, fast *wsClient, sh [32]byte, from int64) int64 {
	t.Helper()
	closedAt := int64(-1)
	for ch := from; ch < from+400; ch++ {
		t0 := time.Now()
		publish(t, views, ch, sh, 1000)
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("publishing took %v", d)
		}
		if m := fast.expect("block_connected"); m.At.ChainHeight != ch {
			t.Fatalf("fast client got %s for commit %d", m.raw, ch)
		}
		if m := fast.expect("scripthash"); len(m.Funded) != 1000 {
			t.Fatalf("fast client got %d coins", len(m.Funded))
		}
		if closedAt < 0 && h.StreamStats().SlowClosed > 0 {
			closedAt = ch
			t.Logf("slow client closed after %d commits of 1000 coins", ch-from+1)
		}
		if closedAt >= 0 && ch >= closedAt+5 {
			return ch
		}
	}
	t.Fatalf("no client closed as slow after 400 commits; stats %+v", h.StreamStats())
	return 0
}

// TestSlowClient: a client that stops reading is closed with 1008 once its
// queue is full, while another client and the publisher go on unhindered.
func TestSlowClient(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{QueueLen: 8, WriteTimeout: waitFor})
	sh, shHex := scriptHash("slow")
	slow := dial(t, srv)
	slow.expect("hello")
	subscribe(slow, shHex)
	fast := dial(t, srv)
	fast.expect("hello")
	subscribe(fast, shHex)

	flood(t, h, views, fast, sh, 2)
	if st := h.StreamStats(); st.Lagged != 0 || st.SlowClosed != 1 || st.Connections != 1 || st.Subscriptions != 1 {
		t.Fatalf("stats %+v", st)
	}
	// What was already on its way still arrives, then the reason.
	t0 := time.Now()
	code, text := slow.closeCode(1000)
	t.Logf("slow client read to the close frame in %v", time.Since(t0))
	if code != websocket.ClosePolicyViolation || !strings.Contains(text, "slow") {
		t.Fatalf("slow client closed with %d %q", code, text)
	}
}

// TestCloseStuckClient: Close returns promptly even when a writer is stuck
// on a client that does not read, though WriteTimeout is long.
func TestCloseStuckClient(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{QueueLen: 8, WriteTimeout: time.Minute})
	sh, shHex := scriptHash("stuck")
	slow := dial(t, srv)
	slow.expect("hello")
	subscribe(slow, shHex)
	fast := dial(t, srv)
	fast.expect("hello")
	subscribe(fast, shHex)
	flood(t, h, views, fast, sh, 2)
	t0 := time.Now()
	h.Close()
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if st := h.StreamStats(); st.Connections != 0 || st.Subscriptions != 0 {
		t.Fatalf("stats after Close %+v", st)
	}
	if code, _ := fast.closeCode(100); code != websocket.CloseGoingAway {
		t.Fatalf("fast client closed with %d", code)
	}
}

// TestStreamLag: when the dispatcher falls behind the commits, every
// client is told and closed with 1013, and new clients are served again.
func TestStreamLag(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{EventBuffer: 1, QueueLen: 10000})
	sh, shHex := scriptHash("lag")
	w := dial(t, srv)
	w.expect("hello")
	subscribe(w, shHex)
	// Commits as fast as they can be published, each costing the
	// dispatcher more than publishing it does.
	ch := int64(2)
	for ; ch < 5000 && h.StreamStats().Lagged == 0; ch++ {
		publish(t, views, ch, sh, 100)
	}
	if h.StreamStats().Lagged == 0 {
		t.Fatal("the dispatcher never lagged")
	}
	var last *msg
	for range 100000 {
		m, err := w.read()
		if err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != websocket.CloseTryAgainLater {
				t.Fatalf("lagged client ended with %v", err)
			}
			break
		}
		last = m
	}
	if last == nil || last.Type != "error" || !strings.Contains(last.Error, "lagged") {
		t.Fatalf("last message before the close: %+v", last)
	}
	// A new client starts from the latest commit and gets the next one.
	w2 := dial(t, srv)
	if hello := w2.expect("hello"); hello.At == nil || hello.At.ChainHeight != ch-1 {
		t.Fatalf("hello after the lag %s, want commit %d", hello.raw, ch-1)
	}
	subscribe(w2, shHex)
	publish(t, views, ch, sh, 2)
	if m := w2.expect("block_connected"); m.At.ChainHeight != ch {
		t.Fatalf("got %s", m.raw)
	}
	if m := w2.expect("scripthash"); len(m.Funded) != 2 {
		t.Fatalf("got %s", m.raw)
	}
	if st := h.StreamStats(); st.Connections != 1 || st.Lagged != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStreamBeforeFirstCommit: the stream works before there is any
// state, by script hash; the first commit's changes all arrive.
func TestStreamBeforeFirstCommit(t *testing.T) {
	views := &app.Views{}
	_, srv := serve(t, views, native.Options{})
	w := dial(t, srv)
	if hello := w.expect("hello"); hello.At != nil {
		t.Fatalf("hello %s before any commit", hello.raw)
	}
	w.send(map[string]any{"op": "subscribe", "addresses": []string{"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}})
	if e := w.expect("error"); !strings.Contains(e.Error, "first commit") {
		t.Fatalf("address before the first commit: %s", e.raw)
	}
	sh, shHex := scriptHash("early")
	if r := subscribe(w, shHex); r.At != nil {
		t.Fatalf("subscribed %s", r.raw)
	}
	publish(t, views, 1, sh, 3)
	if m := w.expect("block_connected"); m.Height != 101 || m.At.ChainHeight != 1 {
		t.Fatalf("got %s", m.raw)
	}
	if m := w.expect("scripthash"); len(m.Funded) != 3 || m.Funded[2].Value != 1002 {
		t.Fatalf("got %s", m.raw)
	}
}

// TestStreamBadInput: bad requests get error replies and leave the
// connection usable; only oversized or repeatedly non-JSON messages close
// it.
func TestStreamBadInput(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{MaxSubscriptions: 3, ReadLimit: 4096})
	w := dial(t, srv)
	if hello := w.expect("hello"); hello.MaxSubscriptions != 3 || hello.At == nil || hello.At.ChainHeight != 1 {
		t.Fatalf("hello %s", hello.raw)
	}
	var shs []string
	for i := range 5 {
		_, s := scriptHash(fmt.Sprint(i))
		shs = append(shs, s)
	}
	mainnet := "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
	for _, c := range []struct {
		send string
		want string // in the error
	}{
		{`{"op":"subscribe","id":7,"scripthashes":["zz"]}`, "scripthashes[0]"},
		{`{"op":"subscribe","id":7,"scripthashes":["` + shs[0][:63] + `"]}`, "64 hex"},
		{`{"op":"subscribe","id":7,"scripthashes":["` + shs[0] + `"],"addresses":["notanaddress"]}`, "addresses[0]"},
		{`{"op":"subscribe","id":7,"addresses":["` + mainnet + `"]}`, "regtest"},
		{`{"op":"subscribe","id":7,"scripthashes":["` + strings.Join(shs[:4], `","`) + `"]}`, "too many"},
		{`{"op":"subscribe","id":7}`, "nothing"},
		{`{"op":"subscribe","id":7,"scripthashes":[null]}`, "scripthashes[0]"},
		{`{"op":"bogus","id":7}`, "unknown op"},
		{`{"id":7}`, "unknown op"},
		{`{"op":"subscribe","scripthashes":5}`, "bad message"},
		{`[1,2]`, "bad message"},
		{`"subscribe"`, "bad message"},
		{`{"op":"unsubscribe","id":7,"scripthashes":["x"]}`, "scripthashes[0]"},
	} {
		w.send(c.send)
		e := w.expect("error")
		if !strings.Contains(e.Error, c.want) || (strings.Contains(c.send, `"id":7`) && string(e.ID) != "7") {
			t.Errorf("%s: got %s, want an error about %q", c.send, e.raw, c.want)
		}
	}
	if st := h.StreamStats(); st.Subscriptions != 0 || st.Connections != 1 {
		t.Fatalf("bad requests changed the subscriptions: %+v", st)
	}
	if r := subscribe(w, shs[0], shs[1], shs[0]); r.Subscriptions != 2 || len(r.ScriptHashes) != 2 {
		t.Fatalf("subscribed %s", r.raw)
	}
	w.send(map[string]any{"op": "subscribe", "scripthashes": shs[1:4]})
	if e := w.expect("error"); !strings.Contains(e.Error, "too many") || e.Op != "subscribe" {
		t.Fatalf("over the limit: %s", e.raw)
	}
	if r := subscribe(w, shs[1], strings.ToUpper(shs[2])); r.Subscriptions != 3 || r.ScriptHashes[1] != shs[2] {
		t.Fatalf("subscribed %s", r.raw)
	}
	w.send(map[string]any{"op": "unsubscribe", "scripthashes": []string{shs[0], shs[4]}})
	if r := w.expect("unsubscribed"); r.Subscriptions != 2 {
		t.Fatalf("unsubscribed %s", r.raw)
	}
	// Addresses are confirmed in their canonical form.
	s, err := chaingen.ScriptsFor(1, 5, chaingen.ScriptP2WPKH)
	if err != nil {
		t.Fatal(err)
	}
	addr := query.DescribeScript(s.PkScript, &chaincfg.RegressionNetParams).Address
	w.send(map[string]any{"op": "subscribe", "addresses": []string{strings.ToUpper(addr)}})
	r := w.expect("subscribed")
	if sh := sha256.Sum256(s.PkScript); len(r.Addresses) != 1 || r.Addresses[0].Address != addr ||
		r.Addresses[0].ScriptHash != hex.EncodeToString(sh[:]) || r.Subscriptions != 3 {
		t.Fatalf("subscribed %s", r.raw)
	}

	// Non-JSON: answered, then tolerated up to a run of five.
	for range 4 {
		w.send("not json")
		w.expect("error")
	}
	w.send(map[string]any{"op": "unsubscribe", "addresses": []string{addr}})
	w.expect("unsubscribed")
	_ = w.c.WriteMessage(websocket.BinaryMessage, []byte(`{"op":"subscribe"}`))
	for range 4 {
		w.send("{")
	}
	if code, _ := w.closeCode(10); code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("closed with %d after five non-JSON messages", code)
	}

	// Too big a message closes at once.
	w2 := dial(t, srv)
	w2.expect("hello")
	w2.send(`{"op":"subscribe","scripthashes":["` + strings.Repeat("a", 5000) + `"]}`)
	if code, _ := w2.closeCode(10); code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d after an oversized message", code)
	}
}

// TestClose: Close says goodbye to every client, refuses new ones and
// leaves the plain endpoints working.
func TestClose(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{})
	a, b := dial(t, srv), dial(t, srv)
	a.expect("hello")
	b.expect("hello")
	_, shHex := scriptHash("close")
	subscribe(b, shHex)
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	for _, w := range []*wsClient{a, b} {
		if code, _ := w.closeCode(10); code != websocket.CloseGoingAway {
			t.Fatalf("closed with %d", code)
		}
	}
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Close hangs")
	}
	h.Close() // again: nothing left to do
	if st := h.StreamStats(); st.Connections != 0 || st.Subscriptions != 0 {
		t.Fatalf("stats after Close %+v", st)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/stream"
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil ||
		resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v", err)
	}
	get(t, srv, "/v1/status", http.StatusOK, nil)
	// A plain GET of the stream is not a websocket handshake.
	get(t, srv, "/v1/stream", http.StatusServiceUnavailable, nil)
}

// TestViewsClosed: when the node closes the views (shutdown), clients are
// closed with 1001, not told they lagged, and new ones are turned away.
func TestViewsClosed(t *testing.T) {
	views := &app.Views{}
	publish(t, views, 1, [32]byte{}, -1)
	h, srv := serve(t, views, native.Options{})
	w := dial(t, srv)
	w.expect("hello")
	_, shHex := scriptHash("closed")
	subscribe(w, shHex)
	views.Close()
	if code, _ := w.closeCode(10); code != websocket.CloseGoingAway {
		t.Fatalf("closed with %d", code)
	}
	w2 := dial(t, srv)
	if code, text := w2.closeCode(10); code != websocket.CloseGoingAway {
		t.Fatalf("a client after the views closed got %d %q", code, text)
	}
	if st := h.StreamStats(); st.Lagged != 0 || st.Connections != 0 {
		t.Fatalf("stats %+v", st)
	}
	get(t, srv, "/v1/status", http.StatusServiceUnavailable, nil)
}
