package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/node/btcpeer"
	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/node/keyring"
	"github.com/satnode/satnode/node/live"
	"github.com/satnode/satnode/p2p"
	"github.com/satnode/satnode/utxo"
)

// Paths of the live path's files inside a home.
const (
	// BodiesDir is the body store: checked Bitcoin block bodies kept to
	// apply and to serve to peers.
	BodiesDir = "data/bodies"
	// P2PKeyFile is the libp2p host's identity.
	P2PKeyFile = "config/p2p_key"
)

// liveParts are what the live path adds to a node: the body chain, the
// Bitcoin node client and the libp2p host, opened by New; the roles,
// started by Start.
type liveParts struct {
	ac      AppConfig
	params  *utxo.Params
	chainID string
	btc     *btcnode.Client // nil without [bitcoin] rpc
	peers   *btcpeer.Pool   // nil without [bodies] bitcoin_peers
	bodies  *liveBodies
	store   *p2p.BodyStore
	host    *p2p.Host

	// commit signals, one per role and one for the body store's pruning,
	// never blocking the application.
	syncCommits, endorseCommits, bodyCommits chan int64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openLive opens the body store, the Bitcoin node client and the libp2p
// host, and returns the body chain the application reads through.
func (n *Node) openLive(ctx context.Context, home string, ac AppConfig, up *utxo.Params, chainID string, files *FileBodies) error {
	lp := &liveParts{ac: ac, params: up, chainID: chainID,
		syncCommits: make(chan int64, 1), endorseCommits: make(chan int64, 1), bodyCommits: make(chan int64, 1)}
	n.live = lp
	var err error
	if lp.store, err = p2p.OpenBodyStore(filepath.Join(home, BodiesDir), ac.Bodies.Retention); err != nil {
		return fmt.Errorf("node: opening the body store: %w", err)
	}
	lp.bodies = &liveBodies{params: up, log: n.log.With("module", "bodies"), store: lp.store, files: files,
		peerWait: 5 * time.Second}
	if ac.Bitcoin.RPC != "" {
		lp.btc, err = btcnode.New(btcnode.Config{URL: ac.Bitcoin.RPC, User: ac.Bitcoin.User, Password: ac.Bitcoin.Password,
			CookieFile: ac.Bitcoin.CookieFile, TLSCertFile: ac.Bitcoin.TLSCert,
			Timeout: time.Duration(ac.Bitcoin.TimeoutMS) * time.Millisecond})
		if err != nil {
			return fmt.Errorf("%w: [bitcoin]: %v", ErrConfig, err)
		}
		lp.bodies.btc = lp.btc
	}
	if len(ac.Bodies.BitcoinPeers) > 0 {
		lp.peers, err = btcpeer.New(btcpeer.Config{Addrs: ac.Bodies.BitcoinPeers, Params: up.Chain,
			UserAgentVersion: app.Version, Logger: n.log.With("module", "btcpeer")})
		if err != nil {
			return fmt.Errorf("%w: [bodies] bitcoin_peers: %v", ErrConfig, err)
		}
		lp.bodies.btcPeers = lp.peers
		n.log.Info("bitcoin peers for bodies", "addrs", ac.Bodies.BitcoinPeers)
	}
	if len(ac.P2P.Listen) > 0 {
		id, err := p2p.LoadOrCreateIdentity(filepath.Join(home, P2PKeyFile))
		if err != nil {
			return err
		}
		lp.host, err = p2p.New(ctx, p2p.Config{ChainID: chainID, Identity: id, Listen: ac.P2P.Listen,
			Bootstrap: ac.P2P.Bootstrap, MaxBodyBytes: ac.P2P.MaxBodyMB << 20, Logger: n.log.With("module", "p2p")},
			lp.store, lp.bodies.verify)
		if err != nil {
			return fmt.Errorf("node: starting libp2p: %w", err)
		}
		lp.bodies.host = lp.host
		n.log.Info("libp2p listening", "addrs", lp.host.Addrs())
	}
	return nil
}

// onCommit is the application's OnCommit hook. It runs under the
// application's lock, so it only signals: the roles and followCommits read
// the committed state themselves.
func (lp *liveParts) onCommit(height int64) {
	for _, ch := range []chan int64{lp.syncCommits, lp.endorseCommits, lp.bodyCommits} {
		select {
		case ch <- height:
		default: // a signal is already waiting
		}
	}
}

// startRoles starts the synchronizer and the endorser that app.toml turns
// on, over the in-process CometBFT client.
func (n *Node) startRoles(home string) error {
	lp := n.live
	ctx, cancel := context.WithCancel(context.Background())
	lp.cancel = cancel
	views := n.app.Views()
	lp.bodies.headers = func(hash chainhash.Hash) (int32, bool, error) { return headerHeight(views, hash) }
	lp.wg.Add(1)
	go func() {
		defer lp.wg.Done()
		lp.followCommits(ctx, views)
	}()
	if lp.host != nil {
		lp.host.OnAnnounce(lp.bodies.onAnnounce(ctx))
	}
	if !lp.ac.Synchronizer.Enabled && !lp.ac.Endorser.Enabled {
		return nil
	}
	chain := client.NewFrom(local.New(n.cmt))
	kr := keyring.Open(filepath.Join(home, KeysDir))
	var roles []func(context.Context) error
	if lp.ac.Synchronizer.Enabled {
		key, err := kr.Get(lp.ac.Synchronizer.Key)
		if err != nil {
			return fmt.Errorf("node: synchronizer.key: %w", err)
		}
		s, err := live.NewSynchronizer(live.SyncConfig{Bitcoin: lp.btc, Chain: chain, ChainID: lp.chainID,
			Key: key.Private, Params: lp.params, Bodies: lp.bodies, Batch: lp.ac.Synchronizer.Batch,
			Poll: time.Duration(lp.ac.Synchronizer.PollMS) * time.Millisecond, Log: n.log.With("module", "synchronizer")})
		if err != nil {
			return err
		}
		roles = append(roles, func(ctx context.Context) error { return s.Run(ctx, lp.syncCommits) })
	}
	if lp.ac.Endorser.Enabled {
		key, err := kr.Get(lp.ac.Endorser.Key)
		if err != nil {
			return fmt.Errorf("node: endorser.key: %w", err)
		}
		e, err := live.NewEndorser(live.EndorserConfig{Bitcoin: lp.btc, Chain: chain, ChainID: lp.chainID,
			Key: key.Private, Bodies: lp.bodies, Log: n.log.With("module", "endorser")})
		if err != nil {
			return err
		}
		roles = append(roles, func(ctx context.Context) error { return e.Run(ctx, lp.endorseCommits) })
	}
	for _, r := range roles {
		lp.wg.Add(1)
		go func() {
			defer lp.wg.Done()
			if err := r(ctx); err != nil {
				n.log.Error("role stopped", "err", err)
			}
		}()
	}
	return nil
}

// headerHeight looks hash up in the committed header tree of the latest
// view: not found before the first commit or after the views are closed.
func headerHeight(views *app.Views, hash chainhash.Hash) (int32, bool, error) {
	v, err := views.Acquire()
	if errors.Is(err, app.ErrNoView) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer v.Release()
	return v.HeaderHeight(hash)
}

// followCommits hands the committed canonical tip to the body chain after
// every commit (and once at start, for a node restarted on committed
// state), which prunes the body store by it.
func (lp *liveParts) followCommits(ctx context.Context, views *app.Views) {
	for {
		if v, err := views.Acquire(); err == nil {
			tip := v.Tip.Height
			v.Release()
			lp.bodies.setTip(tip)
		}
		select {
		case <-ctx.Done():
			return
		case <-lp.bodyCommits:
		}
	}
}

// stopRoles stops the roles and the prefetching of announced bodies, and
// waits for them.
func (lp *liveParts) stopRoles() {
	if lp == nil {
		return
	}
	if lp.cancel != nil {
		lp.cancel()
	}
	lp.wg.Wait()
	lp.bodies.bg.Wait()
}

// close closes the host, the clients and the store, after stopRoles.
func (lp *liveParts) close() error {
	if lp == nil {
		return nil
	}
	var errs []error
	if lp.host != nil {
		errs = append(errs, lp.host.Close())
	}
	if lp.btc != nil {
		lp.btc.Close()
	}
	if lp.peers != nil {
		errs = append(errs, lp.peers.Close())
	}
	if lp.store != nil {
		errs = append(errs, lp.store.Close())
	}
	return errors.Join(errs...)
}
