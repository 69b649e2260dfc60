// Package importer is satnode's offline bulk import: it reads Bitcoin
// blocks from blk files (plain or .bz2) or a Bitcoin Core blocks/
// directory, follows the most-work chain through them, and connects the
// blocks to the UTXO engine in a goleveldb store, with progress lines and
// resumption after an interruption.
//
// Decoding and the context-free block checks run on a pool of goroutines
// ahead of the engine, which connects in order; MuHash runs alongside in
// the engine's own pipeline.
//
// It does not fetch blocks from the network or a Bitcoin node, and it does
// not decide between forks beyond picking the most-work chain in the files.
package importer
