package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/utxo/leveldbstore"
)

func newGenesisCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Start a chain on a loaded UTXO set, and check a genesis against a Bitcoin node",
	}
	var genesis string
	var btc bitcoinFlags
	file := func() string {
		if genesis != "" {
			return genesis
		}
		return filepath.Join(g.home, "config", "genesis.json")
	}
	start := &cobra.Command{
		Use:   "start",
		Short: "Make the genesis of --home start at the UTXO set its store holds",
		Long: `start sets the start point of the genesis file (--genesis, default the home's
config/genesis.json) to the UTXO set in the store of --home, loaded with
"satnode snapshot load" or imported: its tip becomes the chain's finalized
base, with the base's header and the ancestry the retarget and
median-time-past rules need, read from the Bitcoin node --bitcoin-rpc (its
best chain must hold the base), and the set's MuHash. Hand the file to every
validator; each loads the same snapshot and checks the genesis against its
own node with "satnode genesis verify".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if btc.url == "" {
				return errors.New("--bitcoin-rpc is required: the ancestry headers come from a Bitcoin node")
			}
			c, err := btc.client()
			if err != nil {
				return fmt.Errorf("--bitcoin-rpc: %w", err)
			}
			dir := g.storeDir()
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("no UTXO store at %s (load a snapshot first): %w", dir, err)
			}
			s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
			if err != nil {
				return fmt.Errorf("%w (is another satnode using this home?)", err)
			}
			defer s.Close()
			st, err := node.StartFromStore(cmd.Context(), s, c)
			if err != nil {
				return err
			}
			if err := node.SetGenesisStart(file(), st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "genesis start: height %d, %d headers, muhash %s, written to %s\n",
				st.Height, len(st.Headers), st.MuHash, file())
			return printJSON(cmd.OutOrStdout(), st)
		},
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check a genesis's start point against your own Bitcoin node",
		Long: `verify checks the start point of a genesis file (--genesis, default the
home's config/genesis.json) against the Bitcoin node --bitcoin-rpc: the base
and every ancestry header must be the node's block at that height, in its
best chain; and where the node answers "gettxoutsetinfo muhash <height>"
(Bitcoin Core with -coinstatsindex), the set's MuHash at the base must be
the genesis's. A node that cannot answer the MuHash (btcd) is named, and the
rest is checked. It prints a report and fails on any disagreement.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if btc.url == "" {
				return errors.New("--bitcoin-rpc is required: the genesis is checked against your own Bitcoin node")
			}
			c, err := btc.client()
			if err != nil {
				return fmt.Errorf("--bitcoin-rpc: %w", err)
			}
			_, gen, err := node.ReadGenesis(file())
			if err != nil {
				return err
			}
			rep, err := node.VerifyGenesis(cmd.Context(), gen, c)
			if err != nil {
				return err
			}
			if !rep.MuHashChecked {
				fmt.Fprintf(cmd.ErrOrStderr(), "genesis verify: MuHash not checked: %s\n", rep.MuHashNote)
			}
			return printJSON(cmd.OutOrStdout(), rep)
		},
	}
	for _, c := range []*cobra.Command{start, verify} {
		c.Flags().StringVar(&genesis, "genesis", "", "the genesis file (default: --home's config/genesis.json)")
		btc.add(c)
	}
	cmd.AddCommand(start, verify)
	return cmd
}
