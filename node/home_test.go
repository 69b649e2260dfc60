package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/node/keyring"
	"github.com/satnode/satnode/utxo/memstore"
)

// initChain runs the genesis through a fresh application's InitChain, as
// CometBFT will at the first start, and returns the validator set it
// reports.
func initChain(t *testing.T, doc *types.GenesisDoc) []abci.ValidatorUpdate {
	t.Helper()
	a, err := app.New(app.Config{Store: memstore.New(), Bodies: app.NewMemBodies(), CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.InitChain(context.Background(), &abci.RequestInitChain{Time: doc.GenesisTime, ChainId: doc.ChainID,
		InitialHeight: doc.InitialHeight, AppStateBytes: doc.AppState})
	if err != nil {
		t.Fatalf("InitChain refuses the genesis: %v", err)
	}
	return res.Validators
}

// checkValidatorsMatch: genesis.json's validators are the set InitChain
// reports, key for key and power for power.
func checkValidatorsMatch(t *testing.T, doc *types.GenesisDoc, got []abci.ValidatorUpdate) {
	t.Helper()
	if len(got) != len(doc.Validators) {
		t.Fatalf("InitChain reports %d validators, genesis.json lists %d", len(got), len(doc.Validators))
	}
	want := map[string]int64{}
	for _, v := range doc.Validators {
		want[hex.EncodeToString(v.PubKey.Bytes())] = v.Power
	}
	for _, u := range got {
		k := hex.EncodeToString(u.PubKey.GetEd25519())
		if p, ok := want[k]; !ok || p != u.Power {
			t.Fatalf("InitChain validator %s power %d; genesis.json: %d (listed %v)", k, u.Power, p, ok)
		}
	}
}

func TestInit(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	info, err := Init(InitOptions{Home: home, ChainID: "satnode-test-1", Moniker: "alice", Network: "regtest",
		RPCAddr: "tcp://127.0.0.1:5"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config/config.toml", "config/app.toml", "config/genesis.json", "config/node_key.json",
		"config/priv_validator_key.json", "data/priv_validator_state.json", "keys/operator.json",
		"keys/endorser.json", "keys/synchronizer.json"} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.Contains(f, "key") && st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", f, st.Mode())
		}
	}
	cfg, err := LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Moniker != "alice" || cfg.RPC.ListenAddress != "tcp://127.0.0.1:5" || cfg.P2P.ListenAddress != "tcp://0.0.0.0:26656" {
		t.Fatalf("config: moniker %q rpc %q p2p %q", cfg.Moniker, cfg.RPC.ListenAddress, cfg.P2P.ListenAddress)
	}
	if ac, err := LoadAppConfig(home); err != nil || ac.UTXO.CacheMB != 256 {
		t.Fatalf("app.toml: %+v %v", ac, err)
	}
	doc, g, err := ReadGenesis(cfg.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if doc.ChainID != "satnode-test-1" || g.Network != "regtest" || g.Params != app.DefaultParams() || g.AppHashVersion != 2 {
		t.Fatalf("genesis: chain %q network %q app hash v%d params %+v", doc.ChainID, g.Network, g.AppHashVersion, g.Params)
	}
	kr := keyring.Open(filepath.Join(home, KeysDir))
	funded := map[string]uint64{}
	for _, a := range g.Accounts {
		funded[a.Address] = a.Balance
	}
	for _, name := range []string{KeyOperator, KeyEndorser, KeySynchronizer} {
		k, err := kr.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if funded[k.Address.String()] != GenesisBalance {
			t.Errorf("key %s (%s) is not funded", name, k.Address)
		}
	}
	ck, err := ConsensusKey(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != 1 || g.Validators[0].ConsensusKey != hex.EncodeToString(ck[:]) ||
		g.Validators[0].Operator != info.Operator || g.Validators[0].EndorserKey != info.Endorser ||
		g.Validators[0].Moniker != "alice" {
		t.Fatalf("validators %+v, consensus key %x, info %+v", g.Validators, ck, info)
	}
	if len(g.Synchronizers) != 1 || g.Synchronizers[0].Address != info.Synchronizer {
		t.Fatalf("synchronizers %+v", g.Synchronizers)
	}
	nk, err := p2p.LoadNodeKey(cfg.NodeKeyFile())
	if err != nil || string(nk.ID()) != info.NodeID {
		t.Fatalf("node key %v, %v", nk, err)
	}
	checkValidatorsMatch(t, doc, initChain(t, doc))

	// An existing home is never overwritten.
	before, _ := os.ReadFile(cfg.GenesisFile())
	if _, err := Init(InitOptions{Home: home, ChainID: "other", Moniker: "bob", Network: "regtest"}); !errors.Is(err, ErrHomeExists) {
		t.Fatalf("second init: %v", err)
	}
	if after, _ := os.ReadFile(cfg.GenesisFile()); !bytes.Equal(before, after) {
		t.Fatal("second init changed genesis.json")
	}
}

// TestInitStateSync: init with state-sync options writes CometBFT's
// [statesync] so that the node restores a snapshot at its first start.
func TestInitStateSync(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	hash := strings.Repeat("AB", 32)
	if _, err := Init(InitOptions{Home: home, ChainID: "c", Moniker: "m", Network: "regtest",
		StateSync: StateSyncOptions{RPCServers: []string{"http://a:26657", "http://b:26657"}, TrustHeight: 42,
			TrustHash: hash, TrustPeriod: 24 * time.Hour}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadCometConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	ss := cfg.StateSync
	if !ss.Enable || len(ss.RPCServers) != 2 || ss.TrustHeight != 42 || ss.TrustHash != hash || ss.TrustPeriod != 24*time.Hour {
		t.Fatalf("[statesync] %+v", ss)
	}
}

func TestInitBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    InitOptions
		want string
	}{
		{"no chain id", InitOptions{Moniker: "m", Network: "regtest"}, "chain id"},
		{"long chain id", InitOptions{ChainID: strings.Repeat("c", 51), Moniker: "m", Network: "regtest"}, "at most 50"},
		{"bad chain id", InitOptions{ChainID: "a\nb", Moniker: "m", Network: "regtest"}, "printable"},
		{"network", InitOptions{ChainID: "c", Moniker: "m", Network: "bitcoin"}, "unknown network"},
		{"moniker", InitOptions{ChainID: "c", Moniker: "a\u200bb", Network: "regtest"}, "InvalidMoniker"},
		{"long moniker", InitOptions{ChainID: "c", Moniker: strings.Repeat("m", 65), Network: "regtest"}, "InvalidMoniker"},
		{"no moniker", InitOptions{ChainID: "c", Network: "regtest"}, "moniker"},
		{"one state-sync server", InitOptions{ChainID: "c", Moniker: "m", Network: "regtest",
			StateSync: StateSyncOptions{RPCServers: []string{"http://a:26657"}, TrustHeight: 5, TrustHash: strings.Repeat("ab", 32)}}, "rpc_servers"},
		{"no trust hash", InitOptions{ChainID: "c", Moniker: "m", Network: "regtest",
			StateSync: StateSyncOptions{RPCServers: []string{"http://a:26657", "http://b:26657"}, TrustHeight: 5}}, "trusted_hash"},
		{"trust without servers", InitOptions{ChainID: "c", Moniker: "m", Network: "regtest",
			StateSync: StateSyncOptions{TrustHeight: 5}}, "without RPC servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "h")
			tc.o.Home = home
			_, err := Init(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
			if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused init left %s behind", home)
			}
		})
	}
}

func TestTestnet(t *testing.T) {
	out := t.TempDir()
	const n = 4
	infos, err := Testnet(TestnetOptions{Output: out, Validators: n, ChainID: "localnet", Network: "regtest", StartingPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != n {
		t.Fatalf("%d homes", len(infos))
	}
	var genesis []byte
	ports := map[string]bool{}
	ids := map[string]string{} // node id -> p2p address
	for i, info := range infos {
		home := filepath.Join(out, "node"+string(rune('0'+i)))
		if info.Home != home {
			t.Fatalf("home %d is %s", i, info.Home)
		}
		g, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		if genesis == nil {
			genesis = g
		} else if !bytes.Equal(g, genesis) {
			t.Fatalf("node%d has another genesis", i)
		}
		cfg, err := LoadCometConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{cfg.P2P.ListenAddress, cfg.RPC.ListenAddress} {
			if !strings.HasPrefix(a, "tcp://127.0.0.1:") || ports[a] {
				t.Fatalf("node%d: address %s not on 127.0.0.1 or not distinct", i, a)
			}
			ports[a] = true
		}
		ids[info.NodeID] = strings.TrimPrefix(cfg.P2P.ListenAddress, "tcp://")
		if cfg.P2P.AddrBookStrict || !cfg.P2P.AllowDuplicateIP || !cfg.Consensus.CreateEmptyBlocks ||
			cfg.Consensus.TimeoutCommit != 500*time.Millisecond || cfg.RPC.PprofListenAddress != "" || cfg.Instrumentation.Prometheus {
			t.Fatalf("node%d config: %+v %+v", i, cfg.P2P, cfg.Consensus)
		}
		_, err = keyring.Open(filepath.Join(home, KeysDir)).Get(KeySynchronizer)
		if (i == 0) != (err == nil) {
			t.Fatalf("node%d synchronizer key: %v", i, err)
		}
	}
	// Every node lists every other as a persistent peer, at its address.
	for i, info := range infos {
		cfg, _ := LoadCometConfig(info.Home)
		peers := strings.Split(cfg.P2P.PersistentPeers, ",")
		if len(peers) != n-1 {
			t.Fatalf("node%d peers %q", i, cfg.P2P.PersistentPeers)
		}
		for _, p := range peers {
			id, addr, _ := strings.Cut(p, "@")
			if ids[id] != addr || id == info.NodeID {
				t.Fatalf("node%d peer %s: want another node at its P2P address", i, p)
			}
		}
	}
	doc, g, err := ReadGenesis(filepath.Join(out, "node0", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Validators) != n || len(doc.Validators) != n || len(g.Synchronizers) != 1 || len(g.Accounts) != 2*n+1 {
		t.Fatalf("genesis: %d validators, %d synchronizers, %d accounts", len(g.Validators), len(g.Synchronizers), len(g.Accounts))
	}
	if g.AppHashVersion != 2 {
		t.Fatalf("testnet genesis: app hash v%d, want 2", g.AppHashVersion)
	}
	for _, v := range g.Validators {
		if v.SelfStake != g.Validators[0].SelfStake {
			t.Fatal("unequal stakes")
		}
	}
	checkValidatorsMatch(t, doc, initChain(t, doc))

	if _, err := Testnet(TestnetOptions{Output: out, Validators: n, ChainID: "localnet", Network: "regtest"}); !errors.Is(err, ErrHomeExists) {
		t.Fatalf("second testnet: %v", err)
	}
	// Fixed ports: node i at start+4i, start+4i+1, libp2p at +4i+2 and
	// satnode's API at +4i+3.
	infos, err = Testnet(TestnetOptions{Output: t.TempDir(), Validators: 2, ChainID: "c", Network: "regtest", StartingPort: 30000})
	if err != nil {
		t.Fatal(err)
	}
	if infos[1].P2PAddr != "tcp://127.0.0.1:30004" || infos[1].RPCAddr != "tcp://127.0.0.1:30005" ||
		infos[1].APIAddr != "127.0.0.1:30007" {
		t.Fatalf("fixed ports: %+v", infos[1])
	}
	for _, o := range []TestnetOptions{
		{Output: t.TempDir(), Validators: 0, ChainID: "c", Network: "regtest"},
		{Output: t.TempDir(), Validators: 65, ChainID: "c", Network: "regtest"},
		{Output: t.TempDir(), Validators: 2, ChainID: "c", Network: "regtest", StartingPort: 65535},
		{Output: t.TempDir(), Validators: 2, ChainID: "c", Network: "regtest", Host: "localhost"},
		{Output: t.TempDir(), Validators: 2, ChainID: "", Network: "regtest"},
		{Validators: 2, ChainID: "c", Network: "regtest"},
	} {
		if _, err := Testnet(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
