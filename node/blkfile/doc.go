// Package blkfile reads and writes Bitcoin blocks in Bitcoin Core's blk file
// format, for satnode's offline bulk importer and for the node's block body
// provider.
//
// A blk file (Core's blocks/blk?????.dat) is a sequence of records
//
//	magic (4 bytes, the network's wire.BitcoinNet little-endian) ‖ u32le length ‖ serialized block
//
// possibly followed by zero bytes, because Core preallocates file space. A
// record cut short at the end of a file (Core killed mid-write) ends that
// file's data and is reported in ScanStats, not treated as an error. Core 28+
// obfuscates the files of a directory with the 8-byte key in its xor.dat
// (byte i of a file XORed with key[i%8]); the key is taken from the
// directory of each file, also when a file is named on its own. Files may
// also be bzip2-compressed (".bz2"), in which case they can only be read front
// to back, and an obfuscation key applies to the decompressed bytes.
//
// Reading is done in three steps:
//
//   - Scan is the index pass: it reads the 80-byte header of every record,
//     seeking over the bodies of plain files, and records hash, parent,
//     difficulty bits and location.
//   - Index.BestChain links the headers into a tree rooted at the network's
//     genesis block (or, with BestChainFrom, at a known mid-chain block) and
//     picks the tip with the most cumulative work. Core stores blocks out of
//     order, along with stale forks and duplicates; those are sorted out
//     here. Blocks not descending from the root are ignored and counted.
//   - Chain.Blocks streams the raw blocks in height order, read ahead in a
//     background goroutine, each checked to hash to its indexed hash.
//
// Index.Read serves a single block by hash, for a node that applies the
// blocks its chain endorses in any order: plain files (obfuscated or not)
// with one positioned read; .bz2 files, which cannot be seeked, only from
// memory, if the index pass was asked to keep their decompressed blocks
// (ScanOptions.KeepCompressed).
//
// Writer produces blk files (with optional obfuscation), for generated
// chains and tests.
//
// What the package does not do: it validates nothing beyond framing and hash
// linking. Proof of work is not checked (the difficulty bits are trusted to
// weigh branches), nor are merkle roots, transactions, or consensus rules;
// blocks are handed on as raw bytes for the UTXO engine to decode and
// validate. It also does not read Core's block index (blocks/index) or undo
// data (rev?????.dat): the chain is rebuilt from the block headers alone.
package blkfile
