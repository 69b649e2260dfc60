package main

import (
	"fmt"
	"io"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/blkfile"
	"github.com/satnode/satnode/utxo/chaingen"
)

func newGenCmd(g *globals) *cobra.Command {
	var (
		out     string
		profile string
		seed    uint64
		blocks  int
		txs     int
		start   string
	)
	cmd := &cobra.Command{
		Use:   "gen --out DIR",
		Short: "Generate a deterministic, regtest-valid, mainnet-like chain as blk files",
		Long: `gen writes a regtest chain (genesis first) as blk files in --out. The chain is
a pure function of the flags: real proof of work, merkle roots, witness
commitments, signatures from keys derived from --seed, segwit and taproot
activated by version-bits signalling at height 432, and a mainnet-like mix
of P2WPKH, P2TR, P2PKH, P2SH, P2WSH and OP_RETURN outputs, consolidations,
batch payouts and in-block spends. btcd accepts every block.

Profiles: "default" (600 blocks of 200 transactions) and "bench"
(1000 blocks, 2000 transactions each after activation: >1M transactions,
>3M unspent outputs at the end).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg chaingen.Config
			switch profile {
			case "default":
				cfg = chaingen.DefaultConfig()
			case "bench":
				cfg = chaingen.BenchConfig()
			default:
				return fmt.Errorf("unknown profile %q (want default or bench)", profile)
			}
			f := cmd.Flags()
			if f.Changed("seed") {
				cfg.Seed = seed
			}
			if f.Changed("blocks") {
				cfg.Blocks = blocks
			}
			if f.Changed("txs-per-block") {
				cfg.TxsPerBlock = txs
			}
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return fmt.Errorf("--start-time: %w", err)
				}
				cfg.StartTime = t
			}
			return generate(cmd.OutOrStdout(), g, cfg, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory for the blk files (required)")
	f.StringVar(&profile, "profile", "default", "preset: default or bench")
	f.Uint64Var(&seed, "seed", 1, "seed for keys and every random choice")
	f.IntVar(&blocks, "blocks", 0, "blocks after genesis (default: the profile's)")
	f.IntVar(&txs, "txs-per-block", 0, "transactions per block after activation (default: the profile's)")
	f.StringVar(&start, "start-time", "", "timestamp of block 1, RFC 3339 (default: the profile's, in the past)")
	_ = cmd.MarkFlagRequired("out")
	cmd.AddCommand(newGenSnapshotCmd())
	return cmd
}

// generate runs the generator into blk files, logging progress.
func generate(w io.Writer, g *globals, cfg chaingen.Config, out string) error {
	log := g.logger()
	gen, err := chaingen.New(cfg)
	if err != nil {
		return err
	}
	bw, err := blkfile.NewWriter(out, cfg.Params.Net, nil)
	if err != nil {
		return err
	}
	last := time.Now()
	err = gen.Each(func(b *wire.MsgBlock) error {
		if _, err := bw.WriteMsgBlock(b); err != nil {
			return err
		}
		if time.Since(last) > 2*time.Second {
			s := gen.Summary()
			log.Info("gen", "height", gen.Height(), "of", cfg.Blocks, "txs", s.Txs, "utxos", s.FinalUTXOs)
			last = time.Now()
		}
		return nil
	})
	if err != nil {
		bw.Close()
		return err
	}
	if err := bw.Close(); err != nil {
		return err
	}
	fmt.Fprintln(w, gen.Summary().String())
	return nil
}
