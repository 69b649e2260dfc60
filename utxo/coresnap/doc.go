// Package coresnap reads and writes Bitcoin Core's UTXO snapshot files, the
// ones `bitcoin-cli dumptxoutset` writes and `loadtxoutset` reads (format
// version 2, Core 28 and later), as a stream of utxo.Outpoint/utxo.Coin.
// It is the first step of starting a satnode network from Core's own set.
//
// What it does:
//
//   - Reader checks the header (magic, version 2, the expected network;
//     the error names the network found and the one expected) and returns
//     the coins one at a time through a fixed-size buffer, so a
//     multi-gigabyte mainnet snapshot is read in bounded memory. It returns
//     io.EOF exactly after the header's count of coins, once it has checked
//     that no byte follows.
//   - It refuses everything Core's PopulateAndValidateSnapshot refuses, with
//     an *Error carrying a stable ErrorCode, the byte offset, the coin's
//     index and, once read, its outpoint: a truncated file, a txid claiming
//     more coins than the count leaves, bytes left over, a coin above the
//     base height, an amount outside MoneyRange, a vout or count above
//     Core's MAX_SIZE (2^25, which covers its explicit vout < 2^32-1), a
//     non-canonical CompactSize, a VARINT that overflows.
//   - Writer writes a set in exactly the bytes Core writes for it, so a file
//     read and written back is reproduced byte for byte (the tests do this
//     with the mainnet fixtures, and FuzzReader for any file the Reader
//     accepts).
//
// Where it is stricter than Core: Core's loader accepts coins in any order
// and only a repeated outpoint makes it fail (later, on the set hash). The
// Reader requires what every Core dump has, because Core walks its
// chainstate database in key order: txids strictly ascending by their 32
// internal-order bytes, and within a txid, vouts strictly ascending by the
// bytes of VARINT(vout) (numeric order for vouts up to 16,511, which covers
// every mainnet transaction so far; see utxo.CompareCoreOrder). This also
// rules out repeated outpoints and txids split over two groups with one
// comparison per coin, no set of seen outpoints. It also refuses, where Core
// would load something else than the bytes say: a txid with zero coins, an
// uncompressed P2PK (script kinds 4, 5) whose x is not on secp256k1 (Core
// would load an empty script), a raw script over 10,000 bytes (Core would
// load OP_RETURN), and a raw script Core would have stored as a template.
// Core never writes any of these, and refusing them makes decoding
// one-to-one. A compressed P2PK (kinds 2, 3) is not checked, as in Core:
// Core stores such scripts without validating the key, so a real set may
// hold one with an invalid x, and it must load.
//
// What it does not do: it touches no store (loading the coins into the
// engine is utxo's business, a separate step), and it does not know the
// chain. The file has no base height: the caller gives it, from its header
// chain or a Bitcoin node. It does not check the base hash against a chain,
// nor the set against Core's assumeutxo hash (hash_serialized_3) or MuHash:
// the coins it returns are exactly the set `gettxoutsetinfo muhash` hashes,
// so hashing them with utxo.AppendMuHashElement gives a digest directly
// comparable with Core's. It does not read Core's older formats (version 1,
// or the pre-28 layout without txid grouping).
//
// The format, with worked examples from a real file, is documented in
// network.go (header), reader.go (body) and utxo/corecoin.go (a coin).
package coresnap
