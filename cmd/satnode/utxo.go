package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/client"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/query"
)

func newUTXOCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "utxo",
		Short: "Query the UTXO store in --home (offline)",
	}
	var height int32
	var nodeAddr string
	info := &cobra.Command{
		Use:   "info",
		Short: "UTXO set summary, shaped like Bitcoin Core's gettxoutsetinfo muhash",
		Args:  cobra.NoArgs,
		Long: `UTXO set summary, shaped like Bitcoin Core's gettxoutsetinfo muhash.
It reads the store in --home, which a running node holds locked; with
--node it asks a running node instead (its committed state).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodeAddr != "" {
				c, err := client.New(nodeAddr)
				if err != nil {
					return err
				}
				path := "/utxo-info"
				if height >= 0 {
					path += "/" + strconv.Itoa(int(height))
				}
				raw, err := c.Query(cmd.Context(), path)
				if err != nil {
					return err
				}
				var b bytes.Buffer
				if err := json.Indent(&b, raw, "", "  "); err != nil {
					return err
				}
				b.WriteByte('\n')
				_, err = cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			return withReader(g, func(r *utxo.Reader, _ *utxo.Params) error {
				v, err := query.GetTxOutSetInfo(r, height)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			})
		},
	}
	info.Flags().Int32Var(&height, "height", -1, "answer for this past height (default: the tip)")
	info.Flags().StringVar(&nodeAddr, "node", "", "ask a running node's RPC (e.g. tcp://127.0.0.1:26657) instead of reading --home")

	get := &cobra.Command{
		Use:   "get TXID:VOUT",
		Short: "An unspent output, shaped like Bitcoin Core's gettxout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			op, err := query.ParseOutpoint(args[0])
			if err != nil {
				return err
			}
			return withReader(g, func(r *utxo.Reader, p *utxo.Params) error {
				v, err := query.GetTxOut(r, p.Chain, op)
				if errors.Is(err, utxo.ErrNotFound) {
					return fmt.Errorf("%s is not in the UTXO set (spent, or never created)", args[0])
				}
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			})
		},
	}

	var limit int
	var after string
	page := func(r *utxo.Reader, sh [32]byte, addr string, w io.Writer) error {
		var cursor *utxo.Outpoint
		if after != "" {
			op, err := query.ParseOutpoint(after)
			if err != nil {
				return fmt.Errorf("--after: %w", err)
			}
			cursor = &op
		}
		v, err := query.GetScriptHash(r, sh, cursor, limit)
		if err != nil {
			return err
		}
		v.Address = addr
		return printJSON(w, v)
	}
	scripthash := &cobra.Command{
		Use:   "scripthash HEX",
		Short: "Unspent outputs and balance of a script hash (sha256 of the script, Esplora's form)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := query.ParseScriptHash(args[0])
			if err != nil {
				return err
			}
			return withReader(g, func(r *utxo.Reader, _ *utxo.Params) error {
				return page(r, sh, "", cmd.OutOrStdout())
			})
		},
	}
	address := &cobra.Command{
		Use:   "address ADDR",
		Short: "Unspent outputs and balance of an address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withReader(g, func(r *utxo.Reader, p *utxo.Params) error {
				script, err := query.ScriptForAddress(args[0], p.Chain)
				if err != nil {
					return err
				}
				return page(r, query.ScriptHashOf(script), args[0], cmd.OutOrStdout())
			})
		},
	}
	for _, c := range []*cobra.Command{scripthash, address} {
		c.Flags().IntVar(&limit, "limit", 100, "unspent outputs per page")
		c.Flags().StringVar(&after, "after", "", "cursor: list outputs after this TXID:VOUT (the previous page's \"next\")")
	}
	cmd.AddCommand(info, get, scripthash, address)
	return cmd
}

// withReader opens the home's store read-only and runs fn with a reader and
// the store's network.
func withReader(g *globals, fn func(*utxo.Reader, *utxo.Params) error) error {
	dir := g.storeDir()
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no UTXO store at %s (run satnode import first): %w", dir, err)
	}
	s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%w (is another satnode using this home?)", err)
	}
	defer s.Close()
	r := utxo.NewReader(s)
	st, err := r.State()
	if errors.Is(err, utxo.ErrLoadIncomplete) {
		return fmt.Errorf("the store at %s: %w", dir, err)
	}
	if err != nil {
		return fmt.Errorf("the store at %s has no state (empty or not a satnode store): %w", dir, err)
	}
	p, err := utxo.ParamsFor(st.Network)
	if err != nil {
		return err
	}
	return fn(r, p)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
