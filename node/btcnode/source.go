package btcnode

import (
	"context"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Source is what synchronizers and endorsers read a Bitcoin node through.
// Implementations check what they return: hashes parse, and header and block
// bytes hash to the hash they were asked for.
type Source interface {
	// ChainInfo returns the node's network and best chain
	// (getblockchaininfo).
	ChainInfo(ctx context.Context) (ChainInfo, error)
	// BestBlockHash returns the hash of the node's tip (getbestblockhash).
	BestBlockHash(ctx context.Context) (chainhash.Hash, error)
	// BlockHash returns the hash of the block at height on the node's best
	// chain (getblockhash). A height above the tip, or a negative one, is
	// an error matching ErrNotFound.
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	// BlockHeader returns the header with this hash and its height
	// (getblockheader). An unknown hash is an error matching ErrNotFound.
	BlockHeader(ctx context.Context, hash chainhash.Hash) (Header, error)
	// Block returns the serialized block with this hash (getblock, verbosity
	// 0). An unknown hash is an error matching ErrNotFound.
	Block(ctx context.Context, hash chainhash.Hash) ([]byte, error)
}

// ChainInfo is the part of getblockchaininfo that synchronizers need.
type ChainInfo struct {
	// Chain is the network name as the node spells it: Core says "main",
	// "test", "signet", "regtest"; btcd and FileSource use chaincfg names,
	// "mainnet", "testnet3", "signet", "regtest", "simnet". ParamsForChain
	// accepts both.
	Chain         string
	Blocks        int32 // height of the best block
	Headers       int32 // height of the best known header (= Blocks for btcd and FileSource)
	BestBlockHash chainhash.Hash
	Pruned        bool // the node may lack old blocks
}

// Header is a block header with its height.
type Header struct {
	Height int32
	Raw    [80]byte         // the serialized header, as the node sent it
	Header wire.BlockHeader // Raw, decoded
}

// Hash returns the header's block hash.
func (h *Header) Hash() chainhash.Hash { return chainhash.DoubleHashH(h.Raw[:]) }

// TxOut is an unspent output as gettxout reports it.
type TxOut struct {
	BestBlock       chainhash.Hash // the node's tip when it answered
	Confirmations   int64          // 0 for a mempool output
	Value           float64        // in BTC, as the node sends it; see Sats
	ScriptPubKeyHex string
	Coinbase        bool
}

// Sats returns Value in satoshis, rounded to the nearest one (BTC amounts
// in JSON have at most 8 decimals, which a float64 does not hold exactly).
func (o *TxOut) Sats() int64 {
	a, err := btcutil.NewAmount(o.Value)
	if err != nil {
		// Only NaN and ±Inf fail, and encoding/json never produces those.
		return 0
	}
	return int64(a)
}

// ParamsForChain returns the network parameters for a chain name as Bitcoin
// Core ("main", "test") or btcd and chaincfg ("mainnet", "testnet3") spell
// it, so a synchronizer can check that a node is on the network it expects.
// Core's "testnet4" is not known to btcd v0.24.2 and reports false.
func ParamsForChain(name string) (*chaincfg.Params, bool) {
	switch name {
	case "main", chaincfg.MainNetParams.Name:
		return &chaincfg.MainNetParams, true
	case "test", chaincfg.TestNet3Params.Name:
		return &chaincfg.TestNet3Params, true
	case chaincfg.RegressionNetParams.Name:
		return &chaincfg.RegressionNetParams, true
	case chaincfg.SigNetParams.Name:
		return &chaincfg.SigNetParams, true
	case chaincfg.SimNetParams.Name:
		return &chaincfg.SimNetParams, true
	}
	return nil, false
}
