// Package utxo is satnode's deterministic UTXO engine: it turns Bitcoin
// blocks into the set of unspent outputs, with Bitcoin Core's semantics, in
// an ordered key-value store.
//
// What it does:
//
//   - Connect applies a block on top of the tip after checking what an
//     indexer can check cheaply: proof of work against the header's bits,
//     the merkle root and the CVE-2012-2459 duplicated-tail mutation, the
//     witness commitment, transaction shape and output values, duplicate
//     inputs, missing or already spent inputs, coinbase maturity,
//     overspending, the coinbase claiming more than subsidy plus fees, and
//     BIP30. Script validation (btcd's txscript) is optional. A rejected
//     block is a RuleError with a stable ErrorCode and leaves the set as it
//     was.
//   - The set follows Core's coinstatsindex exactly: the genesis coinbase
//     and provably unspendable outputs are never added, the coinbases of
//     mainnet blocks 91722 and 91812 are skipped so their BIP30 duplicates
//     in 91842 and 91880 take their place, and Core's unspendable tallies
//     are kept. The MuHash3072 of the set equals `gettxoutsetinfo muhash`
//     at every height, and every height's digest and totals are kept.
//   - Disconnect reverts the tip from its undo record alone (no block body
//     needed); connecting blocks and disconnecting them leaves the store
//     byte-identical.
//   - It indexes unspent outputs by script hash (sha256 of the script, the
//     Electrum/Esplora scripthash) with Esplora's funded/spent/tx counters,
//     keeps headers by height and hash, and per-block statistics (fees,
//     amounts, coin-days destroyed).
//   - Seed and SeedStream start a store from a UTXO snapshot (Bitcoin
//     Core's dumptxoutset coins, streamed in (txid, vout) order) instead of
//     from genesis, in memory bounded by the cache budget: the coins go to
//     disk in chunks as they come, while their script-hash index entries
//     are sorted into runs that are merged into the index and counters
//     once every coin is in, so every table is written once, in key order.
//     A loading marker (the last coin flushed, running totals, MuHash
//     accumulator, then the index's progress) makes an interrupted load
//     refused (ErrLoadIncomplete) until resumed; the result is
//     byte-identical however it was chunked or interrupted.
//   - It keeps the UTXO tree (tree.go, utxo/smt): a sparse Merkle tree
//     in ICS-23's SmtSpec layout keyed by sha256(txid ‖ u32le(vout)),
//     whose leaf commits to the coin. A flush derives the tree's changes
//     from the coins it writes and writes them in the same atomic update,
//     so it follows connects, disconnects and reorgs, and its records are
//     a function of the set (byte-identical under any cache budget, flush
//     interval or restart). TreeRoot gives the root between flushes;
//     Reader.ProveCoin the siblings of a coin, or of the coins on either
//     side of a missing outpoint. A snapshot load builds it from the coins
//     table once they are in, from sorted runs (seedtree.go).
//   - A coin cache with a byte budget absorbs outputs created and spent
//     between flushes; every flush is one atomic, synced batch that carries
//     the consistency marker, so a process killed at any instant restarts
//     at the last flushed tip. The contents depend only on the chain, never
//     on cache size, flush interval or restarts. FlushWith lets the
//     consensus layer write its own state in the same atomic update, under
//     keys the engine does not reserve.
//
// What it does not do: it does not validate headers in context (difficulty
// retargets, timestamps, checkpoints) or choose between forks: the caller
// (the consensus layer, or the importer following one chain) decides which
// block comes next. It does no networking and reads no clock. The store is
// behind the Store interface; leveldbstore implements it on goleveldb and
// memstore in memory.
//
// The on-disk formats are documented where they are encoded: keys.go (the
// key layout), coin.go (coins), undo.go (undo records), records.go
// (block records and the state record) and load.go (the loading marker).
package utxo
