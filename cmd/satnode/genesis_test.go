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

// TestLocalnetFromSnapshot: a chain launched from a snapshot. A regtest
// chain goes to a real btcd up to H+5; the set at H is dumped from an
// import. Four validators each load that file, with H looked up in btcd;
// "genesis start" on the first makes the genesis begin there, with its
// ancestry from btcd, and every validator gets that file and checks it
// with "genesis verify" against btcd (which cannot tell the MuHash, and
// says so). Verify also passes against a Core that can tell it, and fails
// on a wrong MuHash or a forged ancestry. The four start on it and follow
// btcd's blocks above H, those it had and those it gets later, to the same
// MuHash on every node, the MuHash of an import of the whole chain.
func TestLocalnetFromSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd and 4 satnode processes")
	}
	const blocks, base, early = 160, 150, 155
	chain := genChain(t, blocks)
	ln := newLiveNetWith(t, liveNetOptions{Validators: 4, Synchronizers: 1, Btcds: 1})
	btc := ln.btcds[0]
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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
	var raws [][]byte
	for s.Next() {
		raws = append(raws, bytes.Clone(s.Block().Raw))
	}
	s.Close()
	for _, raw := range raws[:early] {
		ln.submitTo(ctx, 0, raw)
	}

	imp := t.TempDir()
	mustRun(t, "import", "--home", imp, "--network", "regtest", "--stop-height", strconv.Itoa(base), chain.dir)
	snap := filepath.Join(t.TempDir(), "base.dat")
	mustRun(t, "snapshot", "dump", snap, "--home", imp)

	btcFlags := []string{"--bitcoin-rpc", "http://" + btc.RPCAddr, "--bitcoin-user", btc.User, "--bitcoin-password", btc.Password}
	for _, home := range ln.homes {
		mustRun(t, append([]string{"snapshot", "load", snap, "--home", home, "--network", "regtest", "--cache-mb", "16"}, btcFlags...)...)
	}
	home := ln.homes[0]
	genesisFile := filepath.Join(home, "config", "genesis.json")
	mustRun(t, append([]string{"genesis", "start", "--home", home}, btcFlags...)...)
	raw, err := os.ReadFile(genesisFile)
	if err != nil {
		t.Fatal(err)
	}
	_, gen, err := node.ReadGenesis(genesisFile)
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := int(btcheaders.RequiredAncestry(&chaincfg.RegressionNetParams, base)) + 1
	if gen.Start.Height != base || len(gen.Start.Headers) != wantHeaders || gen.Start.Headers[len(gen.Start.Headers)-1] != chain.headers[base-1] {
		t.Fatalf("genesis start: height %d, %d headers (want %d)", gen.Start.Height, len(gen.Start.Headers), wantHeaders)
	}
	for _, h := range ln.homes {
		if err := os.WriteFile(filepath.Join(h, "config", "genesis.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		var rep node.GenesisReport
		if err := json.Unmarshal([]byte(jsonPart(mustRun(t, append([]string{"genesis", "verify", "--home", h}, btcFlags...)...))), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Headers != wantHeaders || rep.MuHashChecked || !strings.Contains(rep.MuHashNote, "gettxoutsetinfo") {
			t.Fatalf("verify against btcd: %+v", rep)
		}
	}
	core := fakeCore(t, btc, func(int) string { return gen.Start.MuHash })
	coreFlags := []string{"--bitcoin-rpc", core.URL, "--bitcoin-user", "u", "--bitcoin-password", "p"}
	var rep node.GenesisReport
	if err := json.Unmarshal([]byte(jsonPart(mustRun(t, append([]string{"genesis", "verify", "--home", home}, coreFlags...)...))), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.MuHashChecked {
		t.Fatalf("verify against a Core with coinstatsindex: %+v", rep)
	}
	liar := fakeCore(t, btc, func(int) string { return strings.Repeat("ab", 32) })
	if _, err := satnode(t, "genesis", "verify", "--home", home, "--bitcoin-rpc", liar.URL, "--bitcoin-user", "u", "--bitcoin-password", "p"); err == nil ||
		!strings.Contains(err.Error(), "muhash") {
		t.Fatalf("verify with another MuHash: %v", err)
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
	for i := range ln.homes {
		ln.start(i)
	}
	all := []int{0, 1, 2, 3}
	ln.waitAll(all, 2*time.Minute, "the blocks btcd had", func(tp tip) bool { return tp.Height == early })
	for _, raw := range raws[early:] {
		ln.submitTo(ctx, 0, raw)
	}
	want := chain.hashes[blocks-1]
	ln.waitAll(all, 2*time.Minute, "the new blocks", func(tp tip) bool { return tp.Hash == want })
	for i := range ln.homes {
		tp, err := ln.tip(ctx, i)
		if err != nil || tp.MuHash != chain.muhash {
			t.Fatalf("node%d at %+v (%v), want MuHash %s", i, tp, err, chain.muhash)
		}
	}
	t.Logf("4 validators started at %d from a snapshot (%d genesis headers, MuHash %s) and followed btcd to %d: MuHash %s on every node, as an import of the whole chain",
		base, len(gen.Start.Headers), gen.Start.MuHash, blocks, chain.muhash)
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
