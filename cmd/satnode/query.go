package main

import (
	"bytes"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/client"
)

func newQueryCmd(g *globals) *cobra.Command {
	var nodeAddr string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read the chain's state from a node (ABCI queries)",
		Long: `Read the chain's state from a node with ABCI queries and print the JSON
answer. A non-zero answer code is an error naming the code and the
application's message.`,
	}
	cmd.PersistentFlags().StringVar(&nodeAddr, "node", defaultNode, "CometBFT RPC address of a node")

	run := func(cmd *cobra.Command, path string) error {
		c, err := client.New(nodeAddr)
		if err != nil {
			return err
		}
		raw, err := c.Query(cmd.Context(), path)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err = cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	account := &cobra.Command{
		Use:   "account ADDRESS",
		Short: "Balance and last nonce of an account (an address or a key name)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.address(args[0])
			if err != nil {
				return err
			}
			return run(cmd, "/account/"+a.String())
		},
	}
	cmd.AddCommand(account)
	for _, q := range []struct{ use, short string }{
		{"validators", "Every validator: keys, stake, power, jail status"},
		{"synchronizers", "Every registered synchronizer: bond and payout address"},
		{"btc-tip", "The Bitcoin tip of the UTXO set, its MuHash, the finalized base and the best header"},
		{"endorsements", "The headers above the finalized base: submitter, endorsers, endorsed power"},
	} {
		path := "/" + q.use
		cmd.AddCommand(&cobra.Command{
			Use:   q.use,
			Short: q.short,
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return run(cmd, path) },
		})
	}
	return cmd
}
