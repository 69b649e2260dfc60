// Package muhash implements MuHash3072, the multiset hash Bitcoin Core uses
// for `gettxoutsetinfo muhash`, byte-compatible with Core's
// src/crypto/muhash.{h,cpp}.
//
// A set is committed to as the product, modulo the prime
// p = 2^3072 - 1103717, of one group element per member. Element maps bytes
// to a group element (SHA-256, then 384 bytes of ChaCha20 keystream keyed by
// the hash, read as a little-endian number). Adding a member multiplies the
// element in, removing it multiplies its inverse in; because multiplication
// is commutative, the result depends only on the multiset, not on the order
// of operations. A digest is SHA-256 of the canonical 384-byte little-endian
// encoding of the normalized product.
//
// The package offers two levels:
//
//   - Num3072, a number modulo p, with Mul, Div, Inverse and a canonical
//     encoding. Callers that batch work (one product of inserted and one of
//     removed elements per block, then a single inversion) use it directly
//     together with Element and DigestOf.
//   - MuHash3072, Core's numerator/denominator accumulator with Insert,
//     Remove, Combine, DivideBy and Finalize, for code that mirrors Core.
//
// What the package does not do:
//
//   - It knows nothing about coins, outpoints or their serialization. The
//     caller decides which bytes represent a set member (for Core
//     compatibility: the outpoint and coin serialized as Core's
//     TxOutSer does); this package only hashes the bytes it is given.
//   - It is not constant-time. Its inputs are public UTXO data, so the
//     arithmetic (math/big multiplication and extended-GCD inversion)
//     branches on values freely.
//
// All functions and methods are safe to call concurrently on distinct
// values; the package has no mutable package-level state.
package muhash
