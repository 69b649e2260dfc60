// Package snapgen generates mainnet-like UTXO sets as Bitcoin Core
// snapshot files (dumptxoutset format version 2, through coresnap.Writer),
// for tests and benchmarks of snapshot loading at mainnet scale without a
// mainnet node.
//
// What it does: given a coin count, a base height and a seed, it streams a
// set in Core's order (txids ascending, see below) in constant memory, so
// a file of 164M coins (the mainnet set's size in 2024) takes as little
// memory as one of 1,000. The file is a pure function of Config: the same
// Config writes the same bytes. The script types, values, coins per
// transaction, heights, coinbase flags and address reuse follow the tables
// in mix.go,
// measured on a real block (mainnet 866342, in testdata/mainnet) and, for
// the old coins a modern block does not show, public statistics of the UTXO
// set; each table names its source.
//
// How txids come out in order without sorting: the first 8 bytes of each
// txid (in internal byte order, the order Core writes) are a strictly
// increasing counter advanced by random gaps sized so that the expected
// number of transactions spans the 2^64 range; the other 24 bytes are
// random. Every txid is distinct and greater than the one before.
//
// What it does not do: the set is not the state of any chain. Its coins
// were never created by transactions, its txids hash nothing, and the base
// hash is whatever Config says. A snapshot that a real Bitcoin node or
// satnode validators must accept for a real chain has to come from that
// chain (bitcoin-cli dumptxoutset); a generated one loads into a store for
// measurement and crash tests, and satnode cannot connect real blocks on
// it. Every coin is valid by Core's rules for a snapshot (spendable
// script, amount in range, height at most the base), and the total stays
// under 21M BTC.
package snapgen
