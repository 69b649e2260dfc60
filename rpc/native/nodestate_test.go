package native_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/utxo/chaingen"
)

// TestStatusNoViewNodeState: a node restoring a snapshot has no committed
// state, but /v1/status answers 200 with the node's state alone; every
// other route still answers 503.
func TestStatusNoViewNodeState(t *testing.T) {
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	eta := int64(80)
	ns := native.NodeState{State: native.StateSyncing, ETASeconds: &eta, Restore: &native.RestoreProgress{
		Phase: "coins", Height: 5000, Chunks: 10, ChunksTotal: 175, Bytes: 40 << 20, BytesTotal: 700 << 20,
		Coins: 123456, CoinsTotal: 9000000, Percent: 4, Started: &started, Attempts: 1, ETASeconds: &eta}}
	_, srv := serve(t, &app.Views{}, native.Options{NodeState: func() native.NodeState { return ns }})

	var raw map[string]json.RawMessage
	hdr, body := get(t, srv, "/v1/status", http.StatusOK, &raw)
	if len(raw) != 1 || raw["node"] == nil {
		t.Fatalf("want the node object alone: %s", body)
	}
	if hdr.Get(stamp.HeaderHeight) != "" {
		t.Fatalf("stamped without a view: %v", hdr)
	}
	var got struct{ Node native.NodeState }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	r := got.Node.Restore
	if got.Node.State != "state_syncing" || got.Node.ETASeconds == nil || *got.Node.ETASeconds != 80 || r == nil ||
		r.Phase != "coins" || r.Chunks != 10 || r.ChunksTotal != 175 || r.Bytes != 40<<20 || r.Coins != 123456 ||
		r.Started == nil || !r.Started.Equal(started) {
		t.Fatalf("node %s", body)
	}
	for _, k := range []string{`"chain_id"`, `"canonical"`, `"at"`, `"target"`} {
		if strings.Contains(string(body), k) {
			t.Errorf("%s in a state-syncing answer: %s", k, body)
		}
	}
	do(t, srv, http.MethodHead, "/v1/status", http.StatusOK, nil)
	do(t, srv, http.MethodPost, "/v1/status", http.StatusMethodNotAllowed, nil)
	for _, p := range []string{"/v1/utxo/" + strings.Repeat("ab", 32) + "/0", "/v1/endorsements", "/v1/block/0/stats"} {
		get(t, srv, p, http.StatusServiceUnavailable, nil)
	}
}

// TestStatusWithNodeState: with a view, /v1/status is what it was plus the
// node object.
func TestStatusWithNodeState(t *testing.T) {
	c := newChain(t, chaingen.DefaultConfig())
	var calls atomic.Int32
	_, srv := serve(t, c.Views, native.Options{NodeState: func() native.NodeState {
		calls.Add(1)
		return native.NodeState{State: native.StateCatchingUp, Height: 7, Target: 9}
	}})
	var s struct {
		statusJSON
		Node *native.NodeState `json:"node"`
	}
	_, body := get(t, srv, "/v1/status", http.StatusOK, &s)
	if s.ChainID != "rpctest" || s.Canonical.Height != 120 || s.At.Height != 120 || !s.Sync.Synced {
		t.Fatalf("chain fields %s", body)
	}
	if s.Node == nil || s.Node.State != "catching_up" || s.Node.Height != 7 || s.Node.Target != 9 ||
		s.Node.Restore != nil || s.Node.ETASeconds != nil || calls.Load() != 1 {
		t.Fatalf("node %s (%d calls)", body, calls.Load())
	}
	// Without Options.NodeState there is no node object, as before.
	_, srv = serve(t, c.Views, native.Options{})
	if _, body := get(t, srv, "/v1/status", http.StatusOK, nil); strings.Contains(string(body), `"node"`) {
		t.Fatalf("node object without a source: %s", body)
	}
}
