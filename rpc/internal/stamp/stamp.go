// Package stamp names the committed state an RPC answer reflects, the same
// way in every dialect: HTTP headers on every response, and an "at" object
// in native JSON bodies. It does not acquire or release views.
package stamp

import (
	"net/http"
	"strconv"

	"github.com/satnode/satnode/consensus/app"
)

// The headers every response carries.
const (
	// HeaderHeight and HeaderHash are the Bitcoin block the UTXO set is at.
	HeaderHeight = "X-Satnode-Height"
	HeaderHash   = "X-Satnode-Hash"
	// HeaderChainHeight is the satnode (CometBFT) height of the commit.
	HeaderChainHeight = "X-Satnode-Chain-Height"
)

// At is the "at" object of native JSON bodies.
type At struct {
	Height      int32  `json:"height"`
	Hash        string `json:"hash"`
	ChainHeight int64  `json:"chain_height"`
}

// Of returns the At of a view.
func Of(v *app.View) At {
	return At{Height: v.Tip.Height, Hash: v.Tip.Hash.String(), ChainHeight: v.Height}
}

// Set writes the headers of v into h.
func Set(h http.Header, v *app.View) {
	h.Set(HeaderHeight, strconv.FormatInt(int64(v.Tip.Height), 10))
	h.Set(HeaderHash, v.Tip.Hash.String())
	h.Set(HeaderChainHeight, strconv.FormatInt(v.Height, 10))
}
