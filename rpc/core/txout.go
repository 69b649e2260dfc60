package core

import (
	"strconv"

	"github.com/satnode/satnode/utxo"
	"github.com/satnode/satnode/utxo/query"
)

// getTxOut is the load-tested path: the coin is read straight from the
// view's snapshot and the answer appended by hand, in Core's field order
// (gettxout in rpc/blockchain.cpp, ScriptToUniv for scriptPubKey).
func (s *server) getTxOut(c *call, args [][]byte, dst []byte) ([]byte, error) {
	txid, err := parseHash(args[0], "txid")
	if err != nil {
		return dst, err
	}
	n, err := getUint(args[1], 32)
	if err != nil {
		return dst, err
	}
	// include_mempool (args[2]) is type-checked and ignored: satnode has
	// no mempool.
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	coin, cerr := v.Reader.Coin(utxo.Outpoint{Hash: txid, Index: uint32(n)})
	if utxo.IsNotFound(cerr) {
		// Spent or never created: Core's null.
		return append(dst, "null"...), nil
	}
	if cerr != nil {
		return dst, cerr
	}
	info := s.scripts.describe(coin.Script, v.Params.Chain)
	dst = append(dst, `{"bestblock":`...)
	dst = appendHash(dst, &v.Tip.Hash)
	dst = append(dst, `,"confirmations":`...)
	dst = strconv.AppendInt(dst, int64(v.Tip.Height-coin.Height+1), 10)
	dst = append(dst, `,"value":`...)
	dst = appendAmount(dst, coin.Value)
	dst = append(dst, `,"scriptPubKey":{"asm":`...)
	dst = appendString(dst, info.asm)
	dst = append(dst, `,"desc":`...)
	dst = appendString(dst, info.desc)
	dst = append(dst, `,"hex":`...)
	dst = appendHex(dst, coin.Script)
	if info.address != "" {
		dst = append(dst, `,"address":`...)
		dst = appendString(dst, info.address)
	}
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, info.typ)
	dst = append(dst, `},"coinbase":`...)
	dst = strconv.AppendBool(dst, coin.Coinbase)
	return append(dst, '}'), nil
}

// txOutSetInfo is query.TxOutSetInfo with muhash left out for hash_type
// "none", as Core leaves it out.
type txOutSetInfo struct {
	Height                 int32            `json:"height"`
	BestBlock              string           `json:"bestblock"`
	TxOuts                 uint64           `json:"txouts"`
	BogoSize               uint64           `json:"bogosize"`
	MuHash                 string           `json:"muhash,omitempty"`
	TotalAmount            query.Amount     `json:"total_amount"`
	TotalUnspendableAmount query.Amount     `json:"total_unspendable_amount"`
	BlockInfo              query.BlockInfo  `json:"block_info"`
	Satnode                query.BlockStats `json:"satnode"`
}

// getTxOutSetInfo answers Core's gettxoutsetinfo as Core does with
// coinstatsindex (the block_info form, for the tip or any block of the
// connected chain), from satnode's per-block records. The default
// hash_type is muhash rather than Core's hash_serialized_3, which satnode
// does not keep; asking for it is a -8. use_index is ignored: the records
// are always there.
func (s *server) getTxOutSetInfo(c *call, args [][]byte, dst []byte) ([]byte, error) {
	withMuHash := true
	if raw := args1(args, 0); kindOf(raw) != kindNull {
		ht, err := getString(raw)
		if err != nil {
			return dst, err
		}
		switch ht {
		case "muhash":
		case "none":
			withMuHash = false
		case "hash_serialized_3":
			return dst, rpcErr(CodeInvalidParameter,
				"hash_type hash_serialized_3 is not available: satnode keeps no hash_serialized_3; use \"muhash\" or \"none\"")
		default:
			return dst, rpcErr(CodeInvalidParameter, "'%s' is not a valid hash_type", ht)
		}
	}
	if raw := args1(args, 2); kindOf(raw) != kindNull {
		if _, err := getBool(raw); err != nil {
			return dst, err
		}
	}
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	height := v.Tip.Height
	// Core's ParseHashOrHeight.
	switch raw := args1(args, 1); kindOf(raw) {
	case kindNull:
	case kindNumber:
		h, err := getInt(raw, 32)
		if err != nil {
			return dst, err
		}
		if h < 0 {
			return dst, rpcErr(CodeInvalidParameter, "Target block height %d is negative", h)
		}
		if h > int64(v.Tip.Height) {
			return dst, rpcErr(CodeInvalidParameter, "Target block height %d after current tip %d", h, v.Tip.Height)
		}
		height = int32(h)
	default:
		hash, err := parseHash(raw, "hash_or_height")
		if err != nil {
			return dst, err
		}
		h, herr := v.Reader.HeightOf(hash)
		if utxo.IsNotFound(herr) || (herr == nil && h > v.Tip.Height) {
			return dst, errBlockNotFound
		}
		if herr != nil {
			return dst, herr
		}
		height = h
	}
	q, qerr := query.GetTxOutSetInfo(v.Reader, height)
	if utxo.IsNotFound(qerr) {
		return dst, rpcErr(CodeInvalidParameter, "satnode has no record of block %d (below the base of its store)", height)
	}
	if qerr != nil {
		return dst, qerr
	}
	r := txOutSetInfo{
		Height: q.Height, BestBlock: q.BestBlock, TxOuts: q.TxOuts, BogoSize: q.BogoSize,
		TotalAmount: q.TotalAmount, TotalUnspendableAmount: q.TotalUnspendableAmount,
		BlockInfo: q.BlockInfo, Satnode: q.Satnode,
	}
	if withMuHash {
		r.MuHash = q.MuHash
	}
	return appendJSON(dst, &r)
}
