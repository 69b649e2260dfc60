package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"syscall"

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
		raw, err := askNode(cmd.Context(), nodeAddr, path)
		if err != nil {
			return err
		}
		return printRaw(cmd.OutOrStdout(), raw)
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
	} {
		path := "/" + q.use
		cmd.AddCommand(&cobra.Command{
			Use:   q.use,
			Short: q.short,
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return run(cmd, path) },
		})
	}
	var after string
	var limit int
	endorsements := &cobra.Command{
		Use:   "endorsements",
		Short: "Headers whose attendance is not settled: submitter, endorsers (on time, late), endorsed power",
		Long: `The endorsement records not yet settled (paid), in height order, a page at a
time: --limit of them (at most 1000) after --after HEIGHT:HASH, which is the
last record of the previous page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if after != "" {
				q.Set("after", after)
			}
			path := "/endorsements"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return run(cmd, path)
		},
	}
	endorsements.Flags().StringVar(&after, "after", "", "HEIGHT:HASH of the last record of the previous page")
	endorsements.Flags().IntVar(&limit, "limit", 0, "records per page, 1..1000 (default 1000)")
	cmd.AddCommand(endorsements)
	return cmd
}

// askNode runs an ABCI query against the node whose CometBFT RPC listens
// at addr and returns the JSON it answered. Its errors are for people: an
// answer with a non-zero code is "code N (Name): message", without the
// client's and the application's prefixes, and a node that is not there
// is named.
func askNode(ctx context.Context, addr, path string) (json.RawMessage, error) {
	c, err := client.New(addr)
	if err != nil {
		return nil, err
	}
	raw, err := c.Query(ctx, path)
	var qe *client.QueryError
	switch {
	case err == nil:
		return raw, nil
	case errors.As(err, &qe):
		msg := strings.TrimPrefix(qe.Log, "tx: "+qe.Code.String()+": ")
		return nil, fmt.Errorf("code %d (%s): %s", uint32(qe.Code), qe.Code, strings.TrimPrefix(msg, "query: "))
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("no node answers at %s (connection refused)", addr)
	}
	return nil, err
}

// printRaw writes a node's JSON answer indented, as printJSON does.
func printRaw(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
