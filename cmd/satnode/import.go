package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/importer"
	"github.com/satnode/satnode/utxo"
)

// setMemoryLimit applies importer.MemoryLimit unless GOMEMLIMIT is set.
func setMemoryLimit(cacheBytes int64) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importer.MemoryLimit(cacheBytes))
	}
}

func newImportCmd(g *globals) *cobra.Command {
	var (
		network  string
		cacheMB  int64
		flushInt int
		undo     int32
		scripts  bool
		stop     int32
		// writeBufKiB is small only in tests, to make small flushes take
		// the streaming path.
		writeBufKiB int
	)
	cmd := &cobra.Command{
		Use:   "import SOURCE...",
		Short: "Import blocks from blk files or a Bitcoin Core blocks/ directory into the UTXO store",
		Long: `Import reads blocks from blk-format files (plain or .bz2) or Bitcoin Core
blocks/ directories, follows the most-work chain through them (Core stores
blocks out of order), and connects them to the UTXO store in --home.

It prints a progress line every few seconds. Interrupt it at any time: the
store is left consistent and the next run resumes where this one stopped.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := utxo.ParamsFor(network)
			if err != nil {
				return err
			}
			setMemoryLimit(cacheMB << 20)
			_, err = importer.Run(cmd.Context(), importer.Config{
				StoreDir: g.storeDir(), Sources: args, Params: params,
				CacheBytes: cacheMB << 20, FlushInterval: flushInt, UndoDepth: undo,
				ValidateScripts: scripts, StopHeight: stop, Logger: g.logger(),
				WriteBufferBytes: writeBufKiB << 10,
			})
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "mainnet", "network: mainnet, testnet3, signet, regtest or simnet")
	f.Int64Var(&cacheMB, "cache-mb", utxo.DefaultCacheBytes>>20, "coin cache budget in MiB")
	f.IntVar(&flushInt, "flush-interval", 0, "flush at least every N blocks (0: only when the cache is full)")
	f.Int32Var(&undo, "undo-depth", 0, "keep undo data for the last N blocks only (0: all)")
	f.BoolVar(&scripts, "scripts", false, "also verify every input script (slow)")
	f.IntVar(&writeBufKiB, "db-write-buffer-kib", 0, "goleveldb memtable size in KiB (0: 65536)")
	f.Int32Var(&stop, "stop-height", 0, "stop after this height (0: the tip of the files)")
	return cmd
}
