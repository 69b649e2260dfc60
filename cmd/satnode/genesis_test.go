package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/node/btcnode/btcdtest"
)

// fakeCore stands in front of btcd and answers what only Bitcoin Core
// answers, as Core documents it: gettxoutsetinfo muhash <height> (with
// -coinstatsindex) returns {"height", "bestblock", "muhash", …}. Every
// other call goes to btcd unchanged.
func fakeCore(t *testing.T, btcd *btcdtest.Node, muhash func(height int) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []any           `json:"params"`
		}
		_ = json.Unmarshal(body, &req)
		if req.Method == "gettxoutsetinfo" {
			h := 0
			if len(req.Params) > 1 {
				if f, ok := req.Params[1].(float64); ok {
					h = int(f)
				}
			}
			res, _ := json.Marshal(map[string]any{"height": h, "muhash": muhash(h)})
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"result":` + string(res) + `,"error":null,"id":` + string(req.ID) + `}`))
			return
		}
		out, err := http.NewRequest(http.MethodPost, "http://"+btcd.RPCAddr, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		out.SetBasicAuth(btcd.User, btcd.Password)
		out.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestGenesisFromSnapshot: a chain launched from a snapshot. A regtest
// chain goes to a real btcd; the set at H is dumped from an import and
// loaded into a fresh home, with H looked up in btcd; "genesis start" makes
// the home's genesis begin there, with its ancestry from btcd; "genesis
// verify" passes against btcd (which cannot tell the MuHash, and says so)
// and against a Core that can, and fails on a wrong MuHash or a wrong
// ancestry; then the node, started on that genesis with a synchronizer and
// an endorser on btcd, follows btcd's blocks above H to the same set as an
// import of the whole chain.
func TestGenesisFromSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd and a node")
	}
	const blocks, base = 160, 150
	chain := genChain(t, blocks)
	btc := btcdtest.Start(t, btcdtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ix, err := blkfile.Scan(ctx, &chaincfg.RegressionNetParams, []string{chain.dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ix.BestChain()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ch.Blocks(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
		if err := btc.SubmitBlock(ctx, s.Block().Raw); err != nil {
			t.Fatalf("submitblock: %v", err)
		}
	}
	s.Close()

	imp := t.TempDir()
	mustRun(t, "import", "--home", imp, "--network", "regtest", "--stop-height", strconv.Itoa(base), chain.dir)
	snap := filepath.Join(t.TempDir(), "base.dat")
	mustRun(t, "snapshot", "dump", snap, "--home", imp)

	home := filepath.Join(t.TempDir(), "h")
	rpc := "tcp://127.0.0.1:" + strconv.Itoa(freePort(t))
	mustRun(t, "init", "--home", home, "--chain-id", "satnode-snap-test", "--moniker", "solo", "--network", "regtest",
		"--p2p-laddr", "tcp://127.0.0.1:"+strconv.Itoa(freePort(t)), "--rpc-laddr", rpc,
		"--api-laddr", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	btcFlags := []string{"--bitcoin-rpc", "http://" + btc.RPCAddr, "--bitcoin-user", btc.User, "--bitcoin-password", btc.Password}
	mustRun(t, append([]string{"snapshot", "load", snap, "--home", home, "--network", "regtest"}, btcFlags...)...)
	mustRun(t, append([]string{"genesis", "start", "--home", home}, btcFlags...)...)
	_, gen, err := node.ReadGenesis(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := int(btcheaders.RequiredAncestry(&chaincfg.RegressionNetParams, base)) + 1
	if gen.Start.Height != base || len(gen.Start.Headers) != wantHeaders || gen.Start.Headers[len(gen.Start.Headers)-1] != chain.headers[base-1] {
		t.Fatalf("genesis start: height %d, %d headers (want %d)", gen.Start.Height, len(gen.Start.Headers), wantHeaders)
	}
	var rep node.GenesisReport
	if err := json.Unmarshal([]byte(jsonPart(mustRun(t, append([]string{"genesis", "verify", "--home", home}, btcFlags...)...))), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Headers != wantHeaders || rep.MuHashChecked || !strings.Contains(rep.MuHashNote, "gettxoutsetinfo") {
		t.Fatalf("verify against btcd: %+v", rep)
	}
	core := fakeCore(t, btc, func(int) string { return gen.Start.MuHash })
	coreFlags := []string{"--bitcoin-rpc", core.URL, "--bitcoin-user", "u", "--bitcoin-password", "p"}
	if err := json.Unmarshal([]byte(jsonPart(mustRun(t, append([]string{"genesis", "verify", "--home", home}, coreFlags...)...))), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.MuHashChecked {
		t.Fatalf("verify against a Core with coinstatsindex: %+v", rep)
	}
	liar := fakeCore(t, btc, func(int) string { return strings.Repeat("ab", 32) })
	if _, err := satnode(t, append([]string{"genesis", "verify", "--home", home, "--bitcoin-rpc", liar.URL}, "--bitcoin-user", "u", "--bitcoin-password", "p")...); err == nil ||
		!strings.Contains(err.Error(), "muhash") {
		t.Fatalf("verify with another MuHash: %v", err)
	}
	// A genesis whose ancestry is not the node's.
	raw, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	first := gen.Start.Headers[0]
	b, _ := hex.DecodeString(first)
	b[79] ^= 1 // the nonce: another header
	forged := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(forged, bytes.Replace(raw, []byte(first), []byte(hex.EncodeToString(b)), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := satnode(t, append([]string{"genesis", "verify", "--genesis", forged}, btcFlags...)...); err == nil ||
		!strings.Contains(err.Error(), "best chain") {
		t.Fatalf("verify a forged ancestry: %v", err)
	}

	// The chain starts on the loaded set and follows btcd above it.
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ac.Bitcoin.RPC, ac.Bitcoin.User, ac.Bitcoin.Password = "http://"+btc.RPCAddr, btc.User, btc.Password
	ac.Synchronizer.Enabled, ac.Endorser.Enabled = true, true
	if err := node.WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consensus.TimeoutCommit = 200 * time.Millisecond
	cfg.P2P.PexReactor = false
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	startInProcess(t, home)
	var tip struct {
		Height int32  `json:"height"`
		Hash   string `json:"hash"`
		MuHash string `json:"muhash"`
	}
	waitFor(t, 2*time.Minute, "the node at btcd's tip", func() bool {
		out, err := satnode(t, "query", "btc-tip", "--node", rpc)
		return err == nil && json.Unmarshal([]byte(jsonPart(out)), &tip) == nil && tip.Height == blocks
	})
	if tip.Hash != chain.hashes[blocks-1] || tip.MuHash != chain.muhash {
		t.Fatalf("tip %+v, want %s with the import's MuHash %s", tip, chain.hashes[blocks-1], chain.muhash)
	}
	t.Logf("started at %d from a snapshot (%d genesis headers, MuHash %s); followed btcd to %d, MuHash %s as an import of the whole chain",
		base, len(gen.Start.Headers), gen.Start.MuHash, tip.Height, tip.MuHash)
}

// jsonPart is the JSON object of a command's output, without the log
// lines around it.
func jsonPart(out string) string {
	if i := strings.Index(out, "{"); i >= 0 {
		if j := strings.LastIndex(out, "}"); j > i {
			return out[i : j+1]
		}
	}
	return out
}
