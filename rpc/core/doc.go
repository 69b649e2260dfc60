// Package core serves Bitcoin Core's JSON-RPC dialect, read-only, over
// satnode's committed UTXO state, so that clients written for Core (btcd's
// rpcclient, btcctl, bitcoin-cli style scripts) work against satnode
// unchanged.
//
// What it does:
//
//   - The protocol of Core ≥ 28 (httprpc.cpp, rpc/request.cpp): legacy
//     JSON-RPC 1.0 replies with both "result" and "error" and HTTP errors
//     (500; 400 for -32600, 404 for -32601); JSON-RPC 2.0 replies with
//     one of them and HTTP 200 once the call is parsed, 204 and no body for
//     notifications; batches answered with HTTP 200 and an array, all from
//     one view so every answer in it reflects the same commit; positional
//     and named parameters; Core's error codes and messages for bad input
//     (argument count: the help text as -1; argument types: -3 "Wrong type
//     passed"; bad hashes -8; unknown blocks -5; nothing committed yet
//     -28). An oversized body (the server's http.MaxBytesReader) is 413
//     with a -32600 body; anything but POST is 405 as in Core.
//   - The methods getblockchaininfo, getblockcount, getbestblockhash,
//     getblockhash, getblockheader, getblock, getrawtransaction, gettxout,
//     gettxoutsetinfo and scantxoutset with Core's parameters and result
//     fields, and a minimal
//     getnetworkinfo: btcd's rpcclient calls it (after "getinfo" fails
//     with -32601, telling it this is not btcd) to learn the Core version
//     and so the shape in which it decodes getblockchaininfo; satnode
//     answers version 280000, "/Satoshi:28.0.0(satnode)/", so rpcclient
//     takes the modern shape this package speaks.
//   - Every answer that read a view carries the stamp headers
//     (rpc/internal/stamp) naming the commit it reflects.
//
// Where satnode differs from Core, on purpose:
//
//   - difficulty is btcd's exact ratio of the network's proof-of-work
//     limit to the block's target: Core's value on mainnet, btcd's on
//     regtest (1, where Core prints 4.656542373906925e-10).
//   - getblockheader knows the blocks of the connected chain only (others
//     are -5 "Block not found"); its chainwork is derived from the view's
//     TipWork and left out for blocks more than 2016 below the tip.
//   - getblock (verbosity 0 to 3, or true/false) and getrawtransaction
//     (verbosity 0 to 2, or true/false) read block bodies from the node's
//     body store (Options.Bodies, the [bodies] retention window below the
//     tip; the genesis block always comes from the network's parameters).
//     Their result objects are Core's, in Core's field order, so btcd's
//     rpcclient decodes them as btcjson.GetBlockVerboseResult and
//     TxRawResult. Outside the body store the answers are Core's for data
//     it does not have: a block of the connected chain whose body is not
//     held is -1 "Block not available (pruned data)" (getrawtransaction:
//     -1 "Block not available"); a block not on the connected chain is -5
//     "Block not found" (getrawtransaction: -5 "Block hash not found"),
//     since satnode keeps no side branches, where Core would answer a
//     stale block with in_active_chain false. getblock's mediantime reads
//     the ten headers before the block; its chainwork is getblockheader's
//     (left out more than 2016 blocks below the tip).
//   - getrawtransaction needs the block hash: satnode has no mempool and
//     no transaction index, so without it the answer is Core's own for
//     that case, -5 "No such mempool transaction. Use -txindex or provide
//     a block hash to enable blockchain transaction queries. Use
//     gettransaction for wallet transactions." in_active_chain is always
//     true.
//   - Fees (getblock verbosity ≥ 2, getrawtransaction verbosity 2) and
//     prevouts (getblock 3, getrawtransaction 2) come from the undo
//     records, which the engine keeps for the last finality_depth+1
//     blocks; for deeper blocks both are left out, which is what Core
//     answers when it has no undo data for a block.
//   - A scriptSig's asm is Core's (a signature's hash type by name,
//     "…[ALL]"); output scripts read as in gettxout, btcd's disassembly,
//     which differs from Core's only for pushes of up to four bytes.
//   - gettxout ignores include_mempool (there is no mempool).
//   - gettxoutsetinfo always answers in Core's coinstatsindex form, for the
//     tip or any block of the connected chain, with satnode's block
//     statistics under "satnode"; its default hash_type is muhash, and
//     hash_serialized_3, which satnode does not keep, is a -8.
//   - scantxoutset answers addr() and raw() descriptors (with or without
//     their checksum) from the script-hash index, never scanning the set,
//     so "start" returns at once and there is never a scan to report or
//     abort ("status" is null, "abort" false); other descriptors, which
//     derive keys, are a -8. An answer longer than Options.MaxUTXOs
//     outputs is a -8 rather than an unbounded reply. Repeated scan
//     objects are dropped by sorting, O(n log n).
//   - An empty batch is a -32600 error (JSON-RPC 2.0), where Core 28
//     answers [].
//   - Core has no limit on a batch or a reply; satnode has two, so that a
//     1 MiB body cannot make the node build gigabytes (issue 11):
//   - A batch of more than Options.MaxBatch calls (the node's
//     [rpc] max_batch, 1000) is refused whole before any call runs: HTTP
//     400, one -32600 error with a null id, "Invalid Request: batch of N
//     calls exceeds the limit of M calls per request (max_batch); split
//     it".
//   - A reply, single call or whole batch, is capped at
//     Options.MaxReplyBytes ([rpc] max_reply_kb, 16 MiB), counted while it
//     is built. The call whose result would pass it gets, in place of the
//     result, -7 (Core's RPC_OUT_OF_MEMORY) "Reply exceeds N bytes
//     (max_reply_kb): ask for less in one call (fewer scan objects) or
//     split the batch"; in a batch every later call gets -7 "Reply exceeds
//     N bytes (max_reply_kb): an earlier call of this batch filled it, so
//     this one was not run; ..." without running, and the results before
//     it stand. Per-call errors keep the batch's shape (one reply per id),
//     so a client sees which calls to resend. They are not counted: a
//     reply is at most the cap plus one small error per call of the batch.
//     scantxoutset checks the budget while it reads the script index (an
//     estimate that never exceeds the real size) and stops there, so an
//     address with 100k outputs costs the outputs that fit, not all.
//
// What it does not do: write anything (no sendrawtransaction, no wallet),
// authenticate (the server in package rpc does, before this handler),
// limit the body size (the server's MaxBytesReader), or know anything
// beyond the committed state and the bodies the node's body store holds
// (no mempool, no transaction index, no peers, no side branches).
package core
