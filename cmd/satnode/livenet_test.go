package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtp2p "github.com/cometbft/cometbft/p2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/node/btcnode/btcdtest"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo/chaingen"
)

// liveNet is the end-to-end setup of the live path: N btcd regtest nodes
// peered together, and N satnode validators in their own processes, node i
// following btcd i (endorser), the first S also synchronizers.
type liveNet struct {
	t         *testing.T
	btcds     []*btcdtest.Node
	homes     []string
	operators []string
	clients   []*client.Client
	procs     []*nodeProc
	logDir    string
	runs      int
	mu        sync.Mutex
}

func newLiveNet(t *testing.T, n, syncs int) *liveNet {
	t.Helper()
	return newLiveNetWith(t, liveNetOptions{Validators: n, Synchronizers: syncs})
}

// liveNetOptions shape a liveNet.
type liveNetOptions struct {
	Validators    int // required
	Synchronizers int // the first homes with a synchronizer key (default 1)
	// Btcds is how many btcd nodes run, peered in a ring (default
	// Validators); validator i follows btcd i mod Btcds.
	Btcds int
	// Batch is the synchronizer's headers per transaction (default 10:
	// small, so that a catch-up takes several blocks).
	Batch int
}

func newLiveNetWith(t *testing.T, o liveNetOptions) *liveNet {
	t.Helper()
	n := o.Validators
	if o.Btcds <= 0 {
		o.Btcds = n
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	ln := &liveNet{t: t, logDir: t.TempDir()}
	for i := range o.Btcds {
		ln.btcds = append(ln.btcds, btcdtest.Start(t, btcdtest.Options{}))
		if i > 0 {
			ln.btcds[i].Connect(t, ln.btcds[i-1])
		}
	}
	if o.Btcds > 2 {
		ln.btcds[o.Btcds-1].Connect(t, ln.btcds[0])
	}
	out := t.TempDir()
	var bcs []node.BitcoinConfig
	for i := range n {
		b := ln.btcds[i%o.Btcds]
		bc := node.DefaultAppConfig().Bitcoin
		bc.RPC, bc.User, bc.Password = "http://"+b.RPCAddr, b.User, b.Password
		bc.TimeoutMS = 5000
		bcs = append(bcs, bc)
	}
	infos, err := node.Testnet(node.TestnetOptions{Output: out, Validators: n, Synchronizers: o.Synchronizers,
		ChainID: "satnode-live-test", Network: "regtest", TimeoutCommit: 300 * time.Millisecond, Bitcoin: bcs})
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		ln.homes = append(ln.homes, info.Home)
		ln.operators = append(ln.operators, info.Operator)
		ac, err := node.LoadAppConfig(info.Home)
		if err != nil {
			t.Fatal(err)
		}
		// A small cache: many processes share two cores.
		ac.Synchronizer.Batch = o.Batch
		ac.UTXO.CacheMB = 16
		if err := node.WriteAppConfig(info.Home, ac); err != nil {
			t.Fatal(err)
		}
		c, err := client.New(mustRPC(t, info.Home))
		if err != nil {
			t.Fatal(err)
		}
		ln.clients = append(ln.clients, c)
	}
	ln.procs = make([]*nodeProc, n)
	t.Cleanup(ln.cleanup)
	return ln
}

func (ln *liveNet) start(i int) {
	ln.mu.Lock()
	ln.runs++
	run := ln.runs
	ln.mu.Unlock()
	ln.procs[i] = startNodeProc(ln.t, ln.homes[i], filepath.Join(ln.logDir, fmt.Sprintf("node%d-run%d.log", i, run)))
}

func (ln *liveNet) cleanup() {
	for _, p := range ln.procs {
		if p != nil && p.running() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if ln.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(ln.logDir, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			ln.t.Logf("== %s (tail)\n%s", filepath.Base(l), b)
		}
	}
}

// tip is a node's /btc-tip answer.
type tip struct {
	Height           int32  `json:"height"`
	Hash             string `json:"hash"`
	MuHash           string `json:"muhash"`
	BestHeaderHeight int32  `json:"best_header_height"`
	BestHeaderHash   string `json:"best_header_hash"`
}

func (ln *liveNet) tip(ctx context.Context, i int) (tip, error) {
	var tp tip
	raw, err := ln.clients[i].Query(ctx, "/btc-tip")
	if err != nil {
		return tp, err
	}
	return tp, json.Unmarshal(raw, &tp)
}

// waitAll waits until cond holds for the tips of the nodes idx, polling
// every 25ms, and returns when; it fails the test after timeout.
func (ln *liveNet) waitAll(idx []int, timeout time.Duration, what string, cond func(tip) bool) time.Time {
	ln.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := make([]tip, len(ln.clients))
	for {
		ok := true
		for _, i := range idx {
			tp, err := ln.tip(ctx, i)
			if err != nil || !cond(tp) {
				ok = false
				last[i] = tp
				break
			}
		}
		if ok {
			return time.Now()
		}
		select {
		case <-ctx.Done():
			ln.t.Fatalf("%s: not within %v; last tips %+v", what, timeout, last)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func all(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// submit gives b to every running btcd, btcd first first. btcd relays
// blocks only when it thinks itself current, which a regtest chain with
// timestamps days old never is, so the peered nodes would pass blocks on
// only after their 30 s stall timeouts: the test hands each node the
// block, as a pool's node would get it from the network.
func (ln *liveNet) submit(ctx context.Context, first int, b *wire.MsgBlock) {
	ln.t.Helper()
	raw := serialize(ln.t, b)
	for k := range ln.btcds {
		i := (first + k) % len(ln.btcds)
		if !ln.btcds[i].Running() {
			continue
		}
		ln.submitTo(ctx, i, raw)
	}
}

// submitTo gives raw to btcd i. A peer may have relayed it already, when
// btcd thinks itself current.
func (ln *liveNet) submitTo(ctx context.Context, i int, raw []byte) {
	ln.t.Helper()
	if err := ln.btcds[i].SubmitBlock(ctx, raw); err != nil && !strings.Contains(err.Error(), "already have block") {
		ln.t.Fatalf("btcd%d: submitblock: %v", i, err)
	}
}

func serialize(t *testing.T, b *wire.MsgBlock) []byte {
	var buf bytes.Buffer
	if err := b.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitBtcds waits until every running btcd's tip is hash.
func (ln *liveNet) waitBtcds(hash chainhash.Hash, skip ...int) {
	ln.t.Helper()
	for i, b := range ln.btcds {
		if !slices.Contains(skip, i) {
			b.WaitTip(ln.t, hash, 60*time.Second)
		}
	}
}

// logHas reports whether node i's current log has a line containing s.
func (ln *liveNet) logHas(i int, s string) bool {
	b, _ := os.ReadFile(ln.procs[i].log)
	return strings.Contains(string(b), s)
}

// p2pAddr is node i's libp2p address with its peer id.
func p2pAddr(t *testing.T, home string) string {
	t.Helper()
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(home, node.P2PKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return ac.P2P.Listen[0] + "/p2p/" + id.String()
}

// newChainGen is the test chain: chaingen's default mix (every common
// script type: P2PKH, P2SH, P2SH-P2WPKH, P2WPKH, P2WSH, P2TR, OP_RETURN)
// with fewer transactions per block; segwit and taproot activate at 432,
// as btcd's regtest deployments do.
func newChainGen(t *testing.T) *chaingen.Generator {
	t.Helper()
	cfg := chaingen.DefaultConfig()
	cfg.Blocks = 700
	cfg.TxsPerBlock = 12
	g, err := chaingen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// joinHome writes a full node's home that joins the chain of ref: ref's
// genesis, all given nodes as CometBFT peers and libp2p bootstrap peers,
// and no Bitcoin node: every body comes from peers.
func joinHome(t *testing.T, ref string, peers []string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "late")
	ports, err := node.FreePorts("127.0.0.1", 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Init(node.InitOptions{Home: home, ChainID: "satnode-live-test", Moniker: "late", Network: "regtest",
		P2PAddr: "tcp://127.0.0.1:" + strconv.Itoa(ports[0]), RPCAddr: "tcp://127.0.0.1:" + strconv.Itoa(ports[1]),
		APIAddr: "127.0.0.1:" + strconv.Itoa(ports[3])}); err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(filepath.Join(ref, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), g, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := node.LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	refCfg, _ := node.LoadCometConfig(ref)
	var cpeers []string
	ac := node.DefaultAppConfig()
	for _, p := range peers {
		pc, _ := node.LoadCometConfig(p)
		nk, err := loadNodeID(pc)
		if err != nil {
			t.Fatal(err)
		}
		cpeers = append(cpeers, nk+"@"+strings.TrimPrefix(pc.P2P.ListenAddress, "tcp://"))
		ac.P2P.Bootstrap = append(ac.P2P.Bootstrap, p2pAddr(t, p))
	}
	cfg.P2P.PersistentPeers = strings.Join(cpeers, ",")
	cfg.P2P.AddrBookStrict, cfg.P2P.AllowDuplicateIP, cfg.P2P.PexReactor = false, true, false
	cfg.Consensus.TimeoutCommit = refCfg.Consensus.TimeoutCommit
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), cfg)
	ac.P2P.Listen = []string{"/ip4/127.0.0.1/tcp/" + strconv.Itoa(ports[2])}
	ac.RPC.Listen = "127.0.0.1:" + strconv.Itoa(ports[3])
	ac.UTXO.CacheMB = 16
	if err := node.WriteAppConfig(home, ac); err != nil {
		t.Fatal(err)
	}
	return home
}

func loadNodeID(cfg *cmtcfg.Config) (string, error) {
	nk, err := cmtp2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return "", err
	}
	return string(nk.ID()), nil
}

// btcRPCClient is btcd's own JSON-RPC client, as a dapp would use it.
func btcRPCClient(t *testing.T, addr, user, pass string) *rpcclient.Client {
	t.Helper()
	c, err := rpcclient.New(&rpcclient.ConnConfig{Host: addr, User: user, Pass: pass, HTTPPostMode: true, DisableTLS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// apiClient is an rpcclient for the satnode API of the node at home.
func (ln *liveNet) apiClient(home string) *rpcclient.Client {
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		ln.t.Fatal(err)
	}
	if ac.RPC.Listen == "" {
		ln.t.Fatalf("%s has no [rpc] listen address", home)
	}
	return btcRPCClient(ln.t, ac.RPC.Listen, "satnode", "unused")
}

// checkMetrics scrapes a running node's /metrics: the canonical tip is the
// chain's, blocks were applied and timed, its peers are counted, and the
// API's own requests (compareTxOuts' gettxout calls) are in the latency
// histogram.
func (ln *liveNet) checkMetrics(home string, tip int) {
	t := ln.t
	ac, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + ac.RPC.Listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		fmt.Sprintf(`satnode_btc_tip_height{tip="canonical"} %d`, tip),
		`satnode_btc_block_apply_seconds_count{op="connect"}`,
		`satnode_btc_txs_applied_total`,
		`satnode_utxo_cache_lookups_total{result="hit"}`,
		`satnode_peers{network="cometbft"}`,
		`satnode_peers{network="libp2p"}`,
		`satnode_rpc_request_duration_seconds_count{code="200",dialect="core",route="gettxout"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s/metrics lacks %s", ac.RPC.Listen, want)
		}
	}
	if strings.Contains(text, `satnode_peers{network="cometbft"} 0`) {
		t.Errorf("node's /metrics counts no CometBFT peers")
	}
}
