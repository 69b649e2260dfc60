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
//	/block/:hash/txids              JSON: the block's txids, in block order
//	/block/:hash/raw                binary (application/octet-stream): the block
//	/block/:hash/txs[/:start]       JSON: 25 transactions from start in Esplora's
//	                                format; start a multiple of 25 ("start index must
//	                                be a multiple of 25"), below the count ("start
//	                                index out of range"); a start that is no 32-bit
//	                                number is 0, as in Esplora (mempool.js sends
//	                                "undefined" when none is given)
//	/tx/:txid/outspend/:vout        JSON {"spent":false}, or {"spent":true, txid,
//	                                vin, status: {confirmed, block_height,
//	                                block_hash, block_time}}
//
// Blocks and transactions come from the node's body store (Options.Bodies):
// the checked bodies of the last [bodies] retention blocks (the genesis
// block from the network's parameters). A hash the chain does not have is
// 404 "Block not found"; a block of the chain whose body is not held is 404
// "Block body not available: …" saying so. Scripts are described as
// Esplora (rust-bitcoin) describes them: its asm ("OP_PUSHBYTES_20 …"), its
// type names (p2pkh, v0_p2wpkh, v1_p2tr, op_return, …) and addresses of
// every witness version. An input's prevout (and inner redeem and witness
// scripts) and a transaction's fee come from the block's undo record, kept
// for the last finality_depth+1 blocks: for a deeper block they are not
// known and not guessed, so prevout is null and fee is left out (a
// coinbase's fee is 0 either way).
//
// Outspends without a spend index: an output in the UTXO set is
// {"spent":false}; otherwise the undo records of the last finality_depth+1
// blocks (the undo depth, N) are searched for the input that spent it
// (utxo.Reader.FindSpend, at most N record reads). An output in neither is
// not guessed: the answer is 404 "Spend not known: output TXID:VOUT is not
// in the UTXO set and no input of the last N blocks spent it (…). It was
// spent before those blocks, or it never existed: satnode keeps no
// transaction index to tell which." Unspendable outputs (OP_RETURN), which
// never enter the set, answer the same 404, where Esplora says
// {"spent":false}.
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
// and every output's status is confirmed. What it does not serve: the
// block summary (/block/:hash), /block/:hash/txid/:index, transactions by
// txid (/tx/:txid and its other routes, /tx/:txid/outspends among them:
// without a transaction index satnode cannot find a transaction, or how
// many outputs it has), address history (/address/:address/txs…), the
// mempool, fee estimates and broadcasting; those paths answer 404 as
// unknown Esplora paths do. Segwit addresses of witness versions 2 to 16,
// which Esplora accepts, are refused as undecodable.
package esplora
