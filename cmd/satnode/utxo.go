package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/leveldbstore"
	"github.com/satnode/satnode/utxo/query"
)

func newUTXOCmd(g *globals) *cobra.Command {
	var nodeAddr string
	cmd := &cobra.Command{
		Use:   "utxo",
		Short: "Query the UTXO set: the store in --home, or a running node with --node",
		Long: `Query the UTXO set. Without --node the commands read the store in --home,
which a running node holds locked; with --node they ask a running node's
CometBFT RPC (ABCI queries) and answer from its last commit, in the same
shapes.`,
	}
	cmd.PersistentFlags().StringVar(&nodeAddr, "node", "", "ask a running node's CometBFT RPC (e.g. tcp://127.0.0.1:26657) instead of reading --home")

	var height int32
	info := &cobra.Command{
		Use:   "info",
		Short: "UTXO set summary, shaped like Bitcoin Core's gettxoutsetinfo muhash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if height < -1 {
				return fmt.Errorf("--height %d: want a height (0 or more), or -1 for the tip", height)
			}
			if nodeAddr != "" {
				path := "/utxo-info"
				if height >= 0 {
					path += "/" + strconv.Itoa(int(height))
				}
				raw, err := askNode(cmd.Context(), nodeAddr, path)
				if err != nil && height >= 0 {
					if tip, terr := nodeTip(cmd.Context(), nodeAddr); terr == nil && height > tip {
						return noBlockError(height, tip)
					}
				}
				if err != nil {
					return err
				}
				return printRaw(cmd.OutOrStdout(), raw)
			}
			return withReader(g, func(r *utxo.Reader, _ *utxo.Params) error {
				if st, err := r.State(); err == nil && st.HasTip && height > st.TipHeight {
					return noBlockError(height, st.TipHeight)
				}
				v, err := query.GetTxOutSetInfo(r, height)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), v)
			})
		},
	}
	info.Flags().Int32Var(&height, "height", -1, "the set after the block at this height; -1 is the tip")

	get := &cobra.Command{
		Use:   "get TXID:VOUT",
		Short: "An unspent output, shaped like Bitcoin Core's gettxout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			op, err := query.ParseOutpoint(args[0])
			if err != nil {
				return plain(err)
			}
			notInSet := fmt.Errorf("%s is not in the UTXO set (spent, or never created)", args[0])
			if nodeAddr != "" {
				raw, err := askNode(cmd.Context(), nodeAddr, "/utxo/"+op.String())
				if err != nil {
					return err
				}
				if string(raw) == "null" {
					return notInSet
				}
				return printRaw(cmd.OutOrStdout(), raw)
			}
			return withReader(g, func(r *utxo.Reader, p *utxo.Params) error {
				v, err := query.GetTxOut(r, p.Chain, op)
				if errors.Is(err, utxo.ErrNotFound) {
					return notInSet
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
	// page lists one page of a script hash's unspent outputs: from the
	// node at nodeAddr under path (/address/ADDR or /scripthash/HEX), or
	// from the store.
	page := func(cmd *cobra.Command, path string, local func(*utxo.Reader, *utxo.Params) (sh [32]byte, addr string, err error)) error {
		if limit < 1 {
			return fmt.Errorf("--limit %d: want 1 or more", limit)
		}
		var cursor *utxo.Outpoint
		if after != "" {
			op, err := query.ParseOutpoint(after)
			if err != nil {
				return fmt.Errorf("--after: %w", plain(err))
			}
			cursor = &op
		}
		if nodeAddr != "" {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if cursor != nil {
				q.Set("after", cursor.String())
			}
			raw, err := askNode(cmd.Context(), nodeAddr, path+"?"+q.Encode())
			if err != nil {
				return err
			}
			return printRaw(cmd.OutOrStdout(), raw)
		}
		return withReader(g, func(r *utxo.Reader, p *utxo.Params) error {
			sh, addr, err := local(r, p)
			if err != nil {
				return err
			}
			v, err := query.GetScriptHash(r, sh, cursor, limit)
			if err != nil {
				return err
			}
			v.Address = addr
			return printJSON(cmd.OutOrStdout(), v)
		})
	}
	scripthash := &cobra.Command{
		Use:   "scripthash HEX",
		Short: "Unspent outputs and balance of a script hash (sha256 of the script, Esplora's form)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := query.ParseScriptHash(args[0])
			if err != nil {
				return plain(err)
			}
			return page(cmd, "/scripthash/"+args[0], func(*utxo.Reader, *utxo.Params) ([32]byte, string, error) {
				return sh, "", nil
			})
		},
	}
	address := &cobra.Command{
		Use:   "address ADDR",
		Short: "Unspent outputs and balance of an address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return page(cmd, "/address/"+url.PathEscape(args[0]), func(_ *utxo.Reader, p *utxo.Params) ([32]byte, string, error) {
				script, err := query.ScriptForAddress(args[0], p.Chain)
				if err != nil {
					return [32]byte{}, "", plain(err)
				}
				return query.ScriptHashOf(script), args[0], nil
			})
		},
	}
	for _, c := range []*cobra.Command{scripthash, address} {
		c.Flags().IntVar(&limit, "limit", 100, "unspent outputs per page (at most 1000 with --node)")
		c.Flags().StringVar(&after, "after", "", "cursor: list outputs after this TXID:VOUT (the previous page's \"next\")")
	}
	cmd.AddCommand(info, get, scripthash, address)
	return cmd
}

// plain drops the "query: " the query package puts before its errors
// about bad input: the command line says what is wrong with an argument,
// not which package found it.
func plain(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), "query: "); ok {
		return errors.New(msg)
	}
	return err
}

// noBlockError is the answer for a height above the set's tip.
func noBlockError(height, tip int32) error {
	return fmt.Errorf("no block at height %d (the tip is %d)", height, tip)
}

// nodeTip asks the node for the height of its UTXO set's tip.
func nodeTip(ctx context.Context, nodeAddr string) (int32, error) {
	raw, err := askNode(ctx, nodeAddr, "/btc-tip")
	if err != nil {
		return 0, err
	}
	var tip struct {
		Height int32 `json:"height"`
	}
	if err := json.Unmarshal(raw, &tip); err != nil {
		return 0, err
	}
	return tip.Height, nil
}

// withReader opens the home's store read-only and runs fn with a reader and
// the store's network.
func withReader(g *globals, fn func(*utxo.Reader, *utxo.Params) error) error {
	dir := g.storeDir()
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no UTXO store at %s (run satnode import first, or ask a running node with --node)", dir)
	}
	s, err := leveldbstore.Open(dir, leveldbstore.Options{ReadOnly: true})
	if errors.Is(err, syscall.EAGAIN) { // goleveldb's LOCK file is held
		rpc := defaultNode
		if cfg, cerr := node.LoadCometConfig(g.home); cerr == nil {
			rpc = cfg.RPC.ListenAddress
		}
		return fmt.Errorf("the store in %s is in use by a running node: use --node %s", g.home, rpc)
	}
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
