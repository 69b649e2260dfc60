package btcnode

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ChainInfo implements Source.
func (c *Client) ChainInfo(ctx context.Context) (ChainInfo, error) {
	const method = "getblockchaininfo"
	var r struct {
		Chain         string `json:"chain"`
		Blocks        int32  `json:"blocks"`
		Headers       int32  `json:"headers"`
		BestBlockHash string `json:"bestblockhash"`
		Pruned        bool   `json:"pruned"`
	}
	if err := c.Call(ctx, method, nil, &r); err != nil {
		return ChainInfo{}, err
	}
	hash, err := parseHash(method, "bestblockhash", r.BestBlockHash)
	if err != nil {
		return ChainInfo{}, err
	}
	if r.Chain == "" {
		return ChainInfo{}, &ResponseError{Method: method, Reason: "no chain name"}
	}
	return ChainInfo{Chain: r.Chain, Blocks: r.Blocks, Headers: r.Headers, BestBlockHash: hash, Pruned: r.Pruned}, nil
}

// BestBlockHash implements Source.
func (c *Client) BestBlockHash(ctx context.Context) (chainhash.Hash, error) {
	const method = "getbestblockhash"
	var s string
	if err := c.Call(ctx, method, nil, &s); err != nil {
		return chainhash.Hash{}, err
	}
	return parseHash(method, "result", s)
}

// BlockHash implements Source.
func (c *Client) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	const method = "getblockhash"
	if height < 0 {
		return chainhash.Hash{}, fmt.Errorf("%w: negative height %d", ErrNotFound, height)
	}
	var s string
	if err := c.Call(ctx, method, []any{height}, &s); err != nil {
		return chainhash.Hash{}, err
	}
	return parseHash(method, "result", s)
}

// BlockHeader implements Source with two calls: the raw header
// (getblockheader <hash> false) and its height (getblockheader <hash>
// true). Rebuilding the header from the verbose fields would save a round
// trip but depend on how each node formats them; the raw bytes are what
// the hash commits to.
func (c *Client) BlockHeader(ctx context.Context, hash chainhash.Hash) (Header, error) {
	const method = "getblockheader"
	var s string
	if err := c.Call(ctx, method, []any{hash.String(), false}, &s); err != nil {
		return Header{}, err
	}
	raw, err := decodeHex(method, s)
	if err != nil {
		return Header{}, err
	}
	if len(raw) != 80 {
		return Header{}, &ResponseError{Method: method, Reason: fmt.Sprintf("header is %d bytes, want 80", len(raw))}
	}
	if got := chainhash.DoubleHashH(raw); got != hash {
		return Header{}, &ResponseError{Method: method, Reason: fmt.Sprintf("header hashes to %s, asked for %s", got, hash)}
	}
	var h Header
	copy(h.Raw[:], raw)
	if err := h.Header.Deserialize(bytes.NewReader(raw)); err != nil {
		return Header{}, &ResponseError{Method: method, Reason: "header does not decode", Err: err}
	}

	var v struct {
		Hash   string `json:"hash"`
		Height *int32 `json:"height"`
	}
	if err := c.Call(ctx, method, []any{hash.String(), true}, &v); err != nil {
		return Header{}, err
	}
	if got, err := parseHash(method, "hash", v.Hash); err != nil {
		return Header{}, err
	} else if got != hash {
		return Header{}, &ResponseError{Method: method, Reason: fmt.Sprintf("verbose header is for %s, asked for %s", got, hash)}
	}
	if v.Height == nil || *v.Height < 0 {
		return Header{}, &ResponseError{Method: method, Reason: "verbose header has no valid height"}
	}
	h.Height = *v.Height
	return h, nil
}

// Block implements Source. Only the header is checked against the hash;
// the body is not parsed here (the UTXO engine decodes and validates it,
// merkle root included).
func (c *Client) Block(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	const method = "getblock"
	var s string
	// Verbosity 0, not false: btcd accepts only an integer here.
	if err := c.Call(ctx, method, []any{hash.String(), 0}, &s); err != nil {
		return nil, err
	}
	raw, err := decodeHex(method, s)
	if err != nil {
		return nil, err
	}
	if len(raw) < 80 {
		return nil, &ResponseError{Method: method, Reason: fmt.Sprintf("block is %d bytes, shorter than a header", len(raw))}
	}
	if got := chainhash.DoubleHashH(raw[:80]); got != hash {
		return nil, &ResponseError{Method: method, Reason: fmt.Sprintf("block hashes to %s, asked for %s", got, hash)}
	}
	return raw, nil
}

// GetTxOut returns an unspent output (gettxout), or nil and no error when
// the node knows no such unspent output: spent, never created, or (with
// includeMempool) spent by a mempool transaction.
func (c *Client) GetTxOut(ctx context.Context, txid chainhash.Hash, vout uint32, includeMempool bool) (*TxOut, error) {
	const method = "gettxout"
	var r *struct {
		BestBlock     string  `json:"bestblock"`
		Confirmations int64   `json:"confirmations"`
		Value         float64 `json:"value"`
		ScriptPubKey  struct {
			Hex string `json:"hex"`
		} `json:"scriptPubKey"`
		Coinbase bool `json:"coinbase"`
	}
	if err := c.Call(ctx, method, []any{txid.String(), vout, includeMempool}, &r); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, nil
	}
	best, err := parseHash(method, "bestblock", r.BestBlock)
	if err != nil {
		return nil, err
	}
	if _, err := hex.DecodeString(r.ScriptPubKey.Hex); err != nil {
		return nil, &ResponseError{Method: method, Reason: "scriptPubKey.hex is not hex", Err: err}
	}
	return &TxOut{
		BestBlock:       best,
		Confirmations:   r.Confirmations,
		Value:           r.Value,
		ScriptPubKeyHex: r.ScriptPubKey.Hex,
		Coinbase:        r.Coinbase,
	}, nil
}

// parseHash parses a hash as nodes print it (byte-reversed hex). It insists
// on all 64 digits: chainhash.NewHashFromStr pads short strings with
// zeros, which would turn a truncated reply into a wrong hash.
func parseHash(method, field, s string) (chainhash.Hash, error) {
	if len(s) != 2*chainhash.HashSize {
		return chainhash.Hash{}, &ResponseError{Method: method, Reason: fmt.Sprintf("%s %q is not a 64-digit hash", field, s)}
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, &ResponseError{Method: method, Reason: fmt.Sprintf("%s %q is not a hash", field, s), Err: err}
	}
	return *h, nil
}

func decodeHex(method, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &ResponseError{Method: method, Reason: "result is not hex", Err: err}
	}
	return b, nil
}
