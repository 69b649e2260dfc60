package main

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/satnode/satnode/node"
	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	home     string
	logLevel string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "satnode",
		Short: "satnode replicates the Bitcoin UTXO set and serves it to applications",
		Long: `satnode replicates the Bitcoin UTXO set under proof-of-stake BFT consensus and
serves it to applications. These commands create homes and localnets, run a
node, send transactions and query a running chain, import blocks offline,
query the UTXO store, and generate test chains.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", defaultHome(), "satnode home directory (CometBFT layout: config/, data/)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(newVersionCmd(), newP2PCmd(g), newImportCmd(g), newSnapshotCmd(g), newGenesisCmd(g), newUTXOCmd(g), newGenCmd(g), newKeysCmd(g),
		newInitCmd(g), newTestnetCmd(), newStartCmd(g), newTxCmd(g), newQueryCmd(g), newProveCmd(), newVerifyCmd())
	return root
}

func defaultHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".satnode")
	}
	return ".satnode"
}

// storeDir is the home's goleveldb store: the UTXO set, and the consensus
// state once the node runs. `satnode import` fills the same store a node
// later starts from (a genesis start above height 0 needs it).
func (g *globals) storeDir() string { return filepath.Join(g.home, filepath.FromSlash(node.StoreDir)) }

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}
