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
	// StartingPort is node0's P2P port; node i listens for P2P on
	// StartingPort+2i and for RPC on StartingPort+2i+1. Zero asks the
	// kernel for free ports instead (tests that run beside other nodes).
	StartingPort int
	// TimeoutCommit is how long a node waits after a commit before the next
	// height (default 500ms); TimeoutPropose is how long it waits for a
	// proposal (default 1s), which is the cost of a stopped proposer.
	TimeoutCommit  time.Duration
	TimeoutPropose time.Duration
}

// MaxTestnetValidators bounds Testnet: a localnet beyond this on one
// machine would not be quick, which is its point.
const MaxTestnetValidators = 64

// Testnet writes N homes sharing one genesis in which every home's node is
// a validator with equal stake, every home's operator and endorser are
// funded, and node0 also holds a funded, registered synchronizer. Each
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
	ports, err := testnetPorts(o.Host, o.StartingPort, 2*o.Validators)
	if err != nil {
		return nil, err
	}
	homes := make([]*homeFiles, o.Validators)
	for i := range homes {
		name := "node" + strconv.Itoa(i)
		if homes[i], err = newHomeFiles(filepath.Join(o.Output, name), name, i == 0); err != nil {
			return nil, err
		}
		if err := homes[i].checkFree(); err != nil {
			return nil, err
		}
	}
	addr := func(port int) string { return net.JoinHostPort(o.Host, strconv.Itoa(port)) }
	for i, h := range homes {
		c := h.cfg
		c.P2P.ListenAddress = "tcp://" + addr(ports[2*i])
		c.RPC.ListenAddress = "tcp://" + addr(ports[2*i+1])
		var peers []string
		for j, other := range homes {
			if j != i {
				peers = append(peers, p2p.IDAddressString(other.nodeKey.ID(), addr(ports[2*j])))
			}
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
		h.info.P2PAddr, h.info.RPCAddr = c.P2P.ListenAddress, c.RPC.ListenAddress
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
