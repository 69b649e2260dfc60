// Package btcnode is how satnode reads a Bitcoin node: Source is the narrow
// interface synchronizers and endorsers use (chain info, block hash by
// height, header by hash, block by hash), with two implementations.
//
// Client speaks the JSON-RPC 1.0 dialect Bitcoin Core and btcd share over
// HTTP (or HTTPS with btcd's self-signed rpc.cert). It authenticates with
// rpcuser/rpcpassword or Core's cookie file, which it re-reads when the
// node answers 401 because Core writes a new cookie at every start. Each
// request has its own timeout; failed requests are retried with doubling
// backoff when the failure says nothing about the request itself (no
// connection, HTTP 5xx without a JSON-RPC error, Core's -28 "warming up"),
// and never for an ordinary RPC error, which would come back the same.
// The caller's context bounds the whole call, retries included. Call gives
// access to any other method (gettxout through GetTxOut, submitblock,
// generate, getpeerinfo, ...).
//
// Replies are checked before they are handed on: hashes must be 64 hex
// digits, a header must be 80 bytes that hash to the requested hash, and a
// block's first 80 bytes likewise. Errors are typed: *RPCError (the node's
// code and message), *HTTPError, *TransportError, *ResponseError (a reply
// that fails those checks), *RetryError (retries exhausted), *CookieError,
// *ConfigError. Core and btcd report "no such height/block" with different
// codes (Core -8 and -5; btcd -1 and -5); errors.Is(err, ErrNotFound)
// matches all of them for the Source methods.
//
// FileSource serves the best chain found in blk files through the same
// interface, using package blkfile.
//
// What it does not do: it does not validate blocks beyond the header hash
// (proof of work, merkle root and transactions are the UTXO engine's
// business), follow reorgs (each call answers for the node's chain at that
// moment; the caller compares hashes), subscribe to notifications (ZMQ,
// websockets), or speak the wallet RPCs. It does not start nodes either:
// package btcdtest does that for tests.
package btcnode
