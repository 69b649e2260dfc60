package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node/keyring"
)

// keyInfo is what the keys commands print: never the private key.
type keyInfo struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// PubKey is the 32-byte x-only public key, hex: the form BIP-340
	// tools and CreateValidator's endorser key take.
	PubKey string `json:"pubkey"`
}

func infoOf(k *keyring.Key) keyInfo {
	return keyInfo{Name: k.Name, Address: k.Address.String(), PubKey: hex.EncodeToString(schnorr.SerializePubKey(k.Private.PubKey()))}
}

// keyring is the home's keyring.
func (g *globals) keyring() *keyring.Keyring { return keyring.Open(filepath.Join(g.home, "keys")) }

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the secp256k1 keys that sign chain transactions (in --home/keys)",
		Long: `Manage the secp256k1 keys that sign satnode transactions: accounts, validator
operators, endorsers and synchronizers. Keys live unencrypted in --home/keys
with mode 0600, like CometBFT's validator key.`,
	}
	var recover bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Generate a key, or with --recover import one (64 hex digits on standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kr := g.keyring()
			var k *keyring.Key
			var err error
			if recover {
				// From standard input, not a flag: a flag would leave the
				// key in the shell's history and the process list.
				line, rerr := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if rerr != nil && rerr != io.EOF {
					return rerr
				}
				k, err = kr.Import(args[0], line)
			} else {
				k, err = kr.Add(args[0])
			}
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), infoOf(k))
		},
	}
	add.Flags().BoolVar(&recover, "recover", false, "read the private key (64 hex digits) from standard input")

	var addrOnly bool
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a key's address and public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := g.keyring().Get(args[0])
			if err != nil {
				return err
			}
			if addrOnly {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), k.Address)
				return err
			}
			return printJSON(cmd.OutOrStdout(), infoOf(k))
		},
	}
	show.Flags().BoolVar(&addrOnly, "address", false, "print only the address")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys, by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := g.keyring().List()
			if err != nil {
				return err
			}
			out := make([]keyInfo, 0, len(keys))
			for _, k := range keys {
				out = append(out, infoOf(k))
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	cmd.AddCommand(add, show, list)
	return cmd
}
