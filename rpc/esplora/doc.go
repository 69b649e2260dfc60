// Package esplora serves the read-only part of the Esplora REST API
// (Blockstream's electrs, mempool.space) that satnode's committed UTXO
// state can answer, with Esplora's paths, status codes, content types and
// messages, so Esplora clients (mempool.js and the like) work unchanged.
//
// The handler is rooted at "/"; the server also mounts it under "/api/"
// with http.StripPrefix, where mempool.space-style clients look. Routes
// (GET and HEAD; any other method is 405):
//
//	/blocks/tip/height              text: the UTXO set's tip height
//	/blocks/tip/hash                text: its hash
//	/block-height/:height           text: the hash at height, 404 "Block not found"
//	/block/:hash/header             text: the 80-byte header in hex
//	/block/:hash/status             JSON {in_best_chain, height, next_best};
//	                                an unknown hash is {false, null, null}, as in Esplora
//	/address/:address               JSON {address, chain_stats, mempool_stats}
//	/scripthash/:hash               JSON {scripthash, chain_stats, mempool_stats}
//	/address/:address/utxo          JSON [{txid, vout, status, value}]
//	/scripthash/:hash/utxo          the same
//
// Every answer reads one app.View (one commit) and carries the stamp
// headers naming it (X-Satnode-Height, -Hash, -Chain-Height). Before the
// first commit every route answers 503 with a text body.
//
// Unspent outputs, paging: an unpaged /utxo answer lists every output, but
// an address with more than Options.MaxUTXOs of them is refused at once with
// 400 and a message giving the count and how to page (electrs has the same
// kind of limit), rather than a response that takes minutes. Paging is
// satnode's extension and keeps Esplora's array shape so that Esplora
// clients still parse every page: ?limit=N (1..Options.MaxPage) and
// ?after=TXID:VOUT. When more outputs follow, the answer carries
// "X-Satnode-Next: TXID:VOUT" and a Link header with rel="next". Outputs
// come in the index's key order (txid bytes as stored, then vout) and the
// cursor is a key position, not a
// snapshot: it stays valid across commits, but each page reads the view of
// its own request, so a walk across commits can miss an output spent or
// created meanwhile (or see it on one page and find it gone on the next).
// Walk within one X-Satnode-Hash for an exact listing.
//
// Confirmed state only: satnode has no mempool, so mempool_stats are zero
// and every output's status is confirmed. What it does not serve: blocks
// and transactions (/block/:hash, /tx/…, /block/:hash/txs), address
// history (/address/:address/txs…), the mempool, fee estimates and
// broadcasting; those paths answer 404 as unknown Esplora paths do. Segwit
// addresses of witness versions 2 to 16, which Esplora accepts, are
// refused as undecodable.
package esplora
