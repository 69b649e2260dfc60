package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/client"
)

// TestStateSyncJoin joins a running chain by state sync, with real
// processes on 127.0.0.1: two btcd, four satnode validators whose body
// stores keep only the last 5 blocks, and a joiner with an empty home, no
// Bitcoin RPC and a Bitcoin P2P peer. On the way:
//   - validator 0 serves an honest snapshot; validator 1 serves the same
//     snapshot with every chunk corrupted; validator 3 serves a snapshot
//     of another state (an older one) whose metadata claims a newer
//     height and its verified app hash, so CometBFT tries it first;
//   - the joiner rejects the forged snapshot after its last chunk and the
//     corrupted chunks as they come (each sender rejected), and restores
//     the honest one: the set at the finalized base, 30 blocks below the
//     tip, then those 30 blocks, whose bodies every validator has pruned,
//     over the Bitcoin P2P protocol;
//   - the first run's Bitcoin peer is unreachable, so the restore waits
//     for a body: the joiner is SIGKILLed there (its API answered
//     state_syncing, and no chain data), and the restart resumes the same
//     snapshot;
//   - the joiner then has node0's app hash and MuHash, and follows new
//     Bitcoin blocks.
func TestStateSyncJoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 2 btcd and 5 satnode processes")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const n = 4
	ln := newLiveNetWith(t, liveNetOptions{Validators: n, Synchronizers: 1, Btcds: 2, Batch: 50})
	setFinalityDepth(t, ln.homes, 30)
	for i, home := range ln.homes {
		editAppConfig(t, home, func(ac *node.AppConfig) {
			ac.Bodies.Retention = 5
			ac.StateSync.SnapshotChunkKB, ac.StateSync.SnapshotKeepRecent = 1, 5
			if i < 2 {
				ac.StateSync.SnapshotInterval = 10
			}
		})
	}
	g := newChainGen(t)
	if _, err := g.Next(); err != nil { // the genesis block, which btcd has
		t.Fatal(err)
	}
	var chain []*wire.MsgBlock
	const preload = 120
	for range preload {
		b, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		ln.submit(ctx, 0, b)
		chain = append(chain, b)
	}
	ln.waitBtcds(chain[preload-1].BlockHash())
	for i := range n {
		ln.start(i)
	}
	tipHash := chain[preload-1].BlockHash().String()
	ln.waitAll(all(n), 3*time.Minute, "catch-up", func(tp tip) bool { return tp.Hash == tipHash })
	t.Logf("%v: 4 validators at Bitcoin block %d", time.Since(start).Round(time.Millisecond), preload)

	// The honest snapshot: the newest of node0's whose UTXO tip is the
	// Bitcoin tip, which node1 made too, byte for byte.
	var honest snapMeta
	ln.waitFor(time.Minute, "a snapshot at the Bitcoin tip", func() bool {
		m, ok := newestSnapshot(t, ln.homes[0])
		honest = m
		return ok && m.Tip.Height == preload && m.Base.Height == preload-30 && hasSnapshot(ln.homes[1], m.Height)
	})
	// Validators 0 and 1 stop making snapshots (they go on serving
	// theirs), one at a time so that the chain goes on; validator 1's
	// chunks are corrupted while it is down.
	for i := range 2 {
		if err := ln.procs[i].stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("node%d on SIGTERM: %v", i, err)
		}
		editAppConfig(t, ln.homes[i], func(ac *node.AppConfig) { ac.StateSync.SnapshotInterval = 0 })
		if i == 1 {
			corruptChunks(t, ln.homes[1])
		}
		ln.start(i)
		ln.waitAll([]int{i}, time.Minute, "restarted validator", func(tp tip) bool { return tp.Hash == tipHash })
	}
	// Validator 3 serves the forged snapshot, at a height above the
	// honest one whose app hash the light client will verify.
	rc := rpcClient(t, mustRPC(t, ln.homes[0]))
	ln.waitFor(time.Minute, "blocks after the honest snapshot", func() bool { return height(rc) > honest.Height+8 })
	forgedHeight := height(rc) - 3
	forgeSnapshot(t, ln.homes[0], ln.homes[3], honest, forgedHeight, appHashAt(t, ctx, ln.homes[0], forgedHeight))
	t.Logf("%v: honest snapshot %d (base %d, tip %d, %d chunks), forged %d", time.Since(start).Round(time.Millisecond),
		honest.Height, honest.Base.Height, honest.Tip.Height, len(honest.ChunkHashes), forgedHeight)

	// The joiner: state sync from node0's and node1's RPC, trusting the
	// header at height 2; bodies only from peers and a Bitcoin peer that
	// is not listening yet.
	late := joinHome(t, ln.homes[0], ln.homes)
	trustHash := blockHashAt(t, ctx, ln.homes[0], 2)
	cfg, err := node.LoadCometConfig(late)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StateSync.Enable = true
	cfg.StateSync.RPCServers = []string{cometRPC(t, ln.homes[0]), cometRPC(t, ln.homes[1])}
	cfg.StateSync.TrustHeight, cfg.StateSync.TrustHash = 2, trustHash
	cfg.StateSync.DiscoveryTime = 8 * time.Second
	cmtcfg.WriteConfigFile(filepath.Join(late, "config", "config.toml"), cfg)
	deadPeer := closedPort(t)
	editAppConfig(t, late, func(ac *node.AppConfig) {
		ac.Bodies.Retention = 5
		ac.Bodies.BitcoinPeers = []string{deadPeer}
	})
	lc, err := client.New(mustRPC(t, late))
	if err != nil {
		t.Fatal(err)
	}
	ln.homes = append(ln.homes, late)
	ln.clients = append(ln.clients, lc)
	ln.procs = append(ln.procs, nil)
	joinStart := time.Now()
	ln.start(n)
	ln.waitFor(2*time.Minute, "the restore waiting for a body", func() bool {
		return ln.logHas(n, "waiting for the block body")
	})
	for _, s := range []string{"state sync: snapshot rejected", "does not match the snapshot's hash"} {
		if !ln.logHas(n, s) {
			t.Fatalf("joiner's log has no %q", s)
		}
	}
	api := "http://" + apiAddr(t, late)
	if body := httpGet(t, api+"/v1/status"); !strings.Contains(body, `"state_syncing"`) {
		t.Fatalf("status while restoring: %s", body)
	}
	if code := httpCode(t, api+"/v1/utxo/"+chain[0].Transactions[0].TxHash().String()+"/0"); code != http.StatusServiceUnavailable {
		t.Fatalf("a utxo query while restoring: HTTP %d", code)
	}
	if err := ln.procs[n].stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("the joiner exited cleanly on SIGKILL?")
	}
	t.Logf("%v: joiner killed while its restore waited for a body", time.Since(start).Round(time.Millisecond))

	// The restart, with a Bitcoin peer that answers, and without the
	// forged snapshot: the restore resumes.
	if err := os.RemoveAll(filepath.Join(ln.homes[3], node.SnapshotDir, fmt.Sprintf("%d-1", forgedHeight))); err != nil {
		t.Fatal(err)
	}
	editAppConfig(t, late, func(ac *node.AppConfig) { ac.Bodies.BitcoinPeers = []string{ln.btcds[1].P2PAddr} })
	restart := time.Now()
	ln.start(n)
	ln.waitAll([]int{n}, 3*time.Minute, "the joiner restored", func(tp tip) bool { return tp.Hash == tipHash })
	syncTime := time.Since(restart)
	ln.waitFor(time.Minute, "the joiner's status: live", func() bool {
		return strings.Contains(httpGet(t, api+"/v1/status"), `"state":"live"`)
	})
	for _, s := range []string{"resume=true", "state restored and verified", "source=bitcoin-p2p"} {
		if !ln.logHas(n, s) {
			t.Fatalf("joiner's log has no %q", s)
		}
	}
	t.Logf("STATE SYNC: joined at height %d in %v after the restart (%v since the first start)", honest.Height,
		syncTime.Round(time.Millisecond), time.Since(joinStart).Round(time.Millisecond))

	// It follows new Bitcoin blocks, and agrees with node0.
	for range 5 {
		b, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		ln.submit(ctx, 0, b)
		chain = append(chain, b)
	}
	final := chain[len(chain)-1].BlockHash().String()
	ln.waitAll(all(n+1), 2*time.Minute, "new blocks on every node", func(tp tip) bool { return tp.Hash == final })
	want, _ := ln.tip(ctx, 0)
	got, _ := ln.tip(ctx, n)
	if got.MuHash != want.MuHash {
		t.Fatalf("joiner MuHash %s, node0 %s", got.MuHash, want.MuHash)
	}
	h := height(rpcClient(t, mustRPC(t, late))) - 1
	if a, b := appHashAt(t, ctx, late, h), appHashAt(t, ctx, ln.homes[0], h); a != b {
		t.Fatalf("app hash at %d: joiner %s, node0 %s", h, a, b)
	}
	t.Logf("%v: the joiner follows: Bitcoin block %d, MuHash %s, app hash at %d agrees", time.Since(start).Round(time.Millisecond),
		len(chain), got.MuHash, h)
}

// snapMeta is the part of a snapshot's metadata the test reads and
// rewrites (consensus/app's snapshotMeta, JSON).
type snapMeta struct {
	Height      int64                  `json:"height"`
	AppHash     string                 `json:"app_hash"`
	Base        struct{ Height int32 } `json:"btc_base"`
	Tip         struct{ Height int32 } `json:"btc_tip"`
	ChunkHashes []string               `json:"chunk_hashes"`
}

// newestSnapshot reads the metadata of the newest snapshot in home.
func newestSnapshot(t *testing.T, home string) (snapMeta, bool) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(home, node.SnapshotDir, "*-1"))
	var best snapMeta
	found := false
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "metadata"))
		if err != nil {
			continue
		}
		var m snapMeta
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if !found || m.Height > best.Height {
			best, found = m, true
		}
	}
	return best, found
}

func hasSnapshot(home string, height int64) bool {
	_, err := os.Stat(filepath.Join(home, node.SnapshotDir, fmt.Sprintf("%d-1", height), "metadata"))
	return err == nil
}

// corruptChunks flips a byte in every chunk of every snapshot in home.
func corruptChunks(t *testing.T, home string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(home, node.SnapshotDir, "*-1", "[0-9]*"))
	if len(files) == 0 {
		t.Fatal("no chunks to corrupt")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x40
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// forgeSnapshot writes, into to's snapshot directory, from's snapshot m
// relabelled as height h with app hash appHash: the chunks of an older
// state under metadata that names a newer one.
func forgeSnapshot(t *testing.T, from, to string, m snapMeta, h int64, appHash string) {
	t.Helper()
	src := filepath.Join(from, node.SnapshotDir, fmt.Sprintf("%d-1", m.Height))
	tmp := filepath.Join(to, node.SnapshotDir, "forged.partial")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range m.ChunkHashes {
		b, err := os.ReadFile(filepath.Join(src, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, strconv.Itoa(i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(src, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	meta["height"], meta["app_hash"] = h, strings.ToLower(appHash)
	raw, _ = json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(tmp, "metadata"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(to, node.SnapshotDir, fmt.Sprintf("%d-1", h))); err != nil {
		t.Fatal(err)
	}
}

// appHashAt is the app hash of the state at height h: what the header of
// h+1 carries.
func appHashAt(t *testing.T, ctx context.Context, home string, h int64) string {
	t.Helper()
	next := h + 1
	b, err := rpcClient(t, mustRPC(t, home)).Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b.Block.Header.AppHash)
}

func blockHashAt(t *testing.T, ctx context.Context, home string, h int64) string {
	t.Helper()
	b, err := rpcClient(t, mustRPC(t, home)).Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	return b.BlockID.Hash.String()
}

func cometRPC(t *testing.T, home string) string {
	t.Helper()
	return strings.Replace(mustRPC(t, home), "tcp://", "http://", 1)
}

// setFinalityDepth rewrites the shared genesis of homes with another
// finality_depth, before any of them starts.
func setFinalityDepth(t *testing.T, homes []string, depth int) {
	t.Helper()
	path := filepath.Join(homes[0], "config", "genesis.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var state map[string]json.RawMessage
	if err := json.Unmarshal(doc["app_state"], &state); err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := json.Unmarshal(state["params"], &params); err != nil {
		t.Fatal(err)
	}
	params["finality_depth"] = depth
	state["params"], _ = json.Marshal(params)
	doc["app_state"], _ = json.Marshal(state)
	raw, _ = json.MarshalIndent(doc, "", "  ")
	for _, h := range homes {
		if err := os.WriteFile(filepath.Join(h, "config", "genesis.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func editAppConfig(t *testing.T, home string, edit func(*node.AppConfig)) {
	t.Helper()
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	edit(&ac)
	if err := node.WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func apiAddr(t *testing.T, home string) string {
	t.Helper()
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	return ac.RPC.Listen
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httpCode(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
