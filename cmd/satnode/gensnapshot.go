package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/spf13/cobra"

	"github.com/satnode/satnode/utxo/coresnap"
	"github.com/satnode/satnode/utxo/coresnap/snapgen"
)

// block866342 is the real mainnet block the generator's tables come from:
// the default base of a mainnet snapshot at the default height.
const block866342 = "000000000000000000014ce9ba7c6760053c3c82ce6ab43d60afb101d3c8f1f1"

func newGenSnapshotCmd() *cobra.Command {
	var (
		network, baseHash string
		coins             uint64
		height            int32
		seed              uint64
	)
	cmd := &cobra.Command{
		Use:   "snapshot FILE",
		Short: "Generate a deterministic, mainnet-like UTXO set as a Bitcoin Core snapshot file",
		Long: `gen snapshot writes --coins coins as a Bitcoin Core UTXO snapshot
(dumptxoutset format version 2) to FILE, for "satnode snapshot load". The
file is a pure function of the flags. Script types, values, coins per
transaction and heights follow mainnet block 866342 and public counts of
the UTXO set (see utxo/coresnap/snapgen/mix.go); heights spread over
0..--height, most of them recent. Memory does not grow with --coins.

The set is not the state of any chain: its txids hash nothing. The base
hash is --base-hash (default: the real hash of block 866342 for mainnet at
height 866342, else a fixed value derived from the network and height).
A snapshot of a real chain must name a real block and come from that
chain's node; a generated one is for measuring loads and crash tests.
The file is written to FILE.tmp and renamed when complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			net, err := coresnap.NetworkByName(network)
			if err != nil {
				return err
			}
			cfg := snapgen.Config{Network: net, Height: height, Coins: coins, Seed: seed}
			if cfg.BaseHash, err = genBaseHash(baseHash, net, height); err != nil {
				return err
			}
			return genSnapshot(cmd.ErrOrStderr(), args[0], cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "regtest", "network in the header: mainnet, testnet3, testnet4, signet or regtest")
	f.Uint64Var(&coins, "coins", 0, "number of coins (required)")
	f.Int32Var(&height, "height", 866342, "height of the base block; every coin is at or below it")
	f.Uint64Var(&seed, "seed", 1, "seed for every random choice")
	f.StringVar(&baseHash, "base-hash", "", "hash of the base block, as block explorers print it (default: see above)")
	_ = cmd.MarkFlagRequired("coins")
	return cmd
}

// genBaseHash is --base-hash, or its default.
func genBaseHash(s string, net coresnap.Network, height int32) (chainhash.Hash, error) {
	if s == "" && net == coresnap.MainNet && height == 866342 {
		s = block866342
	}
	if s != "" {
		h, err := chainhash.NewHashFromStr(s)
		if err != nil || len(s) != 64 {
			return chainhash.Hash{}, fmt.Errorf("--base-hash %q is not 64 hex digits", s)
		}
		return *h, nil
	}
	// Not a block of any chain: a fixed stand-in, so that files of the
	// same flags are the same bytes.
	return chainhash.DoubleHashH(fmt.Appendf(nil, "satnode gen snapshot %s %d", net, height)), nil
}

// genSnapshot writes the snapshot of cfg to path through path.tmp.
func genSnapshot(log io.Writer, path string, cfg snapgen.Config) (err error) {
	started := time.Now()
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	sum, err := snapgen.Write(bw, cfg)
	if err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(log, "gen snapshot: %s at %d (%s, base %s, seed %d) in %v: %s", path, cfg.Height, cfg.Network,
		cfg.BaseHash, cfg.Seed, time.Since(started).Round(time.Millisecond), sum.String())
	return nil
}
