package main

import (
	"fmt"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"github.com/satnode/satnode/node"
	"github.com/satnode/satnode/p2p"
)

func newP2PCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "p2p",
		Short: "The libp2p host that carries block bodies",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "id",
		Short: "Print the node's libp2p peer id and its addresses, as other nodes' [p2p] bootstrap wants them",
		Long: `Print the libp2p peer id of the home's identity (config/p2p_key, created
if absent) and, for each [p2p] listen address, the address with /p2p/<id>
that other nodes put in their [p2p] bootstrap list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ac, err := node.LoadAppConfig(g.home)
			if err != nil {
				return err
			}
			key, err := p2p.LoadOrCreateIdentity(filepath.Join(g.home, node.P2PKeyFile))
			if err != nil {
				return err
			}
			id, err := peer.IDFromPrivateKey(key)
			if err != nil {
				return err
			}
			out := struct {
				ID    string   `json:"id"`
				Addrs []string `json:"addrs"`
			}{ID: id.String(), Addrs: []string{}}
			for _, a := range ac.P2P.Listen {
				out.Addrs = append(out.Addrs, fmt.Sprintf("%s/p2p/%s", a, id))
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	})
	return cmd
}
