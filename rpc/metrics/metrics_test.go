package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/metrics"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/memstore"
)

// TestPendingGauge: the pending-headers gauge is the view's Unendorsed
// count, which the view keeps at commit, not a walk of a list per scrape.
func TestPendingGauge(t *testing.T) {
	v := &app.View{ChainID: "hand", Height: 3, Time: time.Unix(1700000000, 0).UTC(), Params: utxo.RegTest(),
		Unendorsed: 7}
	views := &app.Views{}
	snap, err := memstore.New().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	views.Publish(v, snap, nil)
	srv := httptest.NewServer(metrics.New(metrics.Sources{Views: views}).Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "\nsatnode_btc_pending_headers 7\n") {
		t.Fatalf("no satnode_btc_pending_headers 7 in\n%s", text)
	}
}
