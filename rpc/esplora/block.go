package esplora

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/satnode/satnode/consensus/app"
	"github.com/satnode/satnode/utxo"
)

// Bodies is where the block routes read block bodies: in the node, its
// body store (p2p.BodyStore), which keeps the checked bodies of the last
// [bodies] retention blocks. Get returns the serialized block (with
// witnesses), ok false if the store does not hold it. Declared here so
// that the RPC layer does not depend on p2p.
type Bodies interface {
	Get(hash chainhash.Hash) (raw []byte, ok bool, err error)
}

// txsPerPage is Esplora's page of /block/:hash/txs (CHAIN_TXS_PER_PAGE).
const txsPerPage = 25

// errBodyNotHeld answers for a block of the chain whose body satnode does
// not keep (Esplora, which indexes every block, has no such answer).
var errBodyNotHeld = notFound("Block body not available: satnode keeps block bodies only for the blocks of its " +
	"[bodies] retention window below the tip, and this block is not among them")

// body is a block of v's chain with its body: height, parsed block and
// raw bytes.
type body struct {
	height int32
	block  *wire.MsgBlock
	raw    []byte
}

// blockBody returns the block hash with its body: errBlockNotFound if the
// chain does not have the block, errBodyNotHeld if the body store does
// not hold it (the genesis block comes from the network's parameters). A
// stored body that does not decode or is another block is a 503, like any
// store failure.
func (h *handler) blockBody(v *app.View, hash chainhash.Hash) (*body, *Error) {
	height, ok, e := heightOf(v, hash)
	if e != nil {
		return nil, e
	}
	if !ok {
		return nil, errBlockNotFound
	}
	if g := v.Params.Chain.GenesisBlock; g != nil && hash == *v.Params.Chain.GenesisHash {
		var b bytes.Buffer
		if err := g.Serialize(&b); err != nil {
			return nil, lookupError(err)
		}
		return &body{height: height, block: g, raw: b.Bytes()}, nil
	}
	if h.opts.Bodies == nil {
		return nil, errBodyNotHeld
	}
	raw, ok, err := h.opts.Bodies.Get(hash)
	if err != nil {
		return nil, lookupError(fmt.Errorf("reading the body of block %s: %w", hash, err))
	}
	if !ok {
		return nil, errBodyNotHeld
	}
	var mb wire.MsgBlock
	if err := mb.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, lookupError(fmt.Errorf("the stored body of block %s does not decode: %w", hash, err))
	}
	if got := mb.BlockHash(); got != hash {
		return nil, lookupError(fmt.Errorf("the stored body of block %s is block %s", hash, got))
	}
	return &body{height: height, block: &mb, raw: raw}, nil
}

// blockTxids is /block/:hash/txids: the block's txids in block order.
func (h *handler) blockTxids(w http.ResponseWriter, q *request, v *app.View) *Error {
	b, e := h.blockBody(v, q.hash)
	if e != nil {
		return e
	}
	txids := make([]string, len(b.block.Transactions))
	for i, tx := range b.block.Transactions {
		txids[i] = tx.TxHash().String()
	}
	writeJSON(w, txids, ttlLong)
	return nil
}

// blockRaw is /block/:hash/raw: the serialized block, binary.
func (h *handler) blockRaw(w http.ResponseWriter, q *request, v *app.View) *Error {
	b, e := h.blockBody(v, q.hash)
	if e != nil {
		return e
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", cacheControl(ttlLong))
	w.Header().Set("Content-Length", strconv.Itoa(len(b.raw)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.raw)
	return nil
}

// blockTxs is /block/:hash/txs[/:start]: 25 transactions from start, in
// Esplora's transaction format. The checks come in Esplora's order: the
// block, then the start (a multiple of 25), then the start against the
// block's transaction count. A start that is no 32-bit number ("abc",
// "-25", 2^32) is 0, the first page, as Esplora reads it
// (`parse().unwrap_or(0)`): mempool.js sends "undefined" when the caller
// gives no start.
func (h *handler) blockTxs(w http.ResponseWriter, q *request, v *app.View) *Error {
	if _, ok, e := heightOf(v, q.hash); e != nil || !ok {
		if e != nil {
			return e
		}
		return errBlockNotFound
	}
	start := uint64(0)
	if q.hasStart {
		if n, e := parseUint(q.start, math.MaxUint32); e == nil {
			start = n
		}
	}
	if start%txsPerPage != 0 {
		return badRequest("start index must be a multiple of " + strconv.Itoa(txsPerPage))
	}
	b, e := h.blockBody(v, q.hash)
	if e != nil {
		return e
	}
	txs := b.block.Transactions
	if start >= uint64(len(txs)) {
		return badRequest("start index out of range")
	}
	spent, e := blockSpends(v, b)
	if e != nil {
		return e
	}
	hdr := &b.block.Header
	status := txStatus{Confirmed: true, BlockHeight: &b.height, BlockHash: q.hash.String(),
		BlockTime: uint32(hdr.Timestamp.Unix())}
	end := min(start+txsPerPage, uint64(len(txs)))
	out := make([]txValue, 0, end-start)
	for i := start; i < end; i++ {
		var coins []utxo.SpentCoin
		if spent != nil {
			coins = spent[i].Coins
		}
		tv, err := txJSON(txs[i], coins, spent != nil, status, v.Params.Chain)
		if err != nil {
			return lookupError(err)
		}
		out = append(out, tv)
	}
	writeJSON(w, out, ttlByDepth(v.Tip.Height, b.height))
	return nil
}

// blockSpends returns the coins each transaction of b spent, from its
// undo record, or nil when the record is gone (deeper than the undo
// depth): then prevouts and fees are unknown. A record that does not
// match the body is a 503.
func blockSpends(v *app.View, b *body) ([]utxo.TxSpends, *Error) {
	txs, err := v.Reader.BlockSpends(b.height)
	if utxo.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, lookupError(err)
	}
	if len(txs) != len(b.block.Transactions) {
		return nil, lookupError(fmt.Errorf("the undo record of block %d lists %d transactions, its body %d",
			b.height, len(txs), len(b.block.Transactions)))
	}
	return txs, nil
}
