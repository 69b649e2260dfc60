package native_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/native"
)

// waitFor bounds every wait in these tests.
const waitFor = 20 * time.Second

// serve starts a handler over views on a loopback test server; both are
// closed when the test ends (the handler first, as a server would).
func serve(t *testing.T, views *app.Views, opts native.Options) (*native.Handler, *httptest.Server) {
	t.Helper()
	h := native.New(views, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return h, srv
}

var client = &http.Client{Timeout: waitFor}

// get fetches path, checks the status and decodes the body into out (if
// not nil). It returns the headers and the raw body.
func get(t *testing.T, srv *httptest.Server, path string, status int, out any) (http.Header, []byte) {
	t.Helper()
	return do(t, srv, http.MethodGet, path, status, out)
}

func do(t *testing.T, srv *httptest.Server, method, path string, status int, out any) (http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); method != http.MethodHead && ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	if status >= 400 && method != http.MethodHead {
		var e struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Code != status || e.Error == "" {
			t.Fatalf("%s %s: error body %s (%v)", method, path, body, err)
		}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, body)
		}
	}
	return resp.Header, body
}

// coin is a coin in a scripthash message.
type coin struct {
	TxID     string `json:"txid"`
	Vout     uint32 `json:"vout"`
	Value    int64  `json:"value"`
	Height   int32  `json:"height"`
	Coinbase bool   `json:"coinbase"`
	SpentBy  string `json:"spent_by"`
}

// msg is any stream message, decoded loosely.
type msg struct {
	Type             string          `json:"type"`
	ID               json.RawMessage `json:"id"`
	Op               string          `json:"op"`
	Error            string          `json:"error"`
	At               *stamp.At       `json:"at"`
	MaxSubscriptions int             `json:"max_subscriptions"`
	ScriptHashes     []string        `json:"scripthashes"`
	Addresses        []struct {
		Address    string `json:"address"`
		ScriptHash string `json:"scripthash"`
	} `json:"addresses"`
	Subscriptions int    `json:"subscriptions"`
	Height        int32  `json:"height"`
	Hash          string `json:"hash"`
	PrevHash      string `json:"prev_hash"`
	Time          int64  `json:"time"`
	Txs           uint32 `json:"txs"`
	ScriptHash    string `json:"scripthash"`
	Address       string `json:"address"`
	Connected     bool   `json:"connected"`
	Funded        []coin `json:"funded"`
	Spent         []coin `json:"spent"`
	Removed       []coin `json:"removed"`
	Restored      []coin `json:"restored"`

	raw []byte
}

// wsClient is a stream client for tests; every read has a deadline.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, srv *httptest.Server) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/stream"
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(waitFor))
	if s, ok := v.(string); ok {
		if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			w.t.Fatal(err)
		}
		return
	}
	if err := w.c.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next message or the error that ended the stream.
func (w *wsClient) read() (*msg, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(waitFor))
	_, data, err := w.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	m := &msg{raw: data}
	if err := json.Unmarshal(data, m); err != nil {
		w.t.Fatalf("server sent non-JSON %q: %v", data, err)
	}
	return m, nil
}

func (w *wsClient) next() *msg {
	w.t.Helper()
	m, err := w.read()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next message and checks its type.
func (w *wsClient) expect(typ string) *msg {
	w.t.Helper()
	m := w.next()
	if m.Type != typ {
		w.t.Fatalf("got %s, want a %q message", m.raw, typ)
	}
	return m
}

// closeCode reads until the stream ends (at most limit messages) and
// returns the close code the server sent, or -1 if it ended otherwise.
func (w *wsClient) closeCode(limit int) (code int, text string) {
	w.t.Helper()
	for range limit {
		_, err := w.read()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		w.t.Logf("stream ended without a close frame: %v", err)
		return -1, ""
	}
	w.t.Fatalf("stream still open after %d messages", limit)
	return 0, ""
}
