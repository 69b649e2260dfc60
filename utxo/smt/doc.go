// Package smt is the sparse Merkle tree that commits to the UTXO set so
// that one coin's presence or absence can be proven against the app hash.
//
// The tree is the one ICS-23's SmtSpec describes (celestiaorg/smt's
// layout), so standard ICS-23 code verifies its proofs:
//
//	path  = sha256(key)                      (ICS-23: PrehashKey SHA256)
//	leaf  = sha256(0x00 ‖ path ‖ sha256(value))
//	inner = sha256(0x01 ‖ left ‖ right)
//	empty = 32 zero bytes
//
// A subtree that holds one leaf is that leaf's hash, wherever it sits, so a
// leaf lives at the shallowest depth where its path differs from every
// other leaf's: about log2(n) levels, not 256. A subtree of two or more
// leaves is an inner node even when all of them are on one side (its other
// child is empty). The root of the empty tree is the empty hash.
//
// Storage. What must be stored is one 32-byte hash per leaf; everything
// else can be recomputed. So the tree keeps:
//
//   - a leaf table in path order: path[:8] ‖ the caller's reference to the
//     key (for the UTXO set, five bytes of txid and the vout) → the leaf
//     hash. Eight bytes of path place a leaf without reading anything
//     else unless another leaf shares them (a 2^-64 chance a pair, or
//     grinding); those few are ordered and split by their whole paths,
//     which the caller resolves from the reference (Reader.Resolve). The
//     reference makes the key unique and the leaf findable; storing the
//     leaf hash rather than the value's means a rehash is inner nodes only;
//   - the (hash, leaf count) of every subtree, at every depth, that holds
//     at least StoreThreshold leaves. A smaller subtree is recomputed from
//     its leaves, which are adjacent in the leaf table: one short scan.
//
// The stored nodes are a function of the leaf set alone (a node is stored
// exactly when its subtree is big enough), so the bytes on disk, not just
// the root, are the same whatever order the changes came in or how they
// were batched: a reorg back and forth leaves the tables byte-identical.
//
// What it does: Apply folds a sorted batch of leaf changes into the stored
// tree and returns the new root, writing only what changed; Prove returns
// the sibling hashes from a leaf (or from the place a missing key would
// be) up to the root, and the neighbouring leaves a non-membership proof
// needs. What it does not do: it knows nothing of coins, outpoints or
// ICS-23's protobuf types (the engine supplies keys and values; the RPC
// layer turns proofs into ICS-23 CommitmentProofs), and it keeps no history:
// older roots are proven from a store snapshot taken at that commit.
package smt
