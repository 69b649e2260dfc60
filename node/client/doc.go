// Package client is what `satnode tx` and `satnode query` use to talk to a
// running node: it reads state with ABCI queries, signs transactions with
// the signer's next nonce and the node's chain id, broadcasts them through
// CometBFT's RPC, and waits until they are in a block.
//
// Errors say what the chain said: a rejected transaction is a *TxError with
// the stage that rejected it (CheckTx or FinalizeBlock), its stable code
// (tx.Code) and the application's log; a failed query is a *QueryError with
// the code and log.
//
// What it does not do: it keeps no keys (the caller passes the private
// key), and it does not retry a rejected transaction or choose nonces for
// several transactions in flight: each Send reads the account's nonce at
// that moment, so concurrent sends from one account need explicit nonces.
package client
