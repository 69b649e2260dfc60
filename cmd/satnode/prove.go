package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/rpc/verify"
)

// prove and verify: the proofs of issue 13 as files. `prove` asks a
// node's API (/v1/proof/...) and writes what it answers, checked for
// shape; `verify` trusts nothing of the node it asks for headers: the
// header carrying the file's app hash is verified with CometBFT's light
// client from a trusted height and hash, then the ICS-23 chain from the
// coin to that app hash (rpc/verify).

const defaultAPI = "http://" + node.DefaultRPCListen

func newProveCmd() *cobra.Command {
	var api, out string
	var height int64
	cmd := &cobra.Command{
		Use:   "prove",
		Short: "Fetch a proof of a coin (or its absence) or of an address's reserves from a node",
		Long: `Fetch proofs from a node's API and write them to a file (or stdout) for
'satnode verify' or any ICS-23 verifier: a coin's presence or absence in the
UTXO set, or the coins of addresses (proof of reserves), each chained to the
app hash that the validators signed. --height picks one of the node's recent
commits (the API keeps 64).`,
	}
	cmd.PersistentFlags().StringVar(&api, "api", defaultAPI, "the node's API (rpc.listen of app.toml)")
	cmd.PersistentFlags().StringVarP(&out, "out", "o", "", "write the proof to this file instead of stdout")
	cmd.PersistentFlags().Int64Var(&height, "height", 0, "prove at this CometBFT height (default: the latest commit)")
	utxoCmd := &cobra.Command{
		Use:   "utxo TXID:VOUT",
		Short: "Prove an outpoint unspent (with its coin) or not in the set",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			txid, vout, ok := strings.Cut(args[0], ":")
			if !ok {
				return fmt.Errorf("prove: %q is not TXID:VOUT", args[0])
			}
			path := "/v1/proof/utxo/" + url.PathEscape(txid) + "/" + url.PathEscape(vout)
			if height > 0 {
				path += "?height=" + strconv.FormatInt(height, 10)
			}
			body, err := apiGet(cmd.Context(), api, path)
			if err != nil {
				return err
			}
			p, err := verify.DecodeUTXOProof(bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("prove: the node's answer: %w", err)
			}
			return writeProof(cmd, out, p)
		},
	}
	addrCmd := &cobra.Command{
		Use:   "address ADDRESS...",
		Short: "Prove the coins of addresses (proof of reserves), every page at one height",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := proveReserves(cmd.Context(), api, args, height)
			if err != nil {
				return err
			}
			return writeProof(cmd, out, p)
		},
	}
	cmd.AddCommand(utxoCmd, addrCmd)
	return cmd
}

// proveReserves collects every page of every address at one height (the
// first answer's, unless given) into one reserves file.
func proveReserves(ctx context.Context, api string, addrs []string, height int64) (*verify.ReservesProof, error) {
	var all *verify.ReservesProof
	for _, addr := range addrs {
		var ac *verify.AddressCoins
		after := ""
		for {
			q := url.Values{}
			if height > 0 {
				q.Set("height", strconv.FormatInt(height, 10))
			}
			if after != "" {
				q.Set("after", after)
			}
			path := "/v1/proof/address/" + url.PathEscape(addr)
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			body, err := apiGet(ctx, api, path)
			if err != nil {
				return nil, err
			}
			page, err := verify.DecodeReservesProof(bytes.NewReader(body))
			if err != nil || len(page.Addresses) != 1 {
				return nil, fmt.Errorf("prove: the node's answer for %s: %v", addr, err)
			}
			if all == nil {
				all = &verify.ReservesProof{Kind: verify.KindReserves, State: page.State}
				height = page.Height
			} else if !bytes.Equal(page.AppHash, all.AppHash) {
				return nil, fmt.Errorf("prove: the node answered %s at another state", addr)
			}
			got := page.Addresses[0]
			if ac == nil {
				all.Addresses = append(all.Addresses, verify.AddressCoins{Address: got.Address, ScriptPubKey: got.ScriptPubKey})
				ac = &all.Addresses[len(all.Addresses)-1]
			}
			ac.Coins = append(ac.Coins, got.Coins...)
			for _, c := range got.Coins {
				all.Total += c.Coin.Value
			}
			if got.Next == "" {
				break
			}
			after = got.Next
		}
	}
	return all, nil
}

func apiGet(ctx context.Context, api, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(api, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prove: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, verify.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("prove: reading the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("prove: %s: %s: %s", path, res.Status, e.Error)
	}
	return body, nil
}

func writeProof(cmd *cobra.Command, out string, p any) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "" {
		_, err = cmd.OutOrStdout().Write(b)
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func newVerifyCmd() *cobra.Command {
	var nodeAddr, trustHash string
	var trustHeight int64
	var trustPeriod time.Duration
	cmd := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify proof files against the validators, trusting only a checkpoint",
		Long: `Verify files 'satnode prove' (or /v1/proof/...) wrote. CometBFT's light client
verifies the header that carries a file's app hash, from a trusted height and
hash, with at least two thirds of the validators' power at every step; then the
ICS-23 proofs from the coin (or its absence, or each reserve coin) to that app
hash are checked. The node given with --node serves headers only and may be
hostile: it can make verification fail, never pass falsely.

Several files (of one chain) are checked in one run, each header verified once.
Each file's result is then printed on lines starting with its name and a colon,
"FAILED: why" for one that does not verify; the command fails if any does, and
names them.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hash, err := hex.DecodeString(trustHash)
			if err != nil || len(hash) != 32 {
				return fmt.Errorf("verify: --trust-hash must be a 64-digit hex header hash")
			}
			if trustHeight < 1 {
				return fmt.Errorf("verify: --trust-height is required")
			}
			return verifyFiles(cmd.Context(), cmd.OutOrStdout(), args,
				verify.TrustOptions{Height: trustHeight, Hash: hash, Period: trustPeriod}, nodeAddr)
		},
	}
	cmd.Flags().StringVar(&nodeAddr, "node", defaultNode, "CometBFT RPC of any node, for headers")
	cmd.Flags().Int64Var(&trustHeight, "trust-height", 0, "height of a header you trust (required)")
	cmd.Flags().StringVar(&trustHash, "trust-hash", "", "hash of that header, hex (required)")
	cmd.Flags().DurationVar(&trustPeriod, "trust-period", 14*24*time.Hour, "how long a trusted header stays usable (under the unbonding period)")
	return cmd
}

// verifyFiles checks the files at paths with one verify.Verifier, so that
// each header is fetched and verified once, however many files rely on
// it. One file prints as it always has and fails with its error.
// Several print their results in order, every line prefixed with the
// file's path, a file that fails as "PATH: FAILED: why", and the error
// names the failed files once all are reported: a bad file in a batch
// says nothing about the others.
func verifyFiles(ctx context.Context, w io.Writer, paths []string, trust verify.TrustOptions, nodeAddr string) error {
	files := make([]*verify.File, len(paths))
	errs := make([]error, len(paths))
	// A verifier checks one chain: the validators trusted at
	// --trust-height are those of one chain only.
	chains := map[string]string{} // chain id → its first file
	var order []string
	for i, p := range paths {
		files[i], errs[i] = readProofFile(p)
		if errs[i] != nil {
			continue
		}
		if id := files[i].State().ChainID; chains[id] == "" {
			chains[id] = p
			order = append(order, id)
		}
	}
	if len(order) > 1 {
		var names []string
		for _, id := range order {
			names = append(names, fmt.Sprintf("%q (%s)", id, chains[id]))
		}
		return fmt.Errorf("verify: the files are of %d chains, %s: verify one chain at a time", len(order), strings.Join(names, ", "))
	}
	var v *verify.Verifier
	if len(order) == 1 {
		prov, err := verify.HTTPProvider(order[0], cometURL(nodeAddr))
		if err != nil {
			return err
		}
		if v, err = verify.NewVerifier(ctx, order[0], trust, prov, nil); err != nil {
			return err
		}
	}
	if len(paths) == 1 {
		if errs[0] != nil {
			return errs[0]
		}
		res, err := v.Verify(ctx, files[0], time.Now())
		if err != nil {
			return err
		}
		return printVerified(w, res)
	}
	var failed []string
	for i, p := range paths {
		var out bytes.Buffer
		err := errs[i]
		if err == nil {
			var res *verify.Result
			if res, err = v.Verify(ctx, files[i], time.Now()); err == nil {
				err = printVerified(&out, res)
			}
		}
		if err != nil {
			failed = append(failed, p)
			out.Reset()
			fmt.Fprintf(&out, "FAILED: %v\n", err)
		}
		for line := range strings.Lines(out.String()) {
			if _, err := fmt.Fprintf(w, "%s: %s", p, line); err != nil {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("verify: %d of %d files failed: %s", len(failed), len(paths), strings.Join(failed, " "))
	}
	return nil
}

func readProofFile(path string) (*verify.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return verify.DecodeFile(f)
}

// cometURL turns tcp://host:port into http://host:port for the light
// client's provider.
func cometURL(addr string) string {
	if rest, ok := strings.CutPrefix(addr, "tcp://"); ok {
		return "http://" + rest
	}
	return addr
}

func printVerified(w io.Writer, res *verify.Result) error {
	switch {
	case res.UTXO != nil:
		u := res.UTXO
		if u.Unspent {
			_, err := fmt.Fprintf(w, "verified: %s is UNSPENT at Bitcoin height %d (%s): %d sat, script %x, created at %d, coinbase %v\n"+
				"  app hash %X in CometBFT header %d of %s\n",
				u.Outpoint, u.Bitcoin.Height, u.Bitcoin.Hash, u.Coin.Value, []byte(u.Coin.ScriptPubKey), u.Coin.Height, u.Coin.Coinbase,
				u.AppHash, u.HeaderHeight, u.ChainID)
			return err
		}
		_, err := fmt.Fprintf(w, "verified: %s is NOT in the UTXO set at Bitcoin height %d (%s)\n  app hash %X in CometBFT header %d of %s\n",
			u.Outpoint, u.Bitcoin.Height, u.Bitcoin.Hash, u.AppHash, u.HeaderHeight, u.ChainID)
		return err
	case res.Reserves != nil:
		r := res.Reserves
		for _, a := range r.Addresses {
			if _, err := fmt.Fprintf(w, "  %s: %d coins, %d sat\n", a.Address, a.Coins, a.Value); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "verified: these addresses hold at least %d sat in %d coins at Bitcoin height %d (%s)\n"+
			"  app hash %X in CometBFT header %d of %s\n", r.Total, r.Coins, r.Bitcoin.Height, r.Bitcoin.Hash, r.AppHash, r.HeaderHeight, r.ChainID)
		return err
	}
	return fmt.Errorf("verify: nothing verified")
}
