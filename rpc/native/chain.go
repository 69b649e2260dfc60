package native

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/rpc/internal/stamp"
	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// blockRef is a Bitcoin block as the API names it.
type blockRef struct {
	Height int32  `json:"height"`
	Hash   string `json:"hash"`
}

func refOf(b app.BlockRef) blockRef { return blockRef{Height: b.Height, Hash: b.Hash.String()} }

// tipRef is the canonical tip with its cumulative work.
type tipRef struct {
	blockRef
	// Chainwork is the tip's cumulative work, 64 hex digits as Core's
	// getblockchaininfo prints it.
	Chainwork string `json:"chainwork"`
}

// syncInfo is how far the applied set is behind the headers seen.
type syncInfo struct {
	// Applied is the canonical tip's height, Endorsed that of the best
	// endorsed chain, Target that of the best header seen.
	Applied  int32 `json:"applied"`
	Endorsed int32 `json:"endorsed"`
	Target   int32 `json:"target"`
	// Behind is Target - Applied (never negative); Synced is Behind == 0.
	Behind int32 `json:"behind"`
	Synced bool  `json:"synced"`
}

type statusBody struct {
	ChainID       string    `json:"chain_id"`
	Network       string    `json:"network"`
	Height        int64     `json:"height"`
	Time          time.Time `json:"time"`
	AppHash       string    `json:"app_hash"`
	Canonical     tipRef    `json:"canonical"`
	Endorsed      blockRef  `json:"endorsed"`
	BestHeader    blockRef  `json:"best_header"`
	Final         blockRef  `json:"final"`
	FinalityDepth int32     `json:"finality_depth"`
	Sync          syncInfo  `json:"sync"`
	At            stamp.At  `json:"at"`
	// Node is present when the handler has Options.NodeState.
	Node *NodeState `json:"node,omitempty"`
}

func (h *Handler) status(v *app.View, _ *httpReq) (any, error) {
	behind := max(v.BestHeader.Height-v.Tip.Height, 0)
	b := &statusBody{
		ChainID: v.ChainID, Height: v.Height, Time: v.Time, AppHash: hex.EncodeToString(v.AppHash[:]),
		Canonical: tipRef{blockRef: refOf(v.Tip), Chainwork: hex.EncodeToString(v.TipWork[:])},
		Endorsed:  refOf(v.Endorsed), BestHeader: refOf(v.BestHeader), Final: refOf(v.Final),
		FinalityDepth: v.FinalityDepth,
		Sync: syncInfo{Applied: v.Tip.Height, Endorsed: v.Endorsed.Height, Target: v.BestHeader.Height,
			Behind: behind, Synced: behind == 0},
		At: stamp.Of(v),
	}
	if v.Params != nil {
		b.Network = v.Params.Name
	}
	if h.opts.NodeState != nil {
		ns := h.opts.NodeState()
		b.Node = &ns
	}
	return b, nil
}

type utxoBody struct {
	TxID string `json:"txid"`
	Vout uint32 `json:"vout"`
	// Value is in satoshis.
	Value         int64              `json:"value"`
	ScriptPubKey  query.ScriptPubKey `json:"script_pubkey"`
	Height        int32              `json:"height"`
	Coinbase      bool               `json:"coinbase"`
	Confirmations int32              `json:"confirmations"`
	// Final: the coin's block is at or below the finalized base, so no
	// reorg can take the coin away (it can still be spent).
	Final     bool     `json:"final"`
	BlockHash string   `json:"block_hash"`
	At        stamp.At `json:"at"`
}

func (h *Handler) utxo(v *app.View, q *httpReq) (any, error) {
	op, err := query.ParseOutpoint(q.args[0] + ":" + q.args[1])
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if v.Params == nil {
		return nil, fmt.Errorf("view has no network parameters")
	}
	out, err := query.GetTxOut(v.Reader, v.Params.Chain, op)
	if utxo.IsNotFound(err) {
		return nil, notFound("no unspent output %s", op)
	} else if err != nil {
		return nil, err
	}
	hdr, err := v.Reader.Header(out.Height)
	if err != nil {
		return nil, fmt.Errorf("header of coin height %d: %w", out.Height, err)
	}
	return &utxoBody{
		TxID: op.Hash.String(), Vout: op.Index, Value: int64(out.Value), ScriptPubKey: out.ScriptPubKey,
		Height: out.Height, Coinbase: out.Coinbase, Confirmations: out.Confirmations,
		Final: isFinal(v, out.Height), BlockHash: hdr.BlockHash().String(), At: stamp.Of(v),
	}, nil
}

// isFinal reports whether a block at height is at or below the finalized
// base. A view without a base (the zero hash) finalizes nothing.
func isFinal(v *app.View, height int32) bool {
	return v.Final.Hash != (chainhash.Hash{}) && height <= v.Final.Height
}

// blockStatsBody is a block's statistics from its stored record, in
// satoshis: what the block did and the set's totals after it.
type blockStatsBody struct {
	Height   int32  `json:"height"`
	Hash     string `json:"hash"`
	PrevHash string `json:"prev_hash"`
	Time     uint32 `json:"time"`
	Size     uint32 `json:"size"`
	Weight   uint32 `json:"weight"`
	Txs      uint32 `json:"txs"`
	Inputs   uint32 `json:"inputs"`
	Outputs  uint32 `json:"outputs"`
	Fees     int64  `json:"fees"`
	Subsidy  int64  `json:"subsidy"`
	InAmount int64  `json:"in_amount"`
	// CoinDaysDestroyed is Σ value × age in BTC-days, a decimal string
	// with eight decimals (exact; a float would round).
	CoinDaysDestroyed    string   `json:"coin_days_destroyed"`
	PrevoutSpent         int64    `json:"prevout_spent"`
	Coinbase             int64    `json:"coinbase"`
	NewOutputsExCoinbase int64    `json:"new_outputs_ex_coinbase"`
	Unspendable          int64    `json:"unspendable"`
	Confirmations        int32    `json:"confirmations"`
	Final                bool     `json:"final"`
	Set                  setStats `json:"set"`
	At                   stamp.At `json:"at"`
}

// setStats are the UTXO set's totals after the block.
type setStats struct {
	TxOuts                 uint64 `json:"txouts"`
	BogoSize               uint64 `json:"bogosize"`
	TotalAmount            int64  `json:"total_amount"`
	TotalUnspendableAmount int64  `json:"total_unspendable_amount"`
	TotalSubsidy           int64  `json:"total_subsidy"`
	MuHash                 string `json:"muhash"`
}

func (h *Handler) blockStats(v *app.View, q *httpReq) (any, error) {
	height, err := blockHeight(v, q.args[0])
	if err != nil {
		return nil, err
	}
	info, err := query.GetTxOutSetInfo(v.Reader, height)
	if utxo.IsNotFound(err) {
		return nil, notFound("no block at height %d on the canonical chain", height)
	} else if err != nil {
		return nil, err
	}
	hdr, err := v.Reader.Header(height)
	if err != nil {
		return nil, fmt.Errorf("header %d: %w", height, err)
	}
	s, bi := &info.Satnode, &info.BlockInfo
	return &blockStatsBody{
		Height: height, Hash: info.BestBlock, PrevHash: hdr.PrevBlock.String(), Time: s.Time, Size: s.Size,
		Weight: s.Weight, Txs: s.Txs, Inputs: s.Inputs, Outputs: s.Outputs, Fees: int64(s.Fees),
		Subsidy: int64(s.Subsidy), InAmount: int64(s.InAmount), CoinDaysDestroyed: s.CoinDaysDestroyed,
		PrevoutSpent: int64(bi.PrevoutSpent), Coinbase: int64(bi.Coinbase),
		NewOutputsExCoinbase: int64(bi.NewOutputsExCoinbase), Unspendable: int64(bi.Unspendable),
		Confirmations: v.Tip.Height - height + 1, Final: isFinal(v, height),
		Set: setStats{TxOuts: info.TxOuts, BogoSize: info.BogoSize, TotalAmount: int64(info.TotalAmount),
			TotalUnspendableAmount: int64(info.TotalUnspendableAmount), TotalSubsidy: int64(s.TotalSubsidy),
			MuHash: info.MuHash},
		At: stamp.Of(v),
	}, nil
}

// blockHeight resolves a height (decimal) or a block hash (64 hex digits)
// to a height on the canonical chain of v.
func blockHeight(v *app.View, s string) (int32, error) {
	if len(s) == 64 {
		hash, err := chainhash.NewHashFromStr(s)
		if err != nil {
			return 0, badRequest("block hash %q is not 64 hex digits", s)
		}
		height, err := v.Reader.HeightOf(*hash)
		if utxo.IsNotFound(err) {
			return 0, notFound("block %s is not on the canonical chain", hash)
		}
		return height, err
	}
	// Canonical decimal only: a long run of digits is more likely a
	// mistyped hash than a height.
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, badRequest("%q is neither a block height nor a block hash", s)
	}
	if int32(n) > v.Tip.Height {
		return 0, notFound("no block at height %d: the tip is at %d", n, v.Tip.Height)
	}
	return int32(n), nil
}
