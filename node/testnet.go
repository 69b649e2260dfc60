package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/cometbft/cometbft/p2p"
)

// TestnetOptions describe an N-validator localnet on one machine.
type TestnetOptions struct {
	Output     string // required: the homes are Output/node0 .. node<N-1>
	Validators int    // required: 1..MaxTestnetValidators
	ChainID    string // required
	Network    string // required
	// Host is the address every node listens on and dials (default
	// 127.0.0.1).
	Host string
	// StartingPort is node0's P2P port; node i listens for CometBFT's P2P
	// on StartingPort+4i, for CometBFT's RPC on StartingPort+4i+1, for
	// libp2p (bodies) on StartingPort+4i+2 and for satnode's API ([rpc])
	// on StartingPort+4i+3. Zero asks the kernel for free ports
	// instead (tests that run beside other nodes).
	StartingPort int
	// Synchronizers is how many homes (node0, node1, ...) hold a funded,
	// registered synchronizer key (default 1, at most Validators).
	Synchronizers int
	// SnapshotInterval, if positive, makes every node write a state-sync
	// snapshot every that many blocks (app.toml [statesync]).
	SnapshotInterval int64
	// Bitcoin, if set, holds one [bitcoin] table per node: its own
	// Bitcoin node. A node with one runs the endorser, and with a
	// synchronizer key also the synchronizer.
	Bitcoin []BitcoinConfig
	// TimeoutCommit is how long a node waits after a commit before the next
	// height (default 500ms); TimeoutPropose is how long it waits for a
	// proposal (default 1s), which is the cost of a stopped proposer.
	TimeoutCommit  time.Duration
	TimeoutPropose time.Duration
}

// portsPerNode: CometBFT P2P and RPC, libp2p, satnode's API.
const portsPerNode = 4

// MaxTestnetValidators bounds Testnet: a localnet beyond this on one
// machine would not be quick, which is its point.
const MaxTestnetValidators = 64

// Testnet writes N homes sharing one genesis in which every home's node is
// a validator with equal stake, every home's operator and endorser are
// funded, and the first o.Synchronizers homes also hold a funded, registered
// synchronizer key. The homes' libp2p hosts bootstrap from each other. Each
// config.toml lists all other nodes as persistent peers, listens on Host
// only, allows several nodes per IP, and produces blocks (empty ones too)
// every TimeoutCommit. It refuses to overwrite any existing node home.
func Testnet(o TestnetOptions) ([]HomeInfo, error) {
	if o.Output == "" {
		return nil, errors.New("node: Testnet needs an output directory")
	}
	if o.Validators < 1 || o.Validators > MaxTestnetValidators {
		return nil, fmt.Errorf("node: %d validators, want 1..%d", o.Validators, MaxTestnetValidators)
	}
	if err := checkChainParams(o.ChainID, o.Network); err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if net.ParseIP(o.Host) == nil {
		return nil, fmt.Errorf("node: host %q is not an IP address", o.Host)
	}
	if o.TimeoutCommit <= 0 {
		o.TimeoutCommit = 500 * time.Millisecond
	}
	if o.TimeoutPropose <= 0 {
		o.TimeoutPropose = time.Second
	}
	if o.Synchronizers == 0 {
		o.Synchronizers = 1
	}
	if o.Synchronizers < 0 || o.Synchronizers > o.Validators {
		return nil, fmt.Errorf("node: %d synchronizers, want 1..%d (one per home at most)", o.Synchronizers, o.Validators)
	}
	if len(o.Bitcoin) != 0 && len(o.Bitcoin) != o.Validators {
		return nil, fmt.Errorf("node: %d Bitcoin nodes for %d validators", len(o.Bitcoin), o.Validators)
	}
	ports, err := testnetPorts(o.Host, o.StartingPort, portsPerNode*o.Validators)
	if err != nil {
		return nil, err
	}
	homes := make([]*homeFiles, o.Validators)
	for i := range homes {
		name := "node" + strconv.Itoa(i)
		if homes[i], err = newHomeFiles(filepath.Join(o.Output, name), name, i < o.Synchronizers); err != nil {
			return nil, err
		}
		if err := homes[i].checkFree(); err != nil {
			return nil, err
		}
	}
	addr := func(port int) string { return net.JoinHostPort(o.Host, strconv.Itoa(port)) }
	for i, h := range homes {
		c := h.cfg
		c.P2P.ListenAddress = "tcp://" + addr(ports[portsPerNode*i])
		c.RPC.ListenAddress = "tcp://" + addr(ports[portsPerNode*i+1])
		var peers []string
		ac := &h.appCfg
		ac.P2P.Listen = []string{libp2pAddr(o.Host, ports[portsPerNode*i+2])}
		ac.RPC.Listen = addr(ports[portsPerNode*i+3])
		for j, other := range homes {
			if j != i {
				peers = append(peers, p2p.IDAddressString(other.nodeKey.ID(), addr(ports[portsPerNode*j])))
				id, err := peer.IDFromPrivateKey(other.p2pKey)
				if err != nil {
					return nil, fmt.Errorf("node: libp2p identity: %w", err)
				}
				ac.P2P.Bootstrap = append(ac.P2P.Bootstrap, libp2pAddr(o.Host, ports[portsPerNode*j+2])+"/p2p/"+id.String())
			}
		}
		if len(o.Bitcoin) > 0 {
			ac.Bitcoin = o.Bitcoin[i]
			ac.Endorser.Enabled = ac.Bitcoin.RPC != ""
			ac.Synchronizer.Enabled = ac.Bitcoin.RPC != "" && i < o.Synchronizers
		}
		ac.StateSync.SnapshotInterval = o.SnapshotInterval
		if err := ac.Validate(); err != nil {
			return nil, fmt.Errorf("node%d: %w", i, err)
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
		c.P2P.AddrBookStrict = false
		c.P2P.AllowDuplicateIP = true
		c.Consensus.TimeoutCommit = o.TimeoutCommit
		c.Consensus.TimeoutPropose = o.TimeoutPropose
		c.Consensus.CreateEmptyBlocks = true
		c.RPC.PprofListenAddress = ""
		c.Instrumentation.Prometheus = false
		if err := c.ValidateBasic(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		h.info.P2PAddr, h.info.RPCAddr, h.info.APIAddr = c.P2P.ListenAddress, c.RPC.ListenAddress, ac.RPC.Listen
	}
	doc, err := buildGenesis(o.ChainID, o.Network, homes)
	if err != nil {
		return nil, err
	}
	infos := make([]HomeInfo, len(homes))
	for i, h := range homes {
		if err := h.write(doc); err != nil {
			for _, done := range homes[:i] {
				os.RemoveAll(done.home)
			}
			return nil, err
		}
		infos[i] = h.info
	}
	return infos, nil
}

// libp2pAddr is the TCP multiaddress of host:port.
func libp2pAddr(host string, port int) string {
	ip := net.ParseIP(host)
	if ip.To4() != nil {
		return fmt.Sprintf("/ip4/%s/tcp/%d", ip, port)
	}
	return fmt.Sprintf("/ip6/%s/tcp/%d", ip, port)
}

// FreePorts returns n distinct free TCP ports on host, chosen by the
// kernel (see testnetPorts for the caveat), for tools and tests that start
// nodes beside each other.
func FreePorts(host string, n int) ([]int, error) { return testnetPorts(host, 0, n) }

// testnetPorts returns n ports: start, start+1, ... or, with start 0, n
// distinct free ports the kernel picked. All listeners are held until all
// ports are chosen, so the kernel cannot hand out one port twice; another
// process may still take one before the nodes start, which a test sees as
// a clear "address in use" error.
func testnetPorts(host string, start, n int) ([]int, error) {
	ports := make([]int, n)
	if start != 0 {
		if start < 1024 || start+n-1 > 65535 {
			return nil, fmt.Errorf("node: starting port %d: the %d ports must lie in 1024..65535", start, n)
		}
		for i := range ports {
			ports[i] = start + i
		}
		return ports, nil
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("node: finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
