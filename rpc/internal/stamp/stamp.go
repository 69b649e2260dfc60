// Package stamp names the committed state an RPC answer reflects, the same
// way in every dialect: HTTP headers on every response, and an "at" object
// in native JSON bodies. It does not acquire or release views.
package stamp

import (
	"net/http"
	"strconv"
	"sync/atomic"

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
	f := formatted(v)
	// The keys are already canonical, and net/http never changes a value
	// slice it is given, so the formatted slices are shared by every
	// answer of the view rather than built per request.
	h[HeaderHeight] = f.height
	h[HeaderHash] = f.hash
	h[HeaderChainHeight] = f.chain
}

// headerValues are one view's header values, formatted once.
type headerValues struct {
	v                   *app.View
	height, hash, chain []string
}

// last caches the values of the latest view asked for: at thousands of
// answers a second nearly all read the same view.
var last atomic.Pointer[headerValues]

func formatted(v *app.View) *headerValues {
	if f := last.Load(); f != nil && f.v == v {
		return f
	}
	f := &headerValues{v: v, height: []string{strconv.FormatInt(int64(v.Tip.Height), 10)},
		hash: []string{v.Tip.Hash.String()}, chain: []string{strconv.FormatInt(v.Height, 10)}}
	last.Store(f)
	return f
}
