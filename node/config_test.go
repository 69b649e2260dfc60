package node

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestAppConfigRoundTrip: the file DefaultAppConfig writes parses back to
// the defaults, and sources with characters TOML must escape survive.
func TestAppConfigRoundTrip(t *testing.T) {
	full := DefaultAppConfig()
	full.Log.Level, full.UTXO.CacheMB = "debug", 1
	full.Bodies = BodiesConfig{Sources: []string{"/a b/blocks", `C:\x "q"`, "rel/blk00000.dat.bz2", "ü\t"},
		BitcoinPeers: []string{"127.0.0.1:18444", "[::1]:8333", "btc.example:8333"}, Retention: 0}
	full.Bitcoin = BitcoinConfig{RPC: "https://127.0.0.1:8334", CookieFile: "/c/.cookie", TLSCert: "rpc.cert", TimeoutMS: 500}
	full.Synchronizer = SynchronizerConfig{Enabled: true, Key: "pool", Batch: 7, PollMS: 50}
	full.Endorser = EndorserConfig{Enabled: true, Key: "e"}
	full.P2P = P2PConfig{Listen: []string{"/ip4/127.0.0.1/tcp/1"},
		Bootstrap: []string{"/ip4/127.0.0.1/tcp/2/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"}, MaxBodyMB: 4}
	full.StateSync = StateSyncConfig{SnapshotInterval: 500, SnapshotKeepRecent: 3, SnapshotChunkKB: 1}
	for _, c := range []AppConfig{DefaultAppConfig(), full} {
		got, err := ParseAppConfig("app.toml", c.Encode())
		if err != nil {
			t.Fatalf("%v\n%s", err, c.Encode())
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	}
}

// TestAppConfigErrors: unknown keys, wrong types and bad values are
// refused with ErrConfig and a message naming the key; absent keys keep
// their defaults.
func TestAppConfigErrors(t *testing.T) {
	got, err := ParseAppConfig("app.toml", []byte("[utxo]\ncache_mb = 64\n"))
	if err != nil || got.UTXO.CacheMB != 64 || got.Log.Level != "info" || len(got.Bodies.Sources) != 0 {
		t.Fatalf("partial file: %+v, %v", got, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"[utxo]\ncache_mbs = 64\n", "unknown keys utxo.cache_mbs"},
		{"[bodies]\nsource = []\n[extra]\nx = 1\n", "unknown keys bodies.source, extra, extra.x"},
		{"top = 1\n", "unknown keys top"},
		{"[utxo]\ncache_mb = \"64\"\n", "cache_mb"},
		{"[utxo]\ncache_mb = 0\n", "utxo.cache_mb = 0"},
		{"[utxo]\ncache_mb = 99999999\n", "utxo.cache_mb = 99999999"},
		{"[log]\nlevel = \"loud\"\n", `log.level = "loud"`},
		{"[log]\nlevel = \"INFO+2\"\n", `log.level = "INFO+2"`},
		{"[bodies]\nsources = [\"\"]\n", "bodies.sources[0] is empty"},
		{"[bodies]\nsources = \"/x\"\n", "sources"},
		{"not toml", "app.toml"},
		{"[bodies]\nretention = -1\n", "bodies.retention = -1"},
		{"[statesync]\nsnapshot_interval = -1\n", "snapshot_interval = -1"},
		{"[statesync]\nsnapshot_keep_recent = 0\n", "snapshot_keep_recent = 0"},
		{"[statesync]\nsnapshot_chunk_kb = 16384\n", "snapshot_chunk_kb = 16384"},
		{"[statesync]\nsnapshot_every = 5\n", "snapshot_every"},
		{"[bodies]\nbitcoin_peers = [\"127.0.0.1\"]\n", `bodies.bitcoin_peers[0] = "127.0.0.1", want host:port`},
		{"[bodies]\nbitcoin_peers = [\"h:1\", \"h:0\"]\n", `bodies.bitcoin_peers[1] = "h:0"`},
		{"[bodies]\nbitcoin_peers = [\"h:1\", \"h:1\"]\n", "listed twice"},
		{"[bodies]\nbitcoin_peers = \"h:1\"\n", "bitcoin_peers"},
		{"[bitcoin]\nrpc = \"127.0.0.1:8332\"\n", `bitcoin.rpc = "127.0.0.1:8332"`},
		{"[bitcoin]\nrpc = \"http://h:1\"\nuser = \"u\"\ncookie_file = \"c\"\n", "not both"},
		{"[bitcoin]\ntimeout_ms = 1\n", "bitcoin.timeout_ms = 1"},
		{"[synchronizer]\nenabled = true\n", "set bitcoin.rpc"},
		{"[endorser]\nenabled = true\n", "set bitcoin.rpc"},
		{"[synchronizer]\nbatch = 2001\n", "synchronizer.batch = 2001"},
		{"[synchronizer]\npoll_ms = 0\n", "synchronizer.poll_ms = 0"},
		{"[p2p]\nlisten = [\"tcp://x\"]\n", "p2p.listen[0]"},
		{"[p2p]\nbootstrap = [\"/ip4/127.0.0.1/tcp/2\"]\n", "p2p.bootstrap[0]"},
		{"[p2p]\nmax_body_mb = 0\n", "p2p.max_body_mb = 0"},
		{"[rpc]\nmax_batch = 0\n", "rpc.max_batch = 0"},
		{"[rpc]\nmax_reply_kb = 63\n", "rpc.max_reply_kb = 63"},
	} {
		_, err := ParseAppConfig("app.toml", []byte(tc.file))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want ErrConfig mentioning %q", tc.file, err, tc.want)
		}
	}
	if _, err := LoadAppConfig(t.TempDir()); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "satnode init") {
		t.Fatalf("missing app.toml: %v", err)
	}
	if _, err := LoadCometConfig(t.TempDir()); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing config.toml: %v", err)
	}
}

// TestSourcePaths: relative sources are relative to the home.
func TestSourcePaths(t *testing.T) {
	c := AppConfig{Bodies: BodiesConfig{Sources: []string{"/abs/blocks", "rel/blk.dat"}}}
	got := c.SourcePaths("/home/x")
	if want := []string{"/abs/blocks", "/home/x/rel/blk.dat"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
