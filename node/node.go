package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/libs/service"
	nm "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/snapshots"
	"github.com/satnode/satnode/rpc"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

// Options are what a caller adds to a home's configuration.
type Options struct {
	// LogOutput receives the log (default os.Stderr).
	LogOutput io.Writer
	// LogLevel, if set, replaces app.toml's log.level (debug, info, warn
	// or error): satnode's own lines. CometBFT's follow config.toml's
	// log_level.
	LogLevel string
}

// Node is a running (or ready to run) satnode node: the store, the
// application and CometBFT, in one process.
type Node struct {
	home  string
	log   *slog.Logger
	cfg   *cmtcfg.Config
	store *leveldbstore.Store
	app   *app.App
	cmt   *nm.Node
	dbs   openDBs
	live  *liveParts
	// api is satnode's HTTP API (nil when [rpc] listen is empty).
	api *rpc.Server

	watch syncWatch // the way to live, for /v1/status and the log (syncstatus.go)

	// cancel ends the application's context: a block waiting for a body
	// gives up, so that Stop never waits on a body that will not come.
	cancel context.CancelFunc

	started  bool
	stopOnce sync.Once
	stopErr  error
}

// Run runs the node of home until ctx is cancelled or CometBFT stops on its
// own, then stops it cleanly. The error is the first of starting, running
// or stopping.
func Run(ctx context.Context, home string, opts Options) error {
	n, err := New(ctx, home, opts)
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return errors.Join(err, n.Stop())
	}
	select {
	case <-ctx.Done():
		n.log.Info("stopping", "reason", context.Cause(ctx))
	case <-n.cmt.Quit():
		n.log.Error("CometBFT stopped on its own")
	}
	return n.Stop()
}

// New reads home's configuration and genesis, indexes the body sources,
// opens the store and the application, and builds CometBFT's node, whose
// handshake brings the application up to CometBFT's last block. Nothing
// listens on the network until Start. ctx bounds the preparation only.
func New(ctx context.Context, home string, opts Options) (*Node, error) {
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stderr
	}
	cfg, err := LoadCometConfig(home)
	if err != nil {
		return nil, err
	}
	ac, err := LoadAppConfig(home)
	if err != nil {
		return nil, err
	}
	if opts.LogLevel != "" {
		ac.Log.Level = opts.LogLevel
	}
	lvl, err := ac.Log.level()
	if err != nil {
		return nil, err
	}
	// One handler: satnode's lines at app.toml's level, CometBFT's at
	// config.toml's log_level.
	h := newHandler(opts.LogOutput, cfg.LogFormat)
	log := slog.New(atLeast{h, lvl})
	cmtLog, err := cometLoggerFor(h, cfg)
	if err != nil {
		return nil, err
	}

	genDoc, g, err := ReadGenesis(cfg.GenesisFile())
	if err != nil {
		return nil, err
	}
	up, err := utxo.ParamsFor(g.Network)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: app_state.network: %v", app.ErrGenesis, cfg.GenesisFile(), err)
	}
	bodies, err := OpenFileBodies(ctx, up.Chain, ac.SourcePaths(home))
	if err != nil {
		return nil, err
	}
	log.Info("block bodies indexed", "sources", len(ac.Bodies.Sources), "blocks", bodies.Len())
	if err := checkPrivValidator(cfg); err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node: node key %s: %w", cfg.NodeKeyFile(), err)
	}

	n := &Node{home: home, log: log, cfg: cfg}
	storePath := filepath.Join(home, StoreDir)
	if n.store, err = leveldbstore.Open(storePath, leveldbstore.Options{BlockCacheBytes: int(ac.UTXO.BlockCacheMB << 20)}); err != nil {
		return nil, fmt.Errorf("node: opening the store (is another node running on %s?): %w", home, err)
	}
	if err := n.openLive(ctx, home, ac, up, genDoc.ChainID, bodies); err != nil {
		return nil, errors.Join(err, n.live.close(), n.store.Close())
	}
	appCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	snaps, err := snapshots.Open(filepath.Join(home, SnapshotDir))
	if err != nil {
		return nil, errors.Join(err, n.live.close(), n.store.Close())
	}
	n.app, err = app.New(app.Config{Store: n.store, Bodies: n.live.bodies, CacheBytes: ac.UTXO.CacheMB << 20,
		Logger: log.With("module", "app"), OnCommit: n.live.onCommit, Context: appCtx,
		Snapshots: app.SnapshotConfig{Store: snaps, Interval: ac.StateSync.SnapshotInterval,
			KeepRecent: ac.StateSync.SnapshotKeepRecent, ChunkBytes: ac.StateSync.SnapshotChunkKB << 10},
		Genesis:    app.GenesisDoc{ChainID: genDoc.ChainID, AppState: genDoc.AppState},
		RestoreDir: filepath.Join(home, RestoreDir)})
	if err != nil {
		return nil, errors.Join(err, n.live.close(), n.store.Close())
	}
	if err := n.openAPI(ac); err != nil {
		return nil, errors.Join(err, n.app.Close(), n.live.close(), n.store.Close())
	}
	n.cmt, err = nm.NewNode(cfg,
		privval.LoadOrGenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()),
		nodeKey,
		// One mutex per ABCI connection: CheckTx and Query read committed
		// views and go on while a block executes or waits for a body.
		proxy.NewConnSyncLocalClientCreator(n.app),
		nm.DefaultGenesisDocProviderFunc(cfg),
		n.dbs.provider(cmtcfg.DefaultDBProvider),
		nm.DefaultMetricsProvider(cfg.Instrumentation),
		cmtLog)
	if err != nil {
		n.dbs.closeAll()
		n.app.Views().Close()
		return nil, errors.Join(fmt.Errorf("node: starting CometBFT: %w", err), n.app.Close(), n.live.close(), n.store.Close())
	}
	log.Info("node ready", "home", home, "chain_id", genDoc.ChainID, "network", g.Network,
		"height", n.cmt.BlockStore().Height(), "node_id", nodeKey.ID())
	return n, nil
}

// Start starts CometBFT: P2P, RPC, consensus.
func (n *Node) Start() error {
	if err := n.cmt.Start(); err != nil {
		return fmt.Errorf("node: starting CometBFT: %w", err)
	}
	n.started = true
	n.startSyncLog()
	if n.api != nil {
		if err := n.api.Start(); err != nil {
			return err
		}
	}
	n.log.Info("node started", "p2p", n.cfg.P2P.ListenAddress, "rpc", n.cfg.RPC.ListenAddress, "api", n.APIAddr())
	return n.startRoles(n.home)
}

// Stop stops CometBFT and waits for it, then closes the application and
// the store. It is safe to call more than once, and on a node that was
// never started (which releases what New opened).
//
// One write can follow it: CometBFT v0.38's address book (with PEX on)
// saves config/addrbook.json from a goroutine of its own when stopped, and
// nothing waits for that goroutine. The file is written atomically, so a
// process that exits meanwhile leaves the previous one.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		var errs []error
		n.cancel()
		n.live.stopRoles()
		if n.started {
			if err := n.cmt.Stop(); err != nil && !errors.Is(err, service.ErrAlreadyStopped) {
				errs = append(errs, fmt.Errorf("node: stopping CometBFT: %w", err))
			}
			n.cmt.Wait()
		} else {
			// BaseService.Stop refuses a service that never started, but
			// New already opened CometBFT's databases: OnStop closes them.
			n.cmt.OnStop()
		}
		if err := n.closeAPI(); err != nil {
			errs = append(errs, fmt.Errorf("node: stopping the API: %w", err))
		}
		n.dbs.closeAll()
		if err := n.app.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: closing the application: %w", err))
		}
		if err := n.live.close(); err != nil {
			errs = append(errs, err)
		}
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: closing the store: %w", err))
		}
		n.stopErr = errors.Join(errs...)
		n.log.Info("node stopped")
	})
	return n.stopErr
}

// Quit is closed when CometBFT stops, by Stop or on its own.
func (n *Node) Quit() <-chan struct{} { return n.cmt.Quit() }

// CometBFT returns the CometBFT node (for tests and tools).
func (n *Node) CometBFT() *nm.Node { return n.cmt }

// ReadGenesis reads CometBFT's genesis file and decodes its app_state
// strictly (app.ParseGenesis).
func ReadGenesis(path string) (*types.GenesisDoc, *app.Genesis, error) {
	doc, err := types.GenesisDocFromFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", app.ErrGenesis, err)
	}
	g, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, g, nil
}

// checkPrivValidator reads the consensus key and its sign state the way
// privval.LoadOrGenFilePV will, which exits the process on any problem:
// here the problem is an error naming the file.
func checkPrivValidator(cfg *cmtcfg.Config) error {
	keyPath, statePath := cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile()
	data, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // LoadOrGenFilePV generates one: a full node, not a validator
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &key); err != nil || key.PrivKey == nil {
		return fmt.Errorf("%w: %s is not a CometBFT validator key: %v", ErrConfig, keyPath, err)
	}
	data, err = os.ReadFile(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s exists but its sign state %s does not; restore it from a backup, or, "+
			"only if this key never signed on this chain, write {\"height\":\"0\",\"round\":0,\"step\":0}", ErrConfig, keyPath, statePath)
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, statePath, err)
	}
	return nil
}

// ConsensusKey returns the ed25519 public key of home's
// priv_validator_key.json: what CreateValidator names as the consensus key
// of a validator run from that home.
func ConsensusKey(home string) ([32]byte, error) {
	cfg, err := LoadCometConfig(home)
	if err != nil {
		return [32]byte{}, err
	}
	path := cfg.PrivValidatorKeyFile()
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}, fmt.Errorf("node: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &key); err != nil || key.PrivKey == nil {
		return [32]byte{}, fmt.Errorf("%w: %s is not a CometBFT validator key: %v", ErrConfig, path, err)
	}
	pub := key.PrivKey.PubKey().Bytes()
	if len(pub) != 32 {
		return [32]byte{}, fmt.Errorf("%w: %s holds a %s key, want ed25519", ErrConfig, path, key.PrivKey.Type())
	}
	return [32]byte(pub), nil
}

// openDBs records the databases CometBFT opens, so that Stop can close
// those CometBFT's own OnStop leaves open: in v0.38.26 the transaction
// index ("tx_index") is never closed, and its goleveldb lock would keep a
// node from being started again in the same process. A failed NewNode
// also leaves its databases open. Closing one CometBFT already closed
// only returns an error, which is ignored.
type openDBs struct {
	mu  sync.Mutex
	dbs []dbm.DB
}

func (o *openDBs) provider(p cmtcfg.DBProvider) cmtcfg.DBProvider {
	return func(ctx *cmtcfg.DBContext) (dbm.DB, error) {
		db, err := p(ctx)
		if err == nil {
			db = closedReads{db}
			o.mu.Lock()
			o.dbs = append(o.dbs, db)
			o.mu.Unlock()
		}
		return db, err
	}
}

// closedReads answers a read of a closed database as "not there" instead
// of an error. CometBFT v0.38 closes its block store in OnStop while
// per-peer goroutines of the consensus reactor (queryMaj23Routine) may be
// between their "still running?" check and a LoadSeenCommit, which
// panics on any read error: seen in TestLive as "panic: leveldb: closed"
// on SIGTERM, exit status 2. A reader of a store being closed loses
// nothing by finding it empty; writes are not touched.
type closedReads struct{ dbm.DB }

func (c closedReads) Get(key []byte) ([]byte, error) {
	v, err := c.DB.Get(key)
	if errors.Is(err, leveldb.ErrClosed) {
		return nil, nil
	}
	return v, err
}

func (c closedReads) Has(key []byte) (bool, error) {
	ok, err := c.DB.Has(key)
	if errors.Is(err, leveldb.ErrClosed) {
		return false, nil
	}
	return ok, err
}

func (o *openDBs) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, db := range o.dbs {
		_ = db.Close()
	}
	o.dbs = nil
}
