// Package rpc is satnode's one HTTP server for applications: read-only,
// over the last committed state, in the dialects their tools already speak.
//
//   - "/" (POST): the Bitcoin Core JSON-RPC subset (rpc/core), with basic
//     auth by user/password or cookie file when configured.
//   - "/blocks/…", "/block-height/…", "/block/…", "/tx/…", "/address/…",
//     "/scripthash/…", and the same under "/api/": the Esplora REST subset
//     (rpc/esplora).
//   - "/v1/…": the native API and its websocket stream (rpc/native).
//   - "/ui" (and "/" for a browser, Accept: text/html): the status page
//     (rpc/ui), plain HTML and JS over the /v1 API, embedded.
//   - "/metrics": Prometheus metrics (rpc/metrics).
//   - Any other GET: 404 {"error":"not found: PATH","code":404}.
//
// Every answer reads one app.View, a snapshot of one commit taken right
// after its atomic write, so no answer ever mixes two states or sees a
// half-applied block; the X-Satnode-Height, X-Satnode-Hash and
// X-Satnode-Chain-Height headers name the commit (rpc/internal/stamp).
//
// The server caps bodies, connections and the time a slow or abandoned
// client can hold a connection, and a handler's panic is answered 500
// without taking the server down. What one request may ask for is capped
// too, so that a small body cannot make the node build a huge answer:
// JSON-RPC batches (Config.MaxBatch calls) and replies (Config.MaxReplyBytes,
// counted while the reply is built; rpc/core says how), unpaged UTXO
// listings (Config.MaxUTXOs) and pages (Config.MaxPage, which also pages
// /v1/endorsements).
//
// It does not accept transactions or anything else that writes: CometBFT's
// own RPC, on its own port, broadcasts satnode transactions and serves
// light clients. It has no mempool, so Esplora's mempool_stats are zero.
package rpc
