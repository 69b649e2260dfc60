// Package native serves satnode's own JSON API under /v1: the node's
// status, single coins, block statistics, the consensus layer's
// endorsements, validators and synchronizers, and a websocket stream of
// blocks and script-hash changes.
//
// Every answer is computed from one committed state (an app.View, held for
// the request and released after) and names it: the X-Satnode-* headers of
// package stamp on every response, and an "at" object in every body. Before
// the first commit every endpoint but the stream and /v1/status answers
// 503; /v1/status then answers 200 with {"node": {...}} alone, when the
// node supplies its state (Options.NodeState), and is not stamped. Errors are
// {"error": "...", "code": <status>} with 400 for bad input, 404 for what
// does not exist (a spent coin, an unknown block or path), 405, 503; all
// amounts are integer satoshis.
//
// Endpoints (GET):
//
//	/v1/status                       chain id, satnode height, tips, sync progress, and
//	                                 "node": state_syncing|catching_up|live with the
//	                                 restore's or catch-up's progress and ETA (below)
//	/v1/utxo/{txid}/{vout}           an unspent output (404 once spent)
//	/v1/block/{height|hash}/stats    a canonical block's statistics and set totals
//	/v1/endorsements                 pending blocks and their endorsement, paged (below)
//	/v1/validators                   validators with their power, jailing and attendance (missed of downtime_window)
//	/v1/synchronizers                bonded synchronizers
//	/v1/stream                       websocket, below
//	/v1/proof/utxo/{txid}/{vout}     a coin or its absence, proven (proof.go)
//	/v1/proof/address/{addr}         an address's coins, each proven, paged
//
// Proofs answer in rpc/verify's formats (its doc.go): ICS-23 proofs from
// the coin to the UTXO tree's root and from the root and the Bitcoin tip
// to the app hash of the view's height, which the next CometBFT header
// carries. ?height=H answers from one of the last app.ProofWindow commits
// (404 past them); 501 on a chain whose app hash is version 1.
//
// # Node state
//
// /v1/status's "node" object (NodeState) says where a node is on its way
// to live: "state_syncing" (restoring a snapshot: "restore" has the phase,
// chunks, bytes, coins, blocks, percent and start), "catching_up"
// (blocksync: "height" and, once a peer has said, "target") or "live".
// "eta_seconds" is present where the node can estimate one. The node
// computes the object and its estimates; this package only serves it.
//
// # Endorsements
//
// /v1/endorsements lists the pending blocks: headers above the finalized
// base whose block is not applied to the set (app.View.PendingPage).
// Applied blocks are finished and not listed, so "canonical" is always
// false; "unendorsed" counts the pending blocks not yet endorsed over all
// pages. The list is paged as the Esplora dialect pages /utxo:
// ?limit=N (1..Options.MaxPage, default Options.MaxPage) and
// ?after=HEIGHT:HASH, a cursor naming the last block of the previous page
// (its height in decimal, its hash in the usual byte-reversed hex, e.g.
// "812345:00000000000000000002a7c4...") after which the next page starts;
// blocks come in (height, hash-bytes) order. When more follow, the answer
// carries the next cursor in "X-Satnode-Next", in a Link header with
// rel="next" (the same path with ?after=...&limit=...) and in the body's
// "next" (null on the last page). A bad limit or cursor is a 400 that
// says what was expected. Like the Esplora cursor, it is a key position,
// not a snapshot: it stays valid across commits, and each page reads its
// own request's view.
//
// # Stream
//
// The server first sends {"type":"hello","at":{...}|null,"max_subscriptions":n}:
// everything after "at" (the state the connection starts from; null before
// the first commit) is reported. A client sends
//
//	{"op":"subscribe","scripthashes":["<hex>",...],"addresses":["<addr>",...],"id":<any>}
//	{"op":"unsubscribe", same fields}
//
// where a script hash is hex sha256(scriptPubKey), not reversed (Esplora's
// form), and addresses are of the node's network. A request is applied
// whole or not at all; the reply is {"type":"subscribed"|"unsubscribed",
// "id", "scripthashes", "addresses":[{"address","scripthash"}],
// "subscriptions": <count now>} and, for subscribe, "at": the state from
// which the new script hashes are followed. Bad input (bad hex or address,
// unknown op, more than max_subscriptions) gets {"type":"error","id","op",
// "error"} and the connection stays open; it is closed only for a message
// bigger than Options.ReadLimit (1009) or for five messages in a row that
// are not JSON text (1007).
//
// For each commit, in the order the blocks were applied (a reorg's
// disconnects first, from the old tip down, then the connects upwards),
// every connection gets
//
//	{"type":"block_disconnected"|"block_connected","height","hash","prev_hash","time","txs","at"}
//
// with "at" the state after the whole commit, followed, for each followed
// script hash the block touched, by
//
//	{"type":"scripthash","scripthash","address"?,"height","hash","connected":true,
//	 "funded":[{txid,vout,value,height,coinbase}],"spent":[{txid,vout,value,height,coinbase,spent_by}]}
//	{"type":"scripthash",...,"connected":false,"removed":[...],"restored":[...]}
//
// "address" is present when the script hash was subscribed to by address.
// A connected block added "funded" to the script hash's unspent set and
// took "spent" out of it; a disconnected block took "removed" (its own
// outputs) out and put "restored" (the coins it had spent) back. Apply the
// additions (funded, restored) before the removals (spent, removed): a
// coin created and spent within one block is in both lists of a connect
// (in neither of a disconnect, as utxo.BlockChange has it, but the rule
// holds either way). Replaying the messages on the unspent set at a
// subscription's "at" gives the set at every later state.
//
// A connection whose queue (Options.QueueLen messages) is full is closed
// with 1008 (policy violation), so a slow client never holds back the
// others or the node. If the stream itself falls behind the commits
// (Options.EventBuffer), events are lost: every connection gets an error
// message and 1013 (try again later) and should reconnect and resubscribe.
// Handler.Close closes every connection with 1001.
//
// What the package does not do: it writes no state, serves neither the
// Bitcoin Core nor the Esplora dialect (sibling packages do), listens on
// no socket (the caller mounts the Handler), and keeps no history: a stream
// client that reconnects gets no replay of what it missed.
package native
