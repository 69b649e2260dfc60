package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/satnode/satnode/consensus/tx"
)

// ErrNotIncluded: a transaction CheckTx accepted was not in a block before
// the wait ended (it may still be included later: query it by hash).
var ErrNotIncluded = errors.New("client: transaction not included in a block in time")

// QueryError is an ABCI query the application answered with a non-zero
// code.
type QueryError struct {
	Path string
	Code tx.Code
	Log  string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %s: code %d (%s): %s", e.Path, uint32(e.Code), e.Code, e.Log)
}

// TxError is a transaction the chain rejected, in CheckTx (not admitted to
// the mempool, so not in any block) or in FinalizeBlock (in a block at
// Height, with no effect but its nonce).
type TxError struct {
	Stage  string // "CheckTx" or "FinalizeBlock"
	Hash   string // hex, upper case, as CometBFT prints it
	Height int64  // 0 for CheckTx
	Code   tx.Code
	Log    string
	// Fee is what the signer paid for a transaction that failed in a
	// block (every included transaction pays its fee); 0 for CheckTx.
	Fee uint64
}

func (e *TxError) Error() string {
	where := "rejected by CheckTx"
	if e.Stage != "CheckTx" {
		where = fmt.Sprintf("failed in %s at height %d", e.Stage, e.Height)
	}
	msg := fmt.Sprintf("transaction %s %s: code %d (%s): %s", e.Hash, where, uint32(e.Code), e.Code, e.Log)
	if e.Fee > 0 {
		msg += fmt.Sprintf(" (fee %d paid)", e.Fee)
	}
	return msg
}

// Client talks to one node's CometBFT RPC.
type Client struct {
	rpc rpcclient.Client
	// Poll is the interval between looks for a broadcast transaction
	// (default 250ms).
	Poll time.Duration
	// Wait bounds how long Send waits for inclusion (default 30s).
	Wait time.Duration
}

// New returns a client of the node whose RPC listens at remote, e.g.
// "tcp://127.0.0.1:26657" or "http://host:26657". It does not connect yet.
func New(remote string) (*Client, error) {
	if remote == "" {
		return nil, errors.New("client: empty node address")
	}
	c, err := rpchttp.New(remote, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("client: node address %q: %w", remote, err)
	}
	return &Client{rpc: c, Poll: 250 * time.Millisecond, Wait: 30 * time.Second}, nil
}

// NewFrom returns a client over any CometBFT RPC client, such as
// rpc/client/local's in-process one, which the node's own synchronizer and
// endorser use.
func NewFrom(c rpcclient.Client) *Client {
	return &Client{rpc: c, Poll: 250 * time.Millisecond, Wait: 30 * time.Second}
}

// Query runs an ABCI query and returns the JSON value the application
// answered.
func (c *Client) Query(ctx context.Context, path string) (json.RawMessage, error) {
	res, err := c.rpc.ABCIQuery(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("client: query %s: %w", path, err)
	}
	r := res.Response
	if r.Code != 0 {
		return nil, &QueryError{Path: path, Code: tx.Code(r.Code), Log: r.Log}
	}
	if !json.Valid(r.Value) {
		return nil, fmt.Errorf("client: query %s: the answer is not JSON: %q", path, r.Value)
	}
	return json.RawMessage(r.Value), nil
}

// Account is an account as the node reports it.
type Account struct {
	Address string `json:"address"`
	Balance uint64 `json:"balance"`
	// Nonce is the last nonce the account used; its next transaction
	// carries Nonce+1.
	Nonce uint64 `json:"nonce"`
}

// Account reads an account (query /account/<address>).
func (c *Client) Account(ctx context.Context, addr tx.Address) (*Account, error) {
	raw, err := c.Query(ctx, "/account/"+addr.String())
	if err != nil {
		return nil, err
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("client: account %s: %w", addr, err)
	}
	return &a, nil
}

// ChainID returns the node's chain id (from /status).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("client: status: %w", err)
	}
	return st.NodeInfo.Network, nil
}

// Result is a transaction in a block.
type Result struct {
	Hash     string `json:"hash"`
	Height   int64  `json:"height"`
	Code     uint32 `json:"code"`
	CodeName string `json:"code_name"`
	Log      string `json:"log,omitempty"`
	Signer   string `json:"signer"`
	Nonce    uint64 `json:"nonce"`
	Kind     string `json:"kind"`
	// Fee is what the signer paid (the genesis fee schedule), also when
	// the message itself failed.
	Fee uint64 `json:"fee"`
}

// Send signs msg as priv with nonce (0: the account's last nonce plus
// one, read from the node) for the node's chain, broadcasts it with
// broadcast_tx_sync, and waits until it is in a block. A rejection is a
// *TxError; a transaction not in a block within c.Wait is ErrNotIncluded.
func (c *Client) Send(ctx context.Context, priv *btcec.PrivateKey, msg tx.Msg, nonce uint64) (*Result, error) {
	signer := tx.AddressOf(priv.PubKey())
	if nonce == 0 {
		a, err := c.Account(ctx, signer)
		if err != nil {
			return nil, fmt.Errorf("client: reading the nonce of %s: %w", signer, err)
		}
		nonce = a.Nonce + 1
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	env, err := tx.Sign(chainID, priv, nonce, msg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	raw := env.Marshal()
	bres, err := c.rpc.BroadcastTxSync(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("client: broadcast: %w", err)
	}
	hash := strings.ToUpper(hex.EncodeToString(bres.Hash))
	if bres.Code != 0 {
		return nil, &TxError{Stage: "CheckTx", Hash: hash, Code: tx.Code(bres.Code), Log: bres.Log}
	}
	res, err := c.waitTx(ctx, bres.Hash)
	if err != nil {
		return nil, fmt.Errorf("transaction %s: %w", hash, err)
	}
	out := &Result{Hash: hash, Height: res.Height, Code: res.TxResult.Code, CodeName: tx.Code(res.TxResult.Code).String(),
		Log: res.TxResult.Log, Signer: signer.String(), Nonce: nonce, Kind: msg.Kind().String(), Fee: res.Fee}
	if res.TxResult.Code != 0 {
		return out, &TxError{Stage: "FinalizeBlock", Hash: hash, Height: res.Height, Code: tx.Code(res.TxResult.Code),
			Log: res.TxResult.Log, Fee: res.Fee}
	}
	return out, nil
}

// Broadcast signs msg as priv with nonce for chainID and hands it to the
// node's mempool (broadcast_tx_sync) without waiting for a block. A
// CheckTx rejection is a *TxError. It returns the transaction's hash.
func (c *Client) Broadcast(ctx context.Context, chainID string, priv *btcec.PrivateKey, msg tx.Msg, nonce uint64) (string, error) {
	env, err := tx.Sign(chainID, priv, nonce, msg)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	bres, err := c.rpc.BroadcastTxSync(ctx, env.Marshal())
	if err != nil {
		return "", fmt.Errorf("client: broadcast: %w", err)
	}
	hash := strings.ToUpper(hex.EncodeToString(bres.Hash))
	if bres.Code != 0 {
		return hash, &TxError{Stage: "CheckTx", Hash: hash, Code: tx.Code(bres.Code), Log: bres.Log}
	}
	return hash, nil
}

type txResult struct {
	Height   int64
	TxResult struct {
		Code uint32
		Log  string
	}
	Fee uint64
}

// feeOf reads the amount of the "fee" event the application attaches to
// every transaction that paid one.
func feeOf(events []abci.Event) uint64 {
	for _, e := range events {
		if e.Type != "fee" {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == "amount" {
				if n, err := strconv.ParseUint(a.Value, 10, 64); err == nil {
					return n
				}
			}
		}
	}
	return 0
}

// waitTx polls the tx endpoint until the transaction is indexed (it is
// then in a committed block). Polling rather than a websocket subscription
// keeps the client to plain HTTP, which proxies in front of a node pass.
func (c *Client) waitTx(parent context.Context, hash []byte) (*txResult, error) {
	ctx, cancel := context.WithTimeout(parent, c.Wait)
	defer cancel()
	t := time.NewTicker(c.Poll)
	defer t.Stop()
	var last error
	for {
		res, err := c.rpc.Tx(ctx, hash, false)
		if err == nil {
			out := &txResult{Height: res.Height}
			out.TxResult.Code, out.TxResult.Log = res.TxResult.Code, res.TxResult.Log
			out.Fee = feeOf(res.TxResult.Events)
			return out, nil
		}
		if strings.Contains(err.Error(), "indexing is disabled") {
			return nil, fmt.Errorf("client: the node does not index transactions (config.toml [tx_index] indexer = \"null\"): %w", err)
		}
		if ctx.Err() == nil { // not the error of the wait ending
			last = err
		}
		select {
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w after %v (last lookup: %v)", ErrNotIncluded, c.Wait, last)
		case <-t.C:
		}
	}
}
