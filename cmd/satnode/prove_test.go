package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satnode/satnode/node"
)

// checkProofs runs `satnode prove` against one node's API and `satnode
// verify` against another node's CometBFT RPC, trusting only the header
// at height 1: a coin the chain holds is proven unspent, a made-up
// outpoint absent, and a file with a changed coin value, or with an app
// hash of another height, is refused.
func checkProofs(t *testing.T, btc *btcChain, homes, rpcs []string) {
	t.Helper()
	ac, err := node.LoadAppConfig(homes[1])
	if err != nil {
		t.Fatal(err)
	}
	api := "http://" + ac.RPC.Listen
	c := rpcClient(t, rpcs[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	one := int64(1)
	blk, err := c.Block(ctx, &one)
	if err != nil {
		t.Fatal(err)
	}
	trust := []string{"--trust-height", "1", "--trust-hash", hex.EncodeToString(blk.BlockID.Hash), "--node", rpcs[2]}
	dir := t.TempDir()
	prove := func(name string, args ...string) (string, int64) {
		t.Helper()
		f := filepath.Join(dir, name)
		mustRun(t, append(append([]string{"prove"}, args...), "--api", api, "-o", f)...)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			HeaderHeight int64 `json:"header_height"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		return f, st.HeaderHeight
	}
	coin, hh := prove("coin.json", "utxo", btc.coinbases[len(btc.coinbases)-1]+":0")
	absent, _ := prove("absent.json", "utxo", strings.Repeat("ab", 32)+":7")
	reserves, _ := prove("reserves.json", "address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
	// The header carrying the app hash is the next one.
	waitFor(t, 30*time.Second, "the header carrying the proofs' app hash", func() bool { return height(c) >= hh })
	if out := mustRun(t, append([]string{"verify", coin}, trust...)...); !strings.Contains(out, "UNSPENT") {
		t.Fatalf("verify of an unspent coin printed %q", out)
	}
	if out := mustRun(t, append([]string{"verify", absent}, trust...)...); !strings.Contains(out, "NOT in the UTXO set") {
		t.Fatalf("verify of an absent outpoint printed %q", out)
	}
	if out := mustRun(t, append([]string{"verify", reserves}, trust...)...); !strings.Contains(out, "hold at least 0 sat") {
		t.Fatalf("verify of an empty address printed %q", out)
	}
	// Tampered: another value for the coin; the app hash of another height.
	raw, err := os.ReadFile(coin)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"value": func(m map[string]any) { m["coin"].(map[string]any)["value"] = 1.0 },
		"height": func(m map[string]any) {
			m["height"] = m["height"].(float64) - 1
			m["header_height"] = m["header_height"].(float64) - 1
		},
	} {
		mm := map[string]any{}
		_ = json.Unmarshal(raw, &mm)
		edit(mm)
		b, _ := json.Marshal(mm)
		f := filepath.Join(dir, "tampered-"+name+".json")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := satnode(t, append([]string{"verify", f}, trust...)...); err == nil {
			t.Fatalf("a proof with a changed %s verified: %s", name, out)
		}
	}
}
