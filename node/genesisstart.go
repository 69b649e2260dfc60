package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/consensus/btcheaders"
	"github.com/satnode/satnode/node/btcnode"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// ErrGenesisCheck: a genesis start point disagrees with a Bitcoin node.
var ErrGenesisCheck = errors.New("node: the genesis does not match the Bitcoin node")

// headerSource is what building and checking a start point asks a
// Bitcoin node: btcnode.Client.
type headerSource interface {
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	BlockHeader(ctx context.Context, hash chainhash.Hash) (btcnode.Header, error)
	Call(ctx context.Context, method string, params []any, result any) error
}

// StartFromStore builds the genesis start point of a chain that begins on
// the UTXO set in store (loaded from a snapshot, or imported): the set's
// tip as the base, the base's header and the ancestry below it that the
// retarget and median-time-past rules need (btcheaders.RequiredAncestry),
// taken from the Bitcoin node btc, and the set's MuHash. The node must
// have the base in its best chain, and every header is checked to link to
// the one before it.
func StartFromStore(ctx context.Context, store utxo.KVReader, btc headerSource) (app.GenesisStart, error) {
	r := utxo.NewReader(store)
	st, err := r.State()
	if err != nil {
		return app.GenesisStart{}, fmt.Errorf("node: the store: %w", err)
	}
	if !st.HasTip {
		return app.GenesisStart{}, errors.New("node: the store holds no UTXO set: load a snapshot or import first")
	}
	params, err := utxo.ParamsFor(st.Network)
	if err != nil {
		return app.GenesisStart{}, err
	}
	info, err := query.GetTxOutSetInfo(r, -1)
	if err != nil {
		return app.GenesisStart{}, err
	}
	height := st.TipHeight
	if height == 0 {
		return app.GenesisStart{}, errors.New("node: the set is at height 0: a chain starting at genesis needs no start point")
	}
	if got, err := btc.BlockHash(ctx, height); err != nil {
		return app.GenesisStart{}, fmt.Errorf("node: the Bitcoin node's block at %d: %w", height, err)
	} else if got != st.TipHash {
		return app.GenesisStart{}, fmt.Errorf("%w: its best chain has %s at %d, the set's base is %s", ErrGenesisCheck, got, height, st.TipHash)
	}
	n := btcheaders.RequiredAncestry(params.Chain, height)
	start := app.GenesisStart{Height: height, MuHash: info.MuHash}
	var prev chainhash.Hash
	for h := height - n; h <= height; h++ {
		hash, err := btc.BlockHash(ctx, h)
		if err != nil {
			return app.GenesisStart{}, fmt.Errorf("node: the Bitcoin node's block at %d: %w", h, err)
		}
		hdr, err := btc.BlockHeader(ctx, hash)
		if err != nil {
			return app.GenesisStart{}, fmt.Errorf("node: header %s: %w", hash, err)
		}
		if h > height-n && hdr.Header.PrevBlock != prev {
			return app.GenesisStart{}, fmt.Errorf("%w: the header at %d does not follow the one at %d (its best chain moved?)", ErrGenesisCheck, h, h-1)
		}
		prev = hash
		start.Headers = append(start.Headers, hex.EncodeToString(hdr.Raw[:]))
	}
	return start, nil
}

// SetGenesisStart rewrites the genesis file at path with start as its
// start point; everything else stays as it was.
func SetGenesisStart(path string, start app.GenesisStart) error {
	doc, g, err := ReadGenesis(path)
	if err != nil {
		return err
	}
	g.Start = start
	raw, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	if _, err := app.ParseGenesis(raw); err != nil {
		return err
	}
	doc.AppState = raw
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("node: genesis: %w", err)
	}
	return doc.SaveAs(path)
}

// GenesisReport is what VerifyGenesis found.
type GenesisReport struct {
	// Height is the start point's height (0: the network's genesis).
	Height int32 `json:"height"`
	// Base is the start point's block hash.
	Base string `json:"base"`
	// Headers is how many headers of the start point were found in the
	// node's best chain (all of them, or VerifyGenesis failed).
	Headers int `json:"headers"`
	// MuHash is the genesis's MuHash; MuHashChecked says whether the node
	// answered gettxoutsetinfo muhash at the base (Bitcoin Core with
	// coinstatsindex does; btcd and Core without the index cannot), and
	// MuHashNote why not.
	MuHash        string `json:"muhash,omitempty"`
	MuHashChecked bool   `json:"muhash_checked"`
	MuHashNote    string `json:"muhash_note,omitempty"`
}

// VerifyGenesis checks a genesis's start point against a validator's own
// Bitcoin node, so that nobody has to trust whoever wrote it: every header
// of the start point (the base and its ancestry) must be the node's block
// at its height, chained; and where the node can say (Bitcoin Core with
// coinstatsindex: gettxoutsetinfo muhash <height>), the set's MuHash at
// the base must be the genesis's. A node that cannot answer the MuHash is
// named in the report and the rest is still checked. A disagreement is an
// error wrapping ErrGenesisCheck.
func VerifyGenesis(ctx context.Context, g *app.Genesis, btc headerSource) (GenesisReport, error) {
	rep := GenesisReport{Height: g.Start.Height, MuHash: g.Start.MuHash}
	if g.Start.Height == 0 {
		hash, err := btc.BlockHash(ctx, 0)
		if err != nil {
			return rep, fmt.Errorf("node: the Bitcoin node's genesis block: %w", err)
		}
		params, err := utxo.ParamsFor(g.Network)
		if err != nil {
			return rep, err
		}
		if want := *params.Chain.GenesisHash; hash != want {
			return rep, fmt.Errorf("%w: its genesis block is %s, %s's is %s", ErrGenesisCheck, hash, g.Network, want)
		}
		rep.Base = hash.String()
		rep.MuHashNote = "the chain starts at the network's genesis block: nothing to compare"
		return rep, nil
	}
	n := len(g.Start.Headers)
	if n == 0 {
		return rep, fmt.Errorf("%w: the start point has no headers", app.ErrGenesis)
	}
	first := g.Start.Height - int32(n) + 1
	var prev chainhash.Hash
	for i, hx := range g.Start.Headers {
		raw, err := hex.DecodeString(hx)
		if err != nil || len(raw) != 80 {
			return rep, fmt.Errorf("%w: start.headers[%d] is not 80 bytes of hex", app.ErrGenesis, i)
		}
		hash := chainhash.DoubleHashH(raw)
		h := first + int32(i)
		if i > 0 && string(raw[4:36]) != string(prev[:]) {
			return rep, fmt.Errorf("%w: start.headers[%d] (%s) does not follow the header before it", ErrGenesisCheck, i, hash)
		}
		got, err := btc.BlockHash(ctx, h)
		if errors.Is(err, btcnode.ErrNotFound) {
			return rep, fmt.Errorf("%w: the node has no block at %d (behind, or another network?)", ErrGenesisCheck, h)
		}
		if err != nil {
			return rep, fmt.Errorf("node: the Bitcoin node's block at %d: %w", h, err)
		}
		if got != hash {
			return rep, fmt.Errorf("%w: at height %d its best chain has %s, the genesis %s", ErrGenesisCheck, h, got, hash)
		}
		prev = hash
		rep.Headers++
	}
	rep.Base = prev.String()
	var res struct {
		MuHash string `json:"muhash"`
		Height int32  `json:"height"`
	}
	err := btc.Call(ctx, "gettxoutsetinfo", []any{"muhash", g.Start.Height}, &res)
	switch {
	case err != nil:
		rep.MuHashNote = fmt.Sprintf("the node cannot answer gettxoutsetinfo muhash %d (btcd has no such call; Bitcoin Core needs -coinstatsindex): %v",
			g.Start.Height, err)
	case !strings.EqualFold(res.MuHash, g.Start.MuHash):
		return rep, fmt.Errorf("%w: the node's gettxoutsetinfo muhash at %d is %s, the genesis says %s", ErrGenesisCheck,
			g.Start.Height, res.MuHash, g.Start.MuHash)
	default:
		rep.MuHashChecked = true
	}
	return rep, nil
}
