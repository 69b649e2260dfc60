package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node"
)

func newInitCmd(g *globals) *cobra.Command {
	var o node.InitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a home for a one-validator chain (config, genesis, keys)",
		Long: `Create a home directory in CometBFT's layout (config/config.toml, genesis.json,
node_key.json, priv_validator_key.json, data/priv_validator_state.json) plus
config/app.toml, and the keys operator, endorser and synchronizer in the
keyring. The genesis makes this node the chain's only validator, funds the
three keys, and registers the synchronizer. An existing home is never
overwritten.

To join a running chain instead, replace config/genesis.json with the
chain's and list peers in config.toml; with --statesync-rpc (two or more of
the chain's CometBFT RPC servers), --trust-height and --trust-hash (a
header you trust, e.g. from a block explorer or a friend's node) the node
restores a recent snapshot served by its peers, checked against the app
hash CometBFT's light client verifies from that header, instead of
replaying the chain from genesis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Home = g.home
			info, err := node.Init(o)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), info)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ChainID, "chain-id", "", "chain id (1..50 printable ASCII characters)")
	f.StringVar(&o.Moniker, "moniker", "", "name of this node and its validator")
	f.StringVar(&o.Network, "network", "", "Bitcoin network: mainnet, testnet3, signet, regtest or simnet")
	f.StringVar(&o.P2PAddr, "p2p-laddr", "", "P2P listen address (default: CometBFT's, tcp://0.0.0.0:26656)")
	f.StringVar(&o.RPCAddr, "rpc-laddr", "", "RPC listen address (default: CometBFT's, tcp://127.0.0.1:26657)")
	f.StringVar(&o.APIAddr, "api-laddr", "", "satnode's HTTP API (JSON-RPC, Esplora, /v1, /metrics) listen address, host:port or off (default: "+node.DefaultRPCListen+")")
	f.StringSliceVar(&o.StateSync.RPCServers, "statesync-rpc", nil, "state sync: CometBFT RPC servers of the chain (two or more, comma separated) for the light client")
	f.Int64Var(&o.StateSync.TrustHeight, "trust-height", 0, "state sync: height of a trusted header")
	f.StringVar(&o.StateSync.TrustHash, "trust-hash", "", "state sync: hash (hex) of the header at --trust-height")
	f.DurationVar(&o.StateSync.TrustPeriod, "trust-period", 0, "state sync: how long a header is trusted (default CometBFT's 168h)")
	for _, name := range []string{"chain-id", "moniker", "network"} {
		_ = cmd.MarkFlagRequired(name) // the flag exists
	}
	return cmd
}

func newTestnetCmd() *cobra.Command {
	var o node.TestnetOptions
	var rpcs []string
	var rpcUser, rpcPass string
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Create the homes of an N-validator localnet (DIR/node0 .. node<N-1>)",
		Long: `Create N homes sharing one genesis: every node a validator with equal stake,
every home's operator and endorser keys funded, and a funded, registered
synchronizer key in the keyrings of the first --synchronizers homes. The
nodes listen on 127.0.0.1 (--host), node i on ports STARTING+3i (P2P),
STARTING+3i+1 (RPC) and STARTING+3i+2 (libp2p, bodies), list each other as
peers, and make a block every --timeout-commit. With --bitcoin-rpc, node i
follows the i-th Bitcoin node (endorser, and synchronizer where it holds the
key). Start each with satnode start --home DIR/nodeI.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(rpcs) > 0 {
				if len(rpcs) != o.Validators {
					return fmt.Errorf("--bitcoin-rpc: %d addresses for %d validators", len(rpcs), o.Validators)
				}
				for _, r := range rpcs {
					bc := node.DefaultAppConfig().Bitcoin
					bc.RPC, bc.User, bc.Password = r, rpcUser, rpcPass
					o.Bitcoin = append(o.Bitcoin, bc)
				}
			}
			infos, err := node.Testnet(o)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), infos)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Validators, "validators", 4, "number of validators (1..64)")
	f.StringVar(&o.Output, "output", "", "directory for the homes")
	f.StringVar(&o.ChainID, "chain-id", "satnode-localnet", "chain id")
	f.StringVar(&o.Network, "network", "regtest", "Bitcoin network: mainnet, testnet3, signet, regtest or simnet")
	f.StringVar(&o.Host, "host", "127.0.0.1", "IP address the nodes listen on and dial")
	f.IntVar(&o.StartingPort, "starting-port", 26656, "node0's P2P port (0: free ports chosen by the kernel)")
	f.DurationVar(&o.TimeoutCommit, "timeout-commit", 500*time.Millisecond, "pause after each block")
	f.DurationVar(&o.TimeoutPropose, "timeout-propose", time.Second, "wait for a proposal before moving to the next round")
	f.IntVar(&o.Synchronizers, "synchronizers", 1, "number of homes with a registered synchronizer key")
	f.Int64Var(&o.SnapshotInterval, "snapshot-interval", 0, "every node makes a state-sync snapshot every this many blocks (0: none)")
	f.StringSliceVar(&rpcs, "bitcoin-rpc", nil, "one Bitcoin node JSON-RPC address per validator (http://host:port), comma separated")
	f.StringVar(&rpcUser, "bitcoin-rpc-user", "", "RPC user of the Bitcoin nodes")
	f.StringVar(&rpcPass, "bitcoin-rpc-password", "", "RPC password of the Bitcoin nodes")
	_ = cmd.MarkFlagRequired("output") // the flag exists
	return cmd
}

func newStartCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "Run the node of --home until interrupted (SIGINT or SIGTERM)",
		Long: `Run the node of --home: CometBFT and the satnode application in one process.
It stops cleanly on SIGINT or SIGTERM: CometBFT first, then the application
and the store, which hold nothing unwritten (every block is committed in one
batch). The log level is app.toml's [log] level unless --log-level is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The command handles the signals itself, so a node embedded
			// in another binary (or a test's helper process) stops cleanly
			// too.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts := node.Options{LogOutput: cmd.ErrOrStderr()}
			if cmd.Flags().Changed("log-level") {
				opts.LogLevel = g.logLevel
			}
			return node.Run(ctx, g.home, opts)
		},
	}
}
