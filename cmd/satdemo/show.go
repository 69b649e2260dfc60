package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
)

// utxoInfo prints the main figures of `satnode utxo info --node`.
func utxoInfo(ctx context.Context, bin, rpc string) {
	out, err := exec.CommandContext(ctx, bin, "utxo", "info", "--node", rpc).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			out = ee.Stderr
		}
		say("satnode utxo info --node %s: %v: %s", rpc, err, strings.TrimSpace(string(out)))
		return
	}
	var v struct {
		Height      int32           `json:"height"`
		BestBlock   string          `json:"bestblock"`
		TxOuts      uint64          `json:"txouts"`
		TotalAmount json.RawMessage `json:"total_amount"` // Core's 8 decimals, kept as printed
		MuHash      string          `json:"muhash"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		say("satnode utxo info --node %s: %v: %.200s", rpc, err, out)
		return
	}
	say("satnode utxo info --node %s: height %d, bestblock %s, txouts %d, total_amount %s BTC, muhash %s",
		rpc, v.Height, v.BestBlock, v.TxOuts, v.TotalAmount, v.MuHash)
}

type tip struct {
	Height int32 `json:"height"`
}

// status is what the demo reads of GET /v1/status.
type status struct {
	Canonical     tip   `json:"canonical"`
	Endorsed      tip   `json:"endorsed"`
	BestHeader    tip   `json:"best_header"`
	Final         tip   `json:"final"`
	FinalityDepth int32 `json:"finality_depth"`
	Sync          struct {
		Behind int32 `json:"behind"`
	} `json:"sync"`
}

// apiStatus prints the Bitcoin tips node0's API reports (GET /v1/status).
func apiStatus(ctx context.Context, api string) {
	var st status
	if err := getJSON(ctx, "http://"+api+"/v1/status", &st); err != nil {
		say("GET http://%s/v1/status: %v", api, err)
		return
	}
	sync := "synced"
	if st.Sync.Behind > 0 {
		// A new header waits for its endorsement and its body; until its
		// block is applied, getblockchaininfo's initialblockdownload is
		// true too (the same test).
		sync = fmt.Sprintf("%d behind it: the newest header waits for endorsement and body", st.Sync.Behind)
	}
	say("GET http://%s/v1/status: Bitcoin tips: canonical %d, endorsed %d, best header %d (%s); "+
		"final %d: the finalized base, %d blocks below the tip (finality depth %d), which no reorg can reach",
		api, st.Canonical.Height, st.Endorsed.Height, st.BestHeader.Height, sync,
		st.Final.Height, st.Canonical.Height-st.Final.Height, st.FinalityDepth)
}

// getJSON decodes the answer of a GET that must be 200.
func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	return json.Unmarshal(body, v)
}
