package node

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"

	"github.com/btcsuite/btcd/btcec/v2"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/consensus/tx"
	"github.com/satnode/satnode/node/keyring"
	"github.com/satnode/satnode/utxo"
)

// ErrHomeExists: Init or Testnet would overwrite an existing home.
var ErrHomeExists = errors.New("node: home already initialized")

// Names of the keys Init and Testnet put in a home's keyring.
const (
	KeyOperator     = "operator"
	KeyEndorser     = "endorser"
	KeySynchronizer = "synchronizer"
)

// Genesis amounts, in base units, for the accounts Init and Testnet fund.
// They are far above app.DefaultParams' minimums (1,000,000 for a self
// stake or a bond), so that a test chain can create validators and
// synchronizers without arithmetic; the power of a genesis validator is
// GenesisSelfStake / power_reduction = 1,000,000.
const (
	GenesisBalance   = 100_000_000_000_000 // each funded account
	GenesisSelfStake = 1_000_000_000_000   // each genesis validator
	GenesisBond      = 10_000_000_000      // each genesis synchronizer
)

// InitOptions describe a one-validator home.
type InitOptions struct {
	Home    string // required
	ChainID string // required: 1..50 printable ASCII characters
	Moniker string // required: the node's and its validator's name
	Network string // required: mainnet, testnet3, signet, regtest or simnet
	// P2PAddr and RPCAddr are CometBFT's listen addresses (default:
	// CometBFT's, tcp://0.0.0.0:26656 and tcp://127.0.0.1:26657).
	P2PAddr string
	RPCAddr string
	// APIAddr is satnode's own HTTP API address, app.toml's [rpc] listen
	// (default DefaultRPCListen; "off" turns it off).
	APIAddr string
	// StateSync, if it names RPC servers, turns on CometBFT's state sync
	// in config.toml: a node joining a running chain restores a recent
	// snapshot from its peers instead of replaying every block.
	StateSync StateSyncOptions
}

// StateSyncOptions are config.toml's [statesync] settings, CometBFT's:
// the light client that verifies the snapshot's app hash starts from a
// trusted header (height and hash, from a source the operator trusts) and
// asks the RPC servers (at least two, cross-checked) for the headers
// after it.
type StateSyncOptions struct {
	RPCServers  []string
	TrustHeight int64
	TrustHash   string
	// TrustPeriod: how long a header stays trusted (default 168h; it
	// must be shorter than the chain's unbonding time).
	TrustPeriod time.Duration
	// DiscoveryTime: how long to gather snapshots before choosing one
	// (default CometBFT's 15 s).
	DiscoveryTime time.Duration
}

// apply writes o into cfg's [statesync] and checks it as CometBFT does.
func (o StateSyncOptions) apply(cfg *cmtcfg.Config) error {
	if len(o.RPCServers) == 0 {
		if o.TrustHeight != 0 || o.TrustHash != "" {
			return fmt.Errorf("%w: a state-sync trust height or hash without RPC servers", ErrConfig)
		}
		return nil
	}
	ss := cfg.StateSync
	ss.Enable, ss.RPCServers, ss.TrustHeight, ss.TrustHash = true, o.RPCServers, o.TrustHeight, o.TrustHash
	if o.TrustPeriod > 0 {
		ss.TrustPeriod = o.TrustPeriod
	}
	if o.DiscoveryTime > 0 {
		ss.DiscoveryTime = o.DiscoveryTime
	}
	if err := ss.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: [statesync]: %v", ErrConfig, err)
	}
	return nil
}

// HomeInfo describes a home Init or Testnet wrote.
type HomeInfo struct {
	Home    string `json:"home"`
	Moniker string `json:"moniker"`
	NodeID  string `json:"node_id"`
	P2PAddr string `json:"p2p_laddr"`
	RPCAddr string `json:"rpc_laddr"`
	// APIAddr is satnode's own HTTP API ([rpc] listen).
	APIAddr string `json:"api_laddr,omitempty"`
	// ConsensusKey is the ed25519 key of priv_validator_key.json, hex.
	ConsensusKey string `json:"consensus_key"`
	Operator     string `json:"operator"`
	Endorser     string `json:"endorser"`
	// Synchronizer is empty in a home without that key.
	Synchronizer string `json:"synchronizer,omitempty"`
}

// homeFiles is everything one home gets, built in memory first so that
// bad input is refused before anything is written.
type homeFiles struct {
	home    string
	cfg     *cmtcfg.Config
	appCfg  AppConfig
	pv      *privval.FilePV
	nodeKey *p2p.NodeKey
	p2pKey  libp2pcrypto.PrivKey // the libp2p identity (P2PKeyFile)
	keys    []namedKey           // written to the keyring
	info    HomeInfo
}

type namedKey struct {
	name string
	priv *btcec.PrivateKey
}

// newHomeFiles generates a home's keys: consensus, node, operator and
// endorser, and with sync a synchronizer key.
func newHomeFiles(home, moniker string, sync bool) (*homeFiles, error) {
	h := &homeFiles{home: home, cfg: cmtcfg.DefaultConfig(), appCfg: DefaultAppConfig()}
	h.cfg.SetRoot(home)
	h.cfg.Moniker = moniker
	h.cfg.LogLevel = DefaultCometLogLevel
	h.pv = privval.NewFilePV(ed25519.GenPrivKey(), h.cfg.PrivValidatorKeyFile(), h.cfg.PrivValidatorStateFile())
	h.nodeKey = &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
	var err error
	if h.p2pKey, _, err = libp2pcrypto.GenerateEd25519Key(rand.Reader); err != nil {
		return nil, fmt.Errorf("node: generating the libp2p identity: %w", err)
	}
	names := []string{KeyOperator, KeyEndorser}
	if sync {
		names = append(names, KeySynchronizer)
	}
	for _, n := range names {
		priv, err := btcec.NewPrivateKey()
		if err != nil {
			return nil, fmt.Errorf("node: generating a key: %w", err)
		}
		h.keys = append(h.keys, namedKey{n, priv})
	}
	h.info = HomeInfo{Home: home, Moniker: moniker, NodeID: string(h.nodeKey.ID()),
		ConsensusKey: hex.EncodeToString(h.pv.Key.PubKey.Bytes()),
		Operator:     h.address(KeyOperator).String(), Endorser: h.address(KeyEndorser).String()}
	if sync {
		h.info.Synchronizer = h.address(KeySynchronizer).String()
	}
	return h, nil
}

func (h *homeFiles) address(name string) tx.Address {
	for _, k := range h.keys {
		if k.name == name {
			return tx.AddressOf(k.priv.PubKey())
		}
	}
	return tx.Address{}
}

// genesisValidator is this home's validator entry, checked with the rules
// CreateValidator applies (EncodeMsg runs ValidateBasic), so a bad moniker
// is refused here and not at the chain's first block.
func (h *homeFiles) genesisValidator() (app.GenesisValidator, error) {
	ck := [32]byte(h.pv.Key.PubKey.Bytes())
	if _, err := tx.EncodeMsg(tx.CreateValidator{ConsensusKey: ck, EndorserKey: h.address(KeyEndorser),
		SelfStake: GenesisSelfStake, Moniker: h.cfg.Moniker}); err != nil {
		return app.GenesisValidator{}, fmt.Errorf("node: moniker %q: %w", h.cfg.Moniker, err)
	}
	return app.GenesisValidator{Operator: h.info.Operator, ConsensusKey: h.info.ConsensusKey,
		EndorserKey: h.info.Endorser, Moniker: h.cfg.Moniker, SelfStake: GenesisSelfStake}, nil
}

// checkFree refuses a home that holds any file Init would write: a home's
// keys and chain state are not to be replaced by accident. An empty or
// absent directory, or one with only other files (other keys), is fine.
func (h *homeFiles) checkFree() error {
	paths := []string{
		filepath.Join(h.home, "config"),
		filepath.Join(h.home, "data"),
	}
	kr := keyring.Open(filepath.Join(h.home, KeysDir))
	for _, k := range h.keys {
		if _, err := kr.Get(k.name); !errors.Is(err, keyring.ErrNotFound) {
			return fmt.Errorf("%w: %s has a key named %q", ErrHomeExists, h.home, k.name)
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%w: %s exists", ErrHomeExists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("node: %w", err)
		}
	}
	return nil
}

// write writes the home. On failure it removes what it wrote.
func (h *homeFiles) write(genDoc *types.GenesisDoc) (err error) {
	var created []string
	defer func() {
		if err != nil {
			for i := len(created) - 1; i >= 0; i-- {
				os.RemoveAll(created[i])
			}
		}
	}()
	mkdir := func(p string, perm fs.FileMode) error {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		if err := os.MkdirAll(p, perm); err != nil {
			return fmt.Errorf("node: %w", err)
		}
		created = append(created, p)
		return nil
	}
	if err := mkdir(h.home, 0o700); err != nil {
		return err
	}
	for _, d := range []string{"config", "data"} {
		if err := mkdir(filepath.Join(h.home, d), 0o700); err != nil {
			return err
		}
	}
	if err := writeJSON(h.cfg.PrivValidatorKeyFile(), h.pv.Key); err != nil {
		return err
	}
	if err := writeJSON(h.cfg.PrivValidatorStateFile(), h.pv.LastSignState); err != nil {
		return err
	}
	if err := h.nodeKey.SaveAs(h.cfg.NodeKeyFile()); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	// The format p2p.LoadOrCreateIdentity reads.
	idBytes, err := libp2pcrypto.MarshalPrivateKey(h.p2pKey)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.home, P2PKeyFile), idBytes, 0o600); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := genDoc.SaveAs(h.cfg.GenesisFile()); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.home, AppConfigFile), h.appCfg.Encode(), 0o644); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	// CometBFT renders its documented template; it exits the process if
	// the write fails, which the directory just created makes unlikely.
	cmtcfg.WriteConfigFile(filepath.Join(h.home, "config", "config.toml"), h.cfg)
	kr := keyring.Open(filepath.Join(h.home, KeysDir))
	for _, k := range h.keys {
		if _, err := kr.Import(k.name, hex.EncodeToString(k.priv.Serialize())); err != nil {
			for _, done := range h.keys {
				if done.name == k.name {
					break
				}
				os.Remove(filepath.Join(kr.Dir(), done.name+".json"))
			}
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := cmtjson.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("node: %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// checkChainParams refuses a chain id or network the chain would refuse.
func checkChainParams(chainID, network string) error {
	if err := tx.ValidateChainID(chainID); err != nil {
		return fmt.Errorf("node: chain id %q: %w", chainID, err)
	}
	if len(chainID) > types.MaxChainIDLen {
		return fmt.Errorf("node: chain id %q: CometBFT allows at most %d characters", chainID, types.MaxChainIDLen)
	}
	if _, err := utxo.ParamsFor(network); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// buildGenesis makes CometBFT's genesis with satnode's app_state: the
// network from its genesis block, app hash v2, default parameters, every home's
// operator and endorser (and synchronizer) funded, every home a validator
// with GenesisSelfStake, every synchronizer key registered with
// GenesisBond, paid to itself. genesis.json lists the same validators with
// the power InitChain will report, so that the file alone tells a reader
// who validates.
func buildGenesis(chainID, network string, homes []*homeFiles) (*types.GenesisDoc, error) {
	// New chains take app hash v2, whose parts (the UTXO tree's root
	// among them) are provable against the app hash.
	g := app.Genesis{Network: network, AppHashVersion: int(apphash.V2), Params: app.DefaultParams(),
		Accounts: []app.GenesisAccount{}, Validators: []app.GenesisValidator{}, Synchronizers: []app.GenesisSynchronizer{}}
	doc := &types.GenesisDoc{ChainID: chainID, GenesisTime: time.Now().UTC().Truncate(time.Millisecond),
		ConsensusParams: types.DefaultConsensusParams()}
	power := int64(GenesisSelfStake / g.Params.PowerReduction)
	for _, h := range homes {
		for _, k := range h.keys {
			g.Accounts = append(g.Accounts, app.GenesisAccount{Address: h.address(k.name).String(), Balance: GenesisBalance})
		}
		v, err := h.genesisValidator()
		if err != nil {
			return nil, err
		}
		g.Validators = append(g.Validators, v)
		if h.info.Synchronizer != "" {
			g.Synchronizers = append(g.Synchronizers, app.GenesisSynchronizer{Address: h.info.Synchronizer,
				Bond: GenesisBond, Payout: h.info.Synchronizer})
		}
		pub := h.pv.Key.PubKey
		doc.Validators = append(doc.Validators, types.GenesisValidator{Address: pub.Address(), PubKey: pub,
			Power: power, Name: h.cfg.Moniker})
	}
	appState, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("node: genesis: %w", err)
	}
	if _, err := app.ParseGenesis(appState); err != nil {
		return nil, err // a bug here: the struct must parse back
	}
	doc.AppState = appState
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("node: genesis: %w", err)
	}
	return doc, nil
}

// Init writes a one-validator home: CometBFT's files, app.toml, and the
// keys operator, endorser and synchronizer, all funded by the genesis,
// which makes this node the only validator and registers the
// synchronizer. It refuses to overwrite an existing home (ErrHomeExists).
func Init(o InitOptions) (*HomeInfo, error) {
	if o.Home == "" || o.Moniker == "" {
		return nil, errors.New("node: Init needs a home and a moniker")
	}
	if err := checkChainParams(o.ChainID, o.Network); err != nil {
		return nil, err
	}
	h, err := newHomeFiles(o.Home, o.Moniker, true)
	if err != nil {
		return nil, err
	}
	if o.P2PAddr != "" {
		h.cfg.P2P.ListenAddress = o.P2PAddr
	}
	if o.RPCAddr != "" {
		h.cfg.RPC.ListenAddress = o.RPCAddr
	}
	if err := o.StateSync.apply(h.cfg); err != nil {
		return nil, err
	}
	if err := h.cfg.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	switch o.APIAddr {
	case "":
	case "off":
		h.appCfg.RPC.Listen = ""
	default:
		h.appCfg.RPC.Listen = o.APIAddr
	}
	if err := h.appCfg.Validate(); err != nil {
		return nil, err
	}
	h.info.P2PAddr, h.info.RPCAddr, h.info.APIAddr = h.cfg.P2P.ListenAddress, h.cfg.RPC.ListenAddress, h.appCfg.RPC.Listen
	if err := h.checkFree(); err != nil {
		return nil, err
	}
	doc, err := buildGenesis(o.ChainID, o.Network, []*homeFiles{h})
	if err != nil {
		return nil, err
	}
	if err := h.write(doc); err != nil {
		return nil, err
	}
	return &h.info, nil
}
