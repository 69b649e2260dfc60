package app

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/satnode/satnode/consensus/apphash"
	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/consensus/staking"
	"github.com/satnode/satnode/utxo"
)

// Errors callers tell apart.
var (
	// ErrCorrupt: the consensus state in the store cannot be read back.
	ErrCorrupt = errors.New("app: consensus state is corrupt")
	// ErrHalt: the application met a condition it must not paper over (a
	// reorg below the finalized base, an endorsed block whose body breaks
	// Bitcoin's rules). The node stops with it instead of diverging.
	ErrHalt = errors.New("app: halting")
)

// Config configures the application.
type Config struct {
	// Store holds the UTXO set and the consensus state, written together
	// at every Commit. Required; the caller opens and closes it.
	Store utxo.Store
	// Bodies supplies Bitcoin block bodies. Required.
	Bodies BodyProvider
	// CacheBytes is the UTXO engine's cache budget (utxo.Config).
	CacheBytes int64
	// Logger (default: discard).
	Logger *slog.Logger
	// BodyRetry is how long to wait before asking Bodies again for a
	// missing body (default 1 s).
	BodyRetry time.Duration
	// Context, if set, is the node's lifetime: when it ends, a block
	// waiting for a missing body gives up (FinalizeBlock fails, nothing is
	// committed, and CometBFT replays the block at the next start).
	// CometBFT hands FinalizeBlock no context that ends on shutdown.
	Context context.Context
	// OnCommit, if set, is called at the end of every Commit with the
	// committed height: the node's synchronizer and endorser act on it
	// instead of polling. It runs under CometBFT's application mutex, so
	// it must return at once and must not call back into the application.
	OnCommit func(height int64)
	// Snapshots configures the state-sync snapshots the node makes and
	// serves (snapshot.go).
	Snapshots SnapshotConfig
	// Genesis is the chain's genesis as CometBFT's genesis file gives it:
	// a state-sync restore, which gets no InitChain, takes the chain id
	// and parameters from it, never from a peer. Without it, snapshots are
	// refused.
	Genesis GenesisDoc
	// RestoreDir is a directory a restore may own for the sorted runs of
	// the script-hash index (utxo.SeedOptions.TempDir); empty: in memory.
	RestoreDir string
}

// GenesisDoc is the part of CometBFT's genesis the application reads.
type GenesisDoc struct {
	ChainID  string
	AppState []byte
}

// App is the satnode ABCI 2.0 application. The node gives each of
// CometBFT's connections its own mutex (proxy.NewConnSyncLocalClientCreator),
// so the consensus connection (InitChain, the proposal calls,
// FinalizeBlock, Commit), which alone touches the live state, runs beside
// the mempool's (CheckTx) and the query connection's (Info, Query). Those
// read only committed views (Views) and CheckTx's own state (mempool),
// each under its own lock: a block that waits for a body holds up neither.
type App struct {
	cfg Config
	log *slog.Logger

	// Set by InitChain or loaded from the store.
	chainID string
	params  Params
	engine  *utxo.Engine
	tree    *btcheaders.Tree
	stake   *staking.State
	recs    *records
	// hashVersion is the genesis's app hash version.
	hashVersion apphash.Version
	// settling holds the open attendance windows (attendance.go).
	settling settlement

	// Committed: what Info reports, and the commitments its app hash
	// was computed from (published in the View, for proofs).
	height  int64
	appHash [32]byte
	commits apphash.Commitments
	// Uncommitted: the block FinalizeBlock computed.
	pendingHeight  int64
	pendingAppHash [32]byte
	pendingCommits apphash.Commitments
	// pendingGenesis is the genesis record InitChain made, written with the
	// first commit.
	pendingGenesis []byte

	// views publishes each commit's state to readers outside consensus.
	views Views
	// changes are the blocks connected and disconnected since the last
	// commit (the engine's OnBlock), elapsed how long each took; Commit
	// hands them to the view subscribers.
	changes []*utxo.BlockChange
	elapsed []time.Duration
	// engineRef is engine for readers outside the ABCI mutex (metrics).
	engineRef atomic.Pointer[utxo.Engine]
	// blockTime is the time of the CometBFT block being finalized.
	blockTime time.Time
	// mp is CheckTx's state, under its own lock: CheckTx runs on the
	// mempool's connection, concurrently with the consensus connection.
	mp mempool
	// endorsedTip is the tip of the most-work endorsed chain as advance
	// last found it; stakeView the staking part of the last view.
	endorsedTip *btcheaders.Node
	stakeView   *stakeView
	// blockLog writes the "bitcoin block applied" lines (applylog.go).
	blockLog blockLog

	// State sync (snapshot.go, restore.go). restoring is the restore in
	// progress, touched only on the snapshot connection; restoreStatus
	// reports it to anyone. snapBusy is set while a snapshot is written
	// on its own goroutine (snapWG); closing ends it at Close.
	restoring     *restore
	restoreStatus *restoreStatus
	// quietChanges: the engine's blocks are not collected for the views'
	// events (a restore connecting the blocks above its base). Only the
	// goroutine that drives the engine touches it.
	quietChanges bool
	snapBusy     atomic.Bool
	snapWG       sync.WaitGroup
	closing      chan struct{}
}

// meta is the record Commit writes last and Info reads: the last committed
// CometBFT height and app hash. Layout: height u64be ‖ app hash [32].
func encodeMeta(height int64, appHash [32]byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(height)), appHash[:]...)
}

// genesisRecord is what the chain was started with, kept so that a restart
// needs no genesis file: chain id, and the parameters the packages do not
// store themselves.
type genesisRecord struct {
	ChainID string `json:"chain_id"`
	Network string `json:"network"`
	Params  Params `json:"params"`
	// AppHashVersion is absent in stores written before app hash v2:
	// those chains are v1.
	AppHashVersion int `json:"app_hash_version,omitempty"`
}

// New opens the application on cfg.Store: an empty store waits for
// InitChain; a store with committed state is loaded, and Info reports its
// height so CometBFT replays what is missing.
func New(cfg Config) (*App, error) {
	if cfg.Store == nil || cfg.Bodies == nil {
		return nil, errors.New("app: Config.Store and Config.Bodies are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyRetry == 0 {
		cfg.BodyRetry = time.Second
	}
	a := &App{cfg: cfg, log: cfg.Logger, restoreStatus: &restoreStatus{}, closing: make(chan struct{})}
	raw, err := cfg.Store.Get(keyGenesis)
	if errors.Is(err, utxo.ErrNotFound) {
		// InitChain comes, or a state-sync restore (which resumes or
		// wipes whatever an interrupted one left).
		return a, nil
	}
	if err != nil {
		return nil, err
	}
	if err := a.load(raw); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) load(genesisRaw []byte) error {
	var g genesisRecord
	if err := json.Unmarshal(genesisRaw, &g); err != nil {
		return fmt.Errorf("%w: genesis record: %v", ErrCorrupt, err)
	}
	up, err := utxo.ParamsFor(g.Network)
	if err != nil {
		return fmt.Errorf("%w: genesis record: %v", ErrCorrupt, err)
	}
	hv, err := (&Genesis{AppHashVersion: g.AppHashVersion}).HashVersion()
	if err != nil {
		return fmt.Errorf("%w: genesis record: %v", ErrCorrupt, err)
	}
	m, err := a.cfg.Store.Get(keyMeta)
	if err != nil {
		return fmt.Errorf("%w: meta record: %v", ErrCorrupt, err)
	}
	if len(m) != 40 {
		return fmt.Errorf("%w: meta record of %d bytes", ErrCorrupt, len(m))
	}
	if a.engine, err = a.openEngine(up, g.Params); err != nil {
		return err
	}
	if a.tree, err = btcheaders.Load(a.cfg.Store, up.Chain, prefixHeaders); err != nil {
		return fmt.Errorf("app: load headers: %w", err)
	}
	if a.stake, err = staking.Load(a.cfg.Store, prefixStaking); err != nil {
		return fmt.Errorf("app: load staking: %w", err)
	}
	if a.recs, err = loadRecords(a.cfg.Store); err != nil {
		return err
	}
	a.settling.rebuild(a.recs)
	a.chainID, a.params, a.hashVersion = g.ChainID, g.Params, hv
	a.height = int64(binary.BigEndian.Uint64(m))
	copy(a.appHash[:], m[8:])
	if _, tip, ok := a.engine.Tip(); !ok {
		return fmt.Errorf("%w: the UTXO set has no tip", ErrCorrupt)
	} else if _, ok := a.tree.Get(tip); !ok {
		return fmt.Errorf("%w: the UTXO tip %s is not in the header tree", ErrCorrupt, tip)
	}
	// The commitments are not stored: they are recomputed from the state
	// the meta record's app hash was computed from, and must give that
	// hash again, or the views would publish proofs against a root no
	// block carries.
	h, c, err := a.computeAppHash()
	if err != nil {
		return fmt.Errorf("app: recompute the app hash: %w", err)
	}
	if h != a.appHash {
		return fmt.Errorf("%w: the stored state hashes to %X (app hash %s), the meta record says %X",
			ErrCorrupt, h, hv, a.appHash)
	}
	a.commits = c
	if err := a.publishView(time.Time{}); err != nil {
		return err
	}
	a.log.Info("loaded state", "height", a.height, "app_hash", fmt.Sprintf("%X", a.appHash))
	return nil
}

func (a *App) openEngine(up *utxo.Params, p Params) (*utxo.Engine, error) {
	e, err := utxo.Open(a.cfg.Store, a.engineConfig(up, p))
	if err == nil {
		a.engineRef.Store(e)
	}
	return e, err
}

// engineConfig is the UTXO engine's configuration in the application, a
// state-sync restore's engine included: flushed only at Commit, undo data
// kept to the finality depth (a reorg cannot reach below the finalized
// base), and every connected or disconnected block handed to the views'
// subscribers through a.changes, except the blocks a restore connects,
// which no subscriber saw the state before (a.quietChanges).
func (a *App) engineConfig(up *utxo.Params, p Params) utxo.Config {
	return utxo.Config{Params: up, CacheBytes: a.cfg.CacheBytes, ManualFlush: true, UndoDepth: p.FinalityDepth + 1,
		OnBlock: func(c *utxo.BlockChange) {
			if !a.quietChanges {
				a.changes = append(a.changes, c)
			}
		}}
}

// Close stops the engine without writing: what was not committed is
// replayed by CometBFT on the next start.
func (a *App) Close() error {
	if a.closing != nil {
		select {
		case <-a.closing:
		default:
			close(a.closing)
		}
	}
	a.snapWG.Wait()
	a.abandonRestore()
	if a.engine == nil {
		return nil
	}
	return a.engine.Close()
}

// computeAppHash is DESIGN.md's app hash, in the genesis's version
// (consensus/apphash documents both formats), and the commitments it was
// computed from:
//
//	v1  sha256("satnode/apphash/v1" ‖ utxo-muhash ‖ btc-tip-hash ‖ u32be(btc-tip-height) ‖ consensus-root)
//	v2  the Merkle root over btc_tip, consensus, muhash and utxo (the UTXO tree's root)
//
// where consensus-root = sha256("satnode/consensus/v1" ‖ staking root ‖
// header-tree root ‖ endorsement root): DESIGN's "staking-root" widened to
// all consensus state, since state outside the app hash could diverge
// between nodes unnoticed.
func (a *App) computeAppHash() ([32]byte, apphash.Commitments, error) {
	var c apphash.Commitments
	mu, err := a.engine.Digest()
	if err != nil {
		return [32]byte{}, c, err
	}
	root, err := a.engine.TreeRoot()
	switch {
	case errors.Is(err, utxo.ErrNoTree) && a.hashVersion == apphash.V1:
		// v1 leaves the tree out: a store kept without it still runs a
		// v1 chain, its views proving nothing about coins.
	case errors.Is(err, utxo.ErrNoTree):
		return [32]byte{}, c, fmt.Errorf("app: app hash %s commits to the UTXO tree, which this store does not keep: %w",
			a.hashVersion, err)
	case err != nil:
		return [32]byte{}, c, err
	}
	tipH, tip, _ := a.engine.Tip()
	c = apphash.Commitments{UTXORoot: root, MuHash: mu, TipHeight: tipH, TipHash: tip,
		Consensus: apphash.ConsensusRoot(a.stake.Root(), a.tree.Root(), a.recs.root())}
	h, err := c.Hash(a.hashVersion)
	return h, c, err
}

// commit writes the UTXO changes, headers, staking state, endorsement
// records and the meta record in one atomic, synced update.
func (a *App) commit(height int64, appHash [32]byte) error {
	hint := a.tree.ChangesSize() + a.stake.ChangesSize() + a.recs.changesSize() + 1024
	err := a.engine.FlushWith(hint, func(b utxo.Batch) error {
		a.tree.WriteChanges(b)
		a.stake.WriteChanges(b)
		a.recs.writeChanges(b)
		if a.pendingGenesis != nil {
			b.Put(keyGenesis, a.pendingGenesis)
		}
		b.Put(keyMeta, encodeMeta(height, appHash))
		return nil
	})
	if err == nil {
		a.pendingGenesis = nil
	}
	return err
}

// btcTip returns the header-tree node of the UTXO set's tip.
func (a *App) btcTip() (*btcheaders.Node, error) {
	_, hash, ok := a.engine.Tip()
	if !ok {
		return nil, fmt.Errorf("%w: the UTXO set has no tip", ErrHalt)
	}
	n, ok := a.tree.Get(hash)
	if !ok {
		return nil, fmt.Errorf("%w: the UTXO tip %s left the header tree", ErrHalt, hash)
	}
	return n, nil
}
