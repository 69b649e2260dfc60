package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node/btcpeer"

	"github.com/BurntSushi/toml"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"
)

// ErrConfig wraps every problem with config.toml or app.toml.
var ErrConfig = errors.New("node: invalid configuration")

// Paths inside a home directory.
const (
	AppConfigFile = "config/app.toml"
	// StoreDir holds satnode's goleveldb store, beside CometBFT's
	// databases in data/.
	StoreDir = "data/satnode"
	// KeysDir is the keyring's directory.
	KeysDir = "keys"
)

// AppConfig is app.toml: satnode's settings, beside CometBFT's config.toml.
// Every key is documented in the file DefaultAppConfig writes (see
// appConfigTemplate); unknown keys are errors, so a misspelt key is not
// silently ignored.
type AppConfig struct {
	Log          LogConfig          `toml:"log"`
	UTXO         UTXOConfig         `toml:"utxo"`
	Bodies       BodiesConfig       `toml:"bodies"`
	Bitcoin      BitcoinConfig      `toml:"bitcoin"`
	Synchronizer SynchronizerConfig `toml:"synchronizer"`
	Endorser     EndorserConfig     `toml:"endorser"`
	P2P          P2PConfig          `toml:"p2p"`
	RPC          RPCConfig          `toml:"rpc"`
	StateSync    StateSyncConfig    `toml:"statesync"`
}

// StateSyncConfig is the [statesync] table: the snapshots this node makes
// and serves to peers joining by state sync. Joining by state sync is
// set up in config.toml's [statesync], CometBFT's.
type StateSyncConfig struct {
	// SnapshotInterval: a snapshot every that many CometBFT blocks (0:
	// none made; those on disk are still served).
	SnapshotInterval int64 `toml:"snapshot_interval"`
	// SnapshotKeepRecent is how many snapshots are kept.
	SnapshotKeepRecent int `toml:"snapshot_keep_recent"`
	// SnapshotChunkKB is the chunk size, in KiB.
	SnapshotChunkKB int `toml:"snapshot_chunk_kb"`
}

// SnapshotDir and RestoreDir are where the snapshots live and where a
// restore keeps its temporary files, under the home.
const (
	SnapshotDir = "data/snapshots"
	RestoreDir  = "data/statesync-tmp"
)

// LogConfig is the [log] table.
type LogConfig struct {
	// Level is the minimum level of satnode's own lines: debug, info,
	// warn or error. CometBFT's are filtered by config.toml's log_level
	// (DefaultCometLogLevel).
	Level string `toml:"level"`
}

// UTXOConfig is the [utxo] table.
type UTXOConfig struct {
	// CacheMB is the UTXO engine's coin cache budget, in MiB.
	CacheMB int64 `toml:"cache_mb"`
	// BlockCacheMB is goleveldb's block cache, in MiB. Every lookup goes
	// through the tables' bloom filters and index blocks, about 4.5 bytes
	// per coin in all; a cache that cannot hold them evicts them for data
	// blocks and reads them again and again (make bench-snapshot, 20M
	// coins: 2,043 tx/s connected with 128 MiB, 6,521 with 768 MiB).
	BlockCacheMB int64 `toml:"block_cache_mb"`
}

// BodiesConfig is the [bodies] table.
type BodiesConfig struct {
	// Sources are blk files (plain, xor-obfuscated or .bz2) or Bitcoin
	// Core blocks/ directories; relative paths are relative to the home.
	Sources []string `toml:"sources"`
	// BitcoinPeers are Bitcoin nodes, "host:port", asked for bodies over
	// the Bitcoin P2P protocol after every other source (node/btcpeer).
	BitcoinPeers []string `toml:"bitcoin_peers"`
	// Retention is how many Bitcoin blocks below the committed canonical
	// tip the body store keeps (0: all). Bodies above the tip are kept only
	// for headers in the committed tree, at most p2p.MaxBodyLead above it.
	Retention int32 `toml:"retention"`
}

// BitcoinConfig is the [bitcoin] table: the node's own Bitcoin node.
type BitcoinConfig struct {
	// RPC is the JSON-RPC address, e.g. "http://127.0.0.1:8332"; empty
	// means no Bitcoin node.
	RPC        string `toml:"rpc"`
	User       string `toml:"user"`
	Password   string `toml:"password"`
	CookieFile string `toml:"cookie_file"`
	// TLSCert is btcd's rpc.cert, for an https address.
	TLSCert string `toml:"tls_cert"`
	// TimeoutMS bounds one call.
	TimeoutMS int `toml:"timeout_ms"`
}

// SynchronizerConfig is the [synchronizer] table.
type SynchronizerConfig struct {
	Enabled bool `toml:"enabled"`
	// Key is the keyring name of the registered synchronizer's key.
	Key string `toml:"key"`
	// Batch is the number of headers per SubmitHeaders transaction.
	Batch int `toml:"batch"`
	// PollMS is how often the Bitcoin node's tip is read.
	PollMS int `toml:"poll_ms"`
}

// EndorserConfig is the [endorser] table.
type EndorserConfig struct {
	Enabled bool `toml:"enabled"`
	// Key is the keyring name of the validator's endorser key.
	Key string `toml:"key"`
}

// P2PConfig is the [p2p] table: the libp2p host that carries bodies.
type P2PConfig struct {
	// Listen are libp2p multiaddresses; empty turns libp2p off.
	Listen []string `toml:"listen"`
	// Bootstrap are peers' multiaddresses with their /p2p/<id>.
	Bootstrap []string `toml:"bootstrap"`
	// MaxBodyMB caps a body read from a peer.
	MaxBodyMB int `toml:"max_body_mb"`
}

// RPCConfig is the [rpc] table: satnode's read-only HTTP API.
type RPCConfig struct {
	// Listen is host:port; empty turns the server off.
	Listen   string `toml:"listen"`
	User     string `toml:"user"`
	Password string `toml:"password"`
	// Cookie writes data/rpc.cookie at start, as Bitcoin Core's .cookie.
	Cookie    bool `toml:"cookie"`
	MaxBodyKB int  `toml:"max_body_kb"`
	MaxUTXOs  int  `toml:"max_utxos"`
	MaxPage   int  `toml:"max_page"`
	MaxConns  int  `toml:"max_conns"`
	// MaxBatch caps the calls of one JSON-RPC batch; MaxReplyKB one
	// JSON-RPC reply, counted while it is built (rpc.Config).
	MaxBatch   int `toml:"max_batch"`
	MaxReplyKB int `toml:"max_reply_kb"`
}

// RPCCookieFile is where [rpc] cookie = true writes the cookie.
const RPCCookieFile = "data/rpc.cookie"

// DefaultRPCListen is the default address of satnode's HTTP API.
const DefaultRPCListen = "127.0.0.1:26680"

// DefaultAppConfig is what Init writes.
func DefaultAppConfig() AppConfig {
	return AppConfig{Log: LogConfig{Level: "info"}, UTXO: UTXOConfig{CacheMB: 256, BlockCacheMB: 512},
		Bodies:       BodiesConfig{Sources: []string{}, BitcoinPeers: []string{}, Retention: 10_000},
		Bitcoin:      BitcoinConfig{TimeoutMS: 10_000},
		Synchronizer: SynchronizerConfig{Key: KeySynchronizer, Batch: 2000, PollMS: 200},
		Endorser:     EndorserConfig{Key: KeyEndorser},
		P2P:          P2PConfig{Listen: []string{}, Bootstrap: []string{}, MaxBodyMB: 8},
		RPC:          RPCConfig{Listen: DefaultRPCListen, MaxBodyKB: 1024, MaxUTXOs: 1000, MaxPage: 1000, MaxConns: 1024, MaxBatch: 1000, MaxReplyKB: 16 << 10},
		StateSync:    StateSyncConfig{SnapshotKeepRecent: 2, SnapshotChunkKB: 4096}}
}

// maxCacheMB bounds cache_mb: a typo with extra digits should fail at
// start, not when the machine runs out of memory hours later.
const maxCacheMB = 1 << 20

// Validate checks every field.
func (c AppConfig) Validate() error {
	if _, err := c.Log.level(); err != nil {
		return err
	}
	if c.UTXO.CacheMB < 1 || c.UTXO.CacheMB > maxCacheMB {
		return fmt.Errorf("%w: utxo.cache_mb = %d, want 1..%d", ErrConfig, c.UTXO.CacheMB, maxCacheMB)
	}
	if c.UTXO.BlockCacheMB < 8 || c.UTXO.BlockCacheMB > maxCacheMB {
		return fmt.Errorf("%w: utxo.block_cache_mb = %d, want 8..%d", ErrConfig, c.UTXO.BlockCacheMB, maxCacheMB)
	}
	for i, s := range c.Bodies.Sources {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%w: bodies.sources[%d] is empty", ErrConfig, i)
		}
	}
	if ss := c.StateSync; ss.SnapshotInterval < 0 || ss.SnapshotKeepRecent < 1 || ss.SnapshotKeepRecent > 100 ||
		ss.SnapshotChunkKB < 1 || ss.SnapshotChunkKB > 15<<10 {
		return fmt.Errorf("%w: statesync: snapshot_interval = %d (want 0 or more), snapshot_keep_recent = %d (want 1..100), "+
			"snapshot_chunk_kb = %d (want 1..15360)", ErrConfig, ss.SnapshotInterval, ss.SnapshotKeepRecent, ss.SnapshotChunkKB)
	}
	for i, a := range c.Bodies.BitcoinPeers {
		if btcpeer.CheckAddr(a) != nil {
			return fmt.Errorf("%w: bodies.bitcoin_peers[%d] = %q, want host:port (e.g. \"127.0.0.1:8333\")", ErrConfig, i, a)
		}
		if slices.Index(c.Bodies.BitcoinPeers, a) < i {
			return fmt.Errorf("%w: bodies.bitcoin_peers[%d] = %q is listed twice", ErrConfig, i, a)
		}
	}
	if c.Bodies.Retention < 0 {
		return fmt.Errorf("%w: bodies.retention = %d, want 0 (keep all) or more", ErrConfig, c.Bodies.Retention)
	}
	if c.Bitcoin.RPC != "" {
		u, err := url.Parse(c.Bitcoin.RPC)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: bitcoin.rpc = %q, want http://host:port or https://host:port", ErrConfig, c.Bitcoin.RPC)
		}
	}
	if c.Bitcoin.CookieFile != "" && (c.Bitcoin.User != "" || c.Bitcoin.Password != "") {
		return fmt.Errorf("%w: bitcoin: set cookie_file or user/password, not both", ErrConfig)
	}
	if c.Bitcoin.TimeoutMS < 100 || c.Bitcoin.TimeoutMS > 600_000 {
		return fmt.Errorf("%w: bitcoin.timeout_ms = %d, want 100..600000", ErrConfig, c.Bitcoin.TimeoutMS)
	}
	if (c.Synchronizer.Enabled || c.Endorser.Enabled) && c.Bitcoin.RPC == "" {
		return fmt.Errorf("%w: the synchronizer and the endorser need a Bitcoin node: set bitcoin.rpc", ErrConfig)
	}
	if c.Synchronizer.Enabled && c.Synchronizer.Key == "" {
		return fmt.Errorf("%w: synchronizer.key is empty", ErrConfig)
	}
	if c.Endorser.Enabled && c.Endorser.Key == "" {
		return fmt.Errorf("%w: endorser.key is empty", ErrConfig)
	}
	if c.Synchronizer.Batch < 1 || c.Synchronizer.Batch > tx.MaxHeadersPerTx {
		return fmt.Errorf("%w: synchronizer.batch = %d, want 1..%d", ErrConfig, c.Synchronizer.Batch, tx.MaxHeadersPerTx)
	}
	if c.Synchronizer.PollMS < 10 || c.Synchronizer.PollMS > 60_000 {
		return fmt.Errorf("%w: synchronizer.poll_ms = %d, want 10..60000", ErrConfig, c.Synchronizer.PollMS)
	}
	if c.P2P.MaxBodyMB < 1 || c.P2P.MaxBodyMB > 64 {
		return fmt.Errorf("%w: p2p.max_body_mb = %d, want 1..64", ErrConfig, c.P2P.MaxBodyMB)
	}
	if err := c.RPC.validate(); err != nil {
		return err
	}
	for i, a := range c.P2P.Listen {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			return fmt.Errorf("%w: p2p.listen[%d] = %q: %v", ErrConfig, i, a, err)
		}
	}
	for i, a := range c.P2P.Bootstrap {
		if _, err := peer.AddrInfoFromString(a); err != nil {
			return fmt.Errorf("%w: p2p.bootstrap[%d] = %q: %v (want /ip4/<ip>/tcp/<port>/p2p/<peer id>)", ErrConfig, i, a, err)
		}
	}
	return nil
}

func (r RPCConfig) validate() error {
	if r.Listen != "" {
		if _, port, err := net.SplitHostPort(r.Listen); err != nil || port == "" {
			return fmt.Errorf("%w: rpc.listen = %q, want host:port (e.g. %q)", ErrConfig, r.Listen, DefaultRPCListen)
		}
	}
	if (r.User == "") != (r.Password == "") {
		return fmt.Errorf("%w: rpc: set both user and password, or neither", ErrConfig)
	}
	if r.Cookie && r.User != "" {
		return fmt.Errorf("%w: rpc: set cookie or user/password, not both", ErrConfig)
	}
	for _, f := range []struct {
		name      string
		v, lo, hi int
	}{{"max_body_kb", r.MaxBodyKB, 1, 1 << 20}, {"max_utxos", r.MaxUTXOs, 1, 10_000_000},
		{"max_page", r.MaxPage, 1, 100_000}, {"max_conns", r.MaxConns, 1, 1 << 20},
		// A reply cap under 64 KiB would refuse ordinary answers; over
		// 1 GiB it no longer protects the process.
		{"max_batch", r.MaxBatch, 1, 100_000}, {"max_reply_kb", r.MaxReplyKB, 64, 1 << 20}} {
		if f.v < f.lo || f.v > f.hi {
			return fmt.Errorf("%w: rpc.%s = %d, want %d..%d", ErrConfig, f.name, f.v, f.lo, f.hi)
		}
	}
	return nil
}

func (l LogConfig) level() (slog.Level, error) {
	var lvl slog.Level
	switch l.Level {
	case "debug", "info", "warn", "error":
		// slog also takes "INFO+2" and the like; keep the file's language
		// to the four documented words.
		if err := lvl.UnmarshalText([]byte(l.Level)); err == nil {
			return lvl, nil
		}
	}
	return 0, fmt.Errorf("%w: log.level = %q, want debug, info, warn or error", ErrConfig, l.Level)
}

// SourcePaths returns bodies.sources with relative paths resolved against
// home.
func (c AppConfig) SourcePaths(home string) []string {
	out := make([]string, len(c.Bodies.Sources))
	for i, s := range c.Bodies.Sources {
		if !filepath.IsAbs(s) {
			s = filepath.Join(home, s)
		}
		out[i] = s
	}
	return out
}

// LoadAppConfig reads and validates home's app.toml. Keys that are absent
// keep their defaults; unknown keys are errors.
func LoadAppConfig(home string) (AppConfig, error) {
	path := filepath.Join(home, AppConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return AppConfig{}, fmt.Errorf("%w: %s does not exist (is %s a home made by `satnode init`?)", ErrConfig, path, home)
	}
	if err != nil {
		return AppConfig{}, fmt.Errorf("node: %w", err)
	}
	return ParseAppConfig(path, data)
}

// ParseAppConfig decodes app.toml's contents; path is for messages.
func ParseAppConfig(path string, data []byte) (AppConfig, error) {
	c := DefaultAppConfig()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return AppConfig{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		slices.Sort(keys)
		return AppConfig{}, fmt.Errorf("%w: %s: unknown keys %s", ErrConfig, path, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return AppConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// appConfigTemplate is app.toml with every key documented.
var appConfigTemplate = template.Must(template.New("app.toml").Funcs(template.FuncMap{"q": tomlString, "list": tomlList}).Parse(
	`# satnode's configuration. CometBFT's own settings (ports, peers, block
# times, its log filter) are in config.toml beside this file.
# Unknown keys are an error, so a misspelt key is not silently ignored.

[log]
# Minimum level of satnode's own log lines, written to standard error:
# "debug", "info", "warn" or "error" (satnode start --log-level overrides
# it). At "info" a node writes a line per Bitcoin block applied, or while
# catching up one line every few seconds for all the blocks applied
# meanwhile, plus its roles' lines and the way to live.
#
# CometBFT's lines are not filtered here but by log_level in config.toml,
# as CometBFT documents it. satnode writes log_level = "error" there (and
# assumes it when the key is absent): CometBFT has no warn level, and at
# "info" it writes about eight lines a block, "Timed out" among them. For
# more, set it to "info", or per module, e.g. "consensus:info,p2p:debug"
# (modules not named stay at "error"). Both write in config.toml's
# log_format ("plain" or "json").
level = {{q .Log.Level}}

[utxo]
# Budget of the in-memory coin cache, in MiB (1..1048576). Larger caches
# absorb more outputs created and spent between commits; the process needs
# this much memory on top of goleveldb's and CometBFT's.
cache_mb = {{.UTXO.CacheMB}}
# goleveldb's block cache, in MiB (8..1048576). It must hold the tables'
# bloom filters and index blocks, about 4.5 bytes per coin: give mainnet
# (164M coins) 1024 or more, or every lookup reads them from disk again.
block_cache_mb = {{.UTXO.BlockCacheMB}}

[bodies]
# Where Bitcoin block bodies come from, to apply the blocks the chain
# endorses, tried in this order: the node's body store (data/bodies), these
# sources, libp2p peers ([p2p]), the node's own Bitcoin node ([bitcoin]),
# then bitcoin_peers. Every body is checked against its header before use.
#
# sources: blk files as Bitcoin Core writes them (plain, or obfuscated with
# the xor.dat beside them), bzip2-compressed blk files (".bz2"), or Bitcoin
# Core blocks/ directories. Relative paths are relative to the home
# directory. The files are indexed once at start: blocks written to them
# later are seen after a restart. Compressed files cannot be read by
# position, so their blocks are held in memory (their decompressed size).
# Example: sources = ["/var/lib/bitcoind/blocks"]
sources = {{list .Bodies.Sources}}
# Bitcoin nodes (Bitcoin Core or btcd) asked for bodies over the Bitcoin
# P2P protocol, as "host:port", in this order, after every other source:
# for a node without [bitcoin] rpc whose libp2p peers have pruned a body.
# They must be on the chain's network (app_state.network in genesis.json)
# and hold the blocks (a pruned node serves only its last 288). The node
# connects when it first needs one, serves them nothing, and leaves one
# that fails alone for a while (1 s, doubling up to 5 min).
# Example: bitcoin_peers = ["127.0.0.1:8333", "[2001:db8::1]:8333"]
bitcoin_peers = {{list .Bodies.BitcoinPeers}}
# How many Bitcoin blocks below the committed canonical tip the body store
# keeps, to serve peers and late joiners (0: keep every body).
retention = {{.Bodies.Retention}}

[bitcoin]
# The node's own Bitcoin node (Bitcoin Core or btcd), over JSON-RPC. The
# synchronizer follows it, the endorser checks pending headers against it,
# and the node fetches bodies from it when no peer has them. Empty: none.
# Example: rpc = "http://127.0.0.1:8332"; btcd without --notls wants
# "https://127.0.0.1:8334" and tls_cert = its rpc.cert.
rpc = {{q .Bitcoin.RPC}}
# Either user and password, or Bitcoin Core's cookie file (re-read when
# the node restarts and writes a new one).
user = {{q .Bitcoin.User}}
password = {{q .Bitcoin.Password}}
cookie_file = {{q .Bitcoin.CookieFile}}
tls_cert = {{q .Bitcoin.TLSCert}}
# Bound on one call, in milliseconds; failed calls are retried with backoff.
timeout_ms = {{.Bitcoin.TimeoutMS}}

[synchronizer]
# A mining pool's role: follow the Bitcoin node and submit its best chain's
# headers, and serve their bodies over libp2p. The key must be a registered
# synchronizer's (satnode tx register-synchronizer).
enabled = {{.Synchronizer.Enabled}}
# Name of the key in the keyring (keys/).
key = {{q .Synchronizer.Key}}
# Headers per SubmitHeaders transaction (1..2000) while catching up.
batch = {{.Synchronizer.Batch}}
# How often the Bitcoin node's tip is read, in milliseconds.
poll_ms = {{.Synchronizer.PollMS}}

[endorser]
# A validator's role: endorse the pending headers that the Bitcoin node has
# in its best chain and whose body this node holds, checked.
enabled = {{.Endorser.Enabled}}
# Name of the validator's endorser key in the keyring (keys/).
key = {{q .Endorser.Key}}

[p2p]
# The libp2p host that announces and serves block bodies. Its identity is
# config/p2p_key. Empty listen: no libp2p.
# Example: listen = ["/ip4/0.0.0.0/tcp/26660"]
listen = {{list .P2P.Listen}}
# Peers to connect to and stay connected with, as
# "/ip4/<ip>/tcp/<port>/p2p/<peer id>" (satnode p2p id prints a node's).
bootstrap = {{list .P2P.Bootstrap}}
# Largest body accepted from a peer, in MiB (1..64).
max_body_mb = {{.P2P.MaxBodyMB}}

[rpc]
# satnode's read-only HTTP API over the last committed state: Bitcoin
# Core's JSON-RPC (POST /), Esplora's REST (/blocks/..., /address/...,
# also under /api/), the native API with its websocket stream (/v1/...),
# and Prometheus metrics (/metrics). Empty listen: off. Keep it on
# loopback unless a reverse proxy in front of it limits who may connect.
listen = {{q .RPC.Listen}}
# Basic auth for the JSON-RPC dialect, as Bitcoin Core's rpcuser and
# rpcpassword; or cookie = true, which writes a fresh
# "__cookie__:<random>" to data/rpc.cookie (mode 0600) at every start, as
# Core's .cookie. The REST dialects and /metrics stay open: they serve
# public chain data only.
user = {{q .RPC.User}}
password = {{q .RPC.Password}}
cookie = {{.RPC.Cookie}}
# Largest request body, in KiB; larger requests get 413.
max_body_kb = {{.RPC.MaxBodyKB}}
# Most unspent outputs one unpaged answer lists (Esplora /utxo,
# scantxoutset); beyond it the request fails at once and says how to page
# (?limit=N&after=TXID:VOUT).
max_utxos = {{.RPC.MaxUTXOs}}
# Largest page (?limit=).
max_page = {{.RPC.MaxPage}}
# Most simultaneous connections; more wait to be accepted.
max_conns = {{.RPC.MaxConns}}
# Most calls in one JSON-RPC batch (1..100000); a longer batch is refused
# whole with error -32600 naming max_batch.
max_batch = {{.RPC.MaxBatch}}
# Largest JSON-RPC reply, single call or whole batch, in KiB
# (64..1048576). It is counted while the reply is built: a result that
# would pass it, and every later call of its batch, gets error -7 "Reply
# exceeds N bytes (max_reply_kb)" instead, so a small request cannot make
# the node hold gigabytes.
max_reply_kb = {{.RPC.MaxReplyKB}}

[statesync]
# The snapshots of the state this node makes and serves to nodes joining
# by state sync (CometBFT's [statesync] in config.toml is the joining
# side). A snapshot holds the UTXO set at the finalized base in Bitcoin
# Core's dumptxoutset format, and the consensus state; it is written to
# data/snapshots in the background. At mainnet's 164M coins one is about
# 6 GB and takes a few minutes: keep snapshot_keep_recent × that free.
# A snapshot every this many CometBFT blocks (0: none made; those already
# on disk are still served).
snapshot_interval = {{.StateSync.SnapshotInterval}}
# How many snapshots are kept (1..100).
snapshot_keep_recent = {{.StateSync.SnapshotKeepRecent}}
# Chunk size in KiB (1..15360); a peer fetches one chunk per request.
snapshot_chunk_kb = {{.StateSync.SnapshotChunkKB}}
`))

// tomlString quotes s as a TOML basic string. JSON strings are valid TOML
// basic strings: the escapes JSON emits (\", \\, \n, \uXXXX, ...) are all
// TOML escapes.
func tomlString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func tomlList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Encode renders c as a documented app.toml.
func (c AppConfig) Encode() []byte {
	var b bytes.Buffer
	if err := appConfigTemplate.Execute(&b, c); err != nil {
		panic(fmt.Sprintf("node: app.toml template: %v", err)) // the template is fixed and tested
	}
	return b.Bytes()
}

// WriteAppConfig validates c and writes it as home's app.toml.
func WriteAppConfig(home string, c AppConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, AppConfigFile), c.Encode(), 0o644)
}

// LoadCometConfig reads home's config/config.toml into CometBFT's config,
// rooted at home, and validates it. Absent keys keep CometBFT's defaults,
// but for log_level: DefaultCometLogLevel.
// It uses its own viper instance, not viper's global one, so that several
// nodes can be loaded in one process (tests).
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	path := filepath.Join(home, "config", "config.toml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist (is %s a home made by `satnode init`?)", ErrConfig, path, home)
	}
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	cfg := cmtcfg.DefaultConfig()
	cfg.LogLevel = DefaultCometLogLevel // CometBFT's own default is "info"
	if err := v.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	cfg.SetRoot(home)
	if err := cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return cfg, nil
}
