package node

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/satnode/satnode/rpc"
	"github.com/satnode/satnode/rpc/metrics"
)

// openAPI builds satnode's HTTP API from [rpc], if it has a listen address.
// It listens only at Start.
func (n *Node) openAPI(ac AppConfig) error {
	if ac.RPC.Listen == "" {
		return nil
	}
	views := n.app.Views()
	m := metrics.New(metrics.Sources{Views: views, CacheStats: n.app.CacheStats, Peers: n.peerCounts})
	cfg := rpc.Config{Listen: ac.RPC.Listen, User: ac.RPC.User, Password: ac.RPC.Password,
		MaxBodyBytes: int64(ac.RPC.MaxBodyKB) << 10, MaxUTXOs: ac.RPC.MaxUTXOs, MaxPage: ac.RPC.MaxPage,
		MaxConns: ac.RPC.MaxConns, MaxBatch: ac.RPC.MaxBatch, MaxReplyBytes: ac.RPC.MaxReplyKB << 10,
		Logger: n.log.With("module", "rpc"), Metrics: m, NodeState: n.nodeState, Bodies: n.live.store}
	if ac.RPC.Cookie {
		cfg.CookieFile = filepath.Join(n.home, RPCCookieFile)
	}
	var err error
	if n.api, err = rpc.New(cfg, views); err != nil {
		return fmt.Errorf("%w: [rpc]: %v", ErrConfig, err)
	}
	return nil
}

// peerCounts are the metrics' peer gauges: CometBFT's peers and, with
// libp2p on, the body-exchange peers.
func (n *Node) peerCounts() map[string]int {
	out := map[string]int{}
	if n.cmt != nil && n.cmt.Switch() != nil {
		out["cometbft"] = n.cmt.Switch().Peers().Size()
	}
	if n.live != nil && n.live.host != nil {
		out["libp2p"] = len(n.live.host.Peers())
	}
	return out
}

// APIAddr is the address satnode's HTTP API listens on, empty when it is
// off or not started.
func (n *Node) APIAddr() string {
	if n.api == nil {
		return ""
	}
	return n.api.Addr()
}

// closeAPI stops the server and releases the views' snapshot, before the
// store closes.
func (n *Node) closeAPI() error {
	var err error
	if n.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = n.api.Close(ctx)
	}
	if n.app != nil {
		n.app.Views().Close()
	}
	return err
}
