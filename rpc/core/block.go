package core

import (
	"bytes"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
)

// Bodies is where getblock and getrawtransaction read block bodies: in the
// node, its body store (p2p.BodyStore), which keeps the checked bodies of
// the last [bodies] retention blocks. Get returns the serialized block
// (with witnesses), ok false if the store does not hold it. It is declared
// here, not imported, so that the RPC layer does not depend on p2p.
type Bodies interface {
	Get(hash chainhash.Hash) (raw []byte, ok bool, err error)
}

// Errors of the block and transaction methods, in Core's words and codes.
var (
	// errPruned is Core's answer for a block of its chain whose data it
	// no longer has; satnode gives it for every block of its chain whose
	// body the body store does not hold.
	errPruned = &Error{Code: CodeMisc, Message: "Block not available (pruned data)"}
	// errTxBlockPruned is getrawtransaction's variant.
	errTxBlockPruned = &Error{Code: CodeMisc, Message: "Block not available"}
	// errNoTxIndex is Core's answer to getrawtransaction without a block
	// hash on a node with no transaction index and a transaction not in
	// its mempool: satnode has neither, so it always needs the hash.
	errNoTxIndex = &Error{Code: CodeInvalidAddrOrKey, Message: "No such mempool transaction. Use -txindex or provide a " +
		"block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions."}
	errTxBlockNotFound = &Error{Code: CodeInvalidAddrOrKey, Message: "Block hash not found"}
	errTxNotInBlock    = &Error{Code: CodeInvalidAddrOrKey,
		Message: "No such transaction found in the provided block. Use gettransaction for wallet transactions."}
	errGenesisTx = &Error{Code: CodeInvalidAddrOrKey,
		Message: "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved"}
)

// block returns the body of the block hash, which must be on v's chain:
// the parsed block and its bytes. The genesis block comes from the
// network's parameters; any other block the body store does not hold is
// errPruned. A body that does not decode, or is not the block asked for,
// is an internal error: the store only keeps checked bodies.
func (s *server) block(v *app.View, hash chainhash.Hash) (*wire.MsgBlock, []byte, error) {
	if g := v.Params.Chain.GenesisBlock; g != nil && hash == *v.Params.Chain.GenesisHash {
		var b bytes.Buffer
		if err := g.Serialize(&b); err != nil {
			return nil, nil, err
		}
		return g, b.Bytes(), nil
	}
	if s.opts.Bodies == nil {
		return nil, nil, errPruned
	}
	raw, ok, err := s.opts.Bodies.Get(hash)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the body of block %s: %w", hash, err)
	}
	if !ok {
		return nil, nil, errPruned
	}
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, nil, fmt.Errorf("the stored body of block %s does not decode: %w", hash, err)
	}
	if got := mb.BlockHash(); got != hash {
		return nil, nil, fmt.Errorf("the stored body of block %s is block %s", hash, got)
	}
	return &mb, raw, nil
}

// spends returns the coins each transaction of mb (the block at height)
// spent, from its undo record, or nil when the record is gone (the block
// is deeper than the undo depth). A record that does not match the body
// is an internal error.
func spends(v *app.View, height int32, mb *wire.MsgBlock) ([]utxo.TxSpends, error) {
	txs, err := v.Reader.BlockSpends(height)
	if utxo.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(txs) != len(mb.Transactions) {
		return nil, fmt.Errorf("the undo record of block %d lists %d transactions, its body %d", height, len(txs), len(mb.Transactions))
	}
	return txs, nil
}

// blockResult is Core's getblock object: blockheaderToJSON's fields, then
// blockToJSON's. Tx holds txids (verbosity 1) or transaction objects.
type blockResult struct {
	blockHeaderResult
	StrippedSize int `json:"strippedsize"`
	Size         int `json:"size"`
	Weight       int `json:"weight"`
	Tx           any `json:"tx"`
}

// parseVerbosity is Core's ParseVerbosity with allow_bool: a boolean is 0
// or 1, anything else must be an integer.
func parseVerbosity(raw []byte, def int64) (int64, *Error) {
	switch kindOf(raw) {
	case kindNull:
		return def, nil
	case kindBool:
		b, err := getBool(raw)
		if b {
			return 1, err
		}
		return 0, err
	}
	return getInt(raw, 32)
}

func (s *server) getBlock(c *call, args [][]byte, dst []byte) ([]byte, error) {
	hash, err := parseHash(args[0], "blockhash")
	if err != nil {
		return dst, err
	}
	verbosity, err := parseVerbosity(args1(args, 1), 1)
	if err != nil {
		return dst, err
	}
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	height, h, herr := canonicalHeader(v, hash)
	if herr != nil {
		return dst, herr
	}
	mb, raw, herr := s.block(v, hash)
	if herr != nil {
		return dst, herr
	}
	if verbosity <= 0 {
		return appendHex(dst, raw), nil
	}
	hr, herr := headerResult(v, hash, height, h)
	if herr != nil {
		return dst, herr
	}
	nTx := uint32(len(mb.Transactions))
	hr.NTx = &nTx
	stripped := mb.SerializeSizeStripped()
	r := blockResult{blockHeaderResult: hr, StrippedSize: stripped, Size: len(raw), Weight: stripped*3 + len(raw)}
	if verbosity == 1 {
		txids := make([]string, len(mb.Transactions))
		for i, tx := range mb.Transactions {
			txids[i] = tx.TxHash().String()
		}
		r.Tx = txids
		return appendJSON(dst, &r)
	}
	detail := showDetails
	if verbosity >= 3 {
		detail = showPrevouts
	}
	undo, herr := spends(v, height, mb)
	if herr != nil {
		return dst, herr
	}
	txs := make([]txResult, len(mb.Transactions))
	for i, tx := range mb.Transactions {
		var spent []utxo.SpentCoin
		if undo != nil {
			spent = undo[i].Coins
		}
		if txs[i], herr = s.txJSON(tx, spent, detail, v.Params.Chain); herr != nil {
			return dst, herr
		}
	}
	r.Tx = txs
	return appendJSON(dst, &r)
}

func (s *server) getRawTransaction(c *call, args [][]byte, dst []byte) ([]byte, error) {
	txid, err := parseHash(args[0], "parameter 1")
	if err != nil {
		return dst, err
	}
	v, err := c.view()
	if err != nil {
		return dst, err
	}
	if g := v.Params.Chain.GenesisBlock; g != nil && txid == g.Header.MerkleRoot {
		return dst, errGenesisTx
	}
	verbosity, err := parseVerbosity(args1(args, 1), 0)
	if err != nil {
		return dst, err
	}
	if kindOf(args1(args, 2)) == kindNull {
		return dst, errNoTxIndex
	}
	blockHash, err := parseHash(args[2], "parameter 3")
	if err != nil {
		return dst, err
	}
	height, h, herr := canonicalHeader(v, blockHash)
	if herr == errBlockNotFound {
		return dst, errTxBlockNotFound
	}
	if herr != nil {
		return dst, herr
	}
	mb, _, herr := s.block(v, blockHash)
	if herr == errPruned {
		return dst, errTxBlockPruned
	}
	if herr != nil {
		return dst, herr
	}
	index := -1
	for i, tx := range mb.Transactions {
		if tx.TxHash() == txid {
			index = i
			break
		}
	}
	if index < 0 {
		return dst, errTxNotInBlock
	}
	tx := mb.Transactions[index]
	if verbosity <= 0 {
		var b bytes.Buffer
		if err := tx.Serialize(&b); err != nil {
			return dst, err
		}
		return appendHex(dst, b.Bytes()), nil
	}
	// Verbosity 2 adds the fee and prevouts where the undo record is
	// still kept; Core, too, answers as for verbosity 1 without it.
	var spent []utxo.SpentCoin
	if verbosity >= 2 && index > 0 {
		undo, err := spends(v, height, mb)
		if err != nil {
			return dst, err
		}
		if undo != nil {
			spent = undo[index].Coins
		}
	}
	r, herr := s.txJSON(tx, spent, showPrevouts, v.Params.Chain)
	if herr != nil {
		return dst, herr
	}
	active := true
	r.InActiveChain = &active
	r.BlockHash = blockHash.String()
	r.Confirmations = v.Tip.Height - height + 1
	r.Time = h.Timestamp.Unix()
	r.BlockTime = r.Time
	return appendJSON(dst, &r)
}
