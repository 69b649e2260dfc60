package native_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/rpc/native"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/chaingen"
	"github.com/satnode/satnode/utxo/memstore"
)

func address(i uint32) tx.Address { return tx.AddressOf(chaingen.Key(99, i).PubKey()) }

func hashOf(s string) chainhash.Hash { return chainhash.DoubleHashH([]byte(s)) }

// consensusView is a hand-built view with validators, synchronizers and
// endorsements, over an empty store: the rpctest chain has none of them.
func consensusView(t *testing.T) *app.Views {
	t.Helper()
	jailed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	v := &app.View{
		ChainID: "hand", Height: 42, Time: time.Unix(1700000000, 0).UTC(), Params: utxo.RegTest(), FinalityDepth: 6,
		ChainParams: app.DefaultParams(),
		Tip:         app.BlockRef{Height: 20, Hash: hashOf("20")},
		Final:       app.BlockRef{Height: 14, Hash: hashOf("14")},
		BestHeader:  app.BlockRef{Height: 23, Hash: hashOf("23b")},
		Endorsed:    app.BlockRef{Height: 21, Hash: hashOf("21")},
		Validators: []staking.Validator{
			{Operator: address(1), ConsensusKey: [32]byte{1, 2, 3}, EndorserKey: address(11), CommissionBps: 500,
				Moniker: "one", Tokens: 200, SelfStake: 150},
			{Operator: address(2), ConsensusKey: [32]byte{4}, EndorserKey: address(12), CommissionBps: 0,
				Moniker: "two", Tokens: 100, SelfStake: 100, Jailed: true, JailedUntil: jailed, Missed: 7},
		},
		Powers:        map[tx.Address]int64{address(1): 200},
		Synchronizers: []staking.Synchronizer{{Address: address(21), Bond: 5000, Payout: address(22)}},
		TotalPower:    200, NeededPower: 134,
		Pending: []app.PendingBlock{
			{BlockRef: app.BlockRef{Height: 21, Hash: hashOf("21")}, Submitter: address(21),
				Endorsers: []tx.Address{address(11)}, EndorsedPower: 200, Endorsed: true, Paid: true},
			{BlockRef: app.BlockRef{Height: 22, Hash: hashOf("22")}},
		},
	}
	views := &app.Views{}
	snap, err := memstore.New().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	views.Publish(v, snap, nil)
	return views
}

func TestEndorsements(t *testing.T) {
	_, srv := serve(t, consensusView(t), native.Options{})
	var got struct {
		Final struct {
			Height int32  `json:"height"`
			Hash   string `json:"hash"`
		} `json:"final"`
		FinalityDepth int32 `json:"finality_depth"`
		TotalPower    int64 `json:"total_power"`
		NeededPower   int64 `json:"needed_power"`
		Blocks        []struct {
			Height        int32    `json:"height"`
			Hash          string   `json:"hash"`
			Submitter     string   `json:"submitter"`
			Endorsers     []string `json:"endorsers"`
			EndorsedPower int64    `json:"endorsed_power"`
			NeededPower   int64    `json:"needed_power"`
			TotalPower    int64    `json:"total_power"`
			Endorsed      bool     `json:"endorsed"`
			Canonical     bool     `json:"canonical"`
			Paid          bool     `json:"paid"`
		} `json:"blocks"`
	}
	_, body := get(t, srv, "/v1/endorsements", http.StatusOK, &got)
	if got.Final.Height != 14 || got.Final.Hash != hashOf("14").String() || got.FinalityDepth != 6 ||
		got.TotalPower != 200 || got.NeededPower != 134 || len(got.Blocks) != 2 {
		t.Fatalf("endorsements %s", body)
	}
	b0, b1 := got.Blocks[0], got.Blocks[1]
	if b0.Height != 21 || b0.Hash != hashOf("21").String() || b0.Submitter != address(21).String() ||
		len(b0.Endorsers) != 1 || b0.Endorsers[0] != address(11).String() || b0.EndorsedPower != 200 ||
		b0.NeededPower != 134 || b0.TotalPower != 200 || !b0.Endorsed || b0.Canonical || !b0.Paid {
		t.Fatalf("first pending block %+v", b0)
	}
	// Nobody submitted or endorsed the second: empty, not null or a
	// zero address.
	if b1.Height != 22 || b1.Submitter != "" || b1.Endorsers == nil || len(b1.Endorsers) != 0 || b1.Endorsed {
		t.Fatalf("second pending block %+v in %s", b1, body)
	}
}

func TestValidatorsAndSynchronizers(t *testing.T) {
	_, srv := serve(t, consensusView(t), native.Options{})
	var vals struct {
		TotalPower     int64            `json:"total_power"`
		DowntimeWindow uint32           `json:"downtime_window"`
		Validators     []map[string]any `json:"validators"`
	}
	_, body := get(t, srv, "/v1/validators", http.StatusOK, &vals)
	if vals.TotalPower != 200 || len(vals.Validators) != 2 || vals.DowntimeWindow != app.DefaultParams().DowntimeWindow {
		t.Fatalf("validators %s", body)
	}
	want := []map[string]any{
		{"operator": address(1).String(), "consensus_key": "0102030000000000000000000000000000000000000000000000000000000000",
			"endorser": address(11).String(), "moniker": "one", "commission_bps": 500.0, "tokens": 200.0,
			"self_stake": 150.0, "power": 200.0, "jailed": false, "tombstoned": false, "missed": 0.0},
		{"operator": address(2).String(), "consensus_key": "0400000000000000000000000000000000000000000000000000000000000000",
			"endorser": address(12).String(), "moniker": "two", "commission_bps": 0.0, "tokens": 100.0,
			"self_stake": 100.0, "power": 0.0, "jailed": true, "jailed_until": "2030-01-02T03:04:05Z", "tombstoned": false,
			"missed": 7.0},
	}
	for i, w := range want {
		g, _ := json.Marshal(vals.Validators[i])
		e, _ := json.Marshal(w)
		if string(g) != string(e) {
			t.Errorf("validator %d:\n got %s\nwant %s", i, g, e)
		}
	}
	var syncs struct {
		Synchronizers []struct {
			Address string `json:"address"`
			Bond    uint64 `json:"bond"`
			Payout  string `json:"payout"`
		} `json:"synchronizers"`
	}
	_, body = get(t, srv, "/v1/synchronizers", http.StatusOK, &syncs)
	if len(syncs.Synchronizers) != 1 || syncs.Synchronizers[0].Address != address(21).String() ||
		syncs.Synchronizers[0].Bond != 5000 || syncs.Synchronizers[0].Payout != address(22).String() {
		t.Fatalf("synchronizers %s", body)
	}
	// The status of the same view: the tips differ, so it is not synced.
	var s statusJSON
	get(t, srv, "/v1/status", http.StatusOK, &s)
	if s.Canonical.Height != 20 || s.Endorsed.Height != 21 || s.BestHeader.Height != 23 || s.Sync.Behind != 3 ||
		s.Sync.Synced || s.Height != 42 {
		t.Fatalf("status %+v", s)
	}
	// The store is empty: coins and blocks are simply not there.
	get(t, srv, "/v1/utxo/"+hashOf("x").String()+"/0", http.StatusNotFound, nil)
	get(t, srv, "/v1/block/3/stats", http.StatusNotFound, nil)
}
