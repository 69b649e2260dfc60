// Package btcheaders is the Bitcoin header tree that satnode's state machine
// keeps: every valid header that synchronizers submitted above a finalized
// base, with cumulative work, insertion order and the queries fork choice
// needs.
//
// What it does:
//
//   - New roots a tree at a start point: the network's genesis header, or a
//     later header with the ancestry the contextual rules need
//     (RequiredAncestry explains the count: max(10, height mod 2016)).
//   - Add checks a header with btcd's blockchain.CheckBlockHeaderSanity and
//     CheckBlockHeaderContext for the configured network (proof of work,
//     bits within the limit, difficulty retargets and testnet's
//     min-difficulty rule, median-time-past, version, checkpoints), through
//     btcd's HeaderCtx and ChainCtx interfaces implemented over the tree,
//     plus parent known, not a duplicate, above the finalized base. The
//     future-time rule ("at most 2 h ahead") is measured against the now the
//     caller passes, the CometBFT block time. Rejections are RuleErrors with
//     stable ErrorCodes.
//   - Fork choice: BestChain (most work among chains whose headers pass a
//     caller's filter, such as "endorsed"; ties go to the header seen
//     first), BestHeader (BestChain without a filter, kept up to date),
//     Tips, ForkPoint, Ancestor, MedianTimePast.
//   - SetBase finalizes a node: everything not descending from it is pruned,
//     except the ancestry later headers still need. It returns the pruned
//     nodes that had been above the old base, so the caller can drop what it
//     keeps per candidate header without a scan.
//   - WriteChanges puts the changes since the last call into the caller's
//     batch, Load rebuilds the identical tree, and Root digests it.
//
// Everything is deterministic: results depend only on the chain parameters
// and the sequence of calls with their arguments. There is no clock, no
// randomness, no floating point, and no map iteration whose order reaches a
// result or a stored byte (maps are iterated only to collect and then sort).
//
// What it does not do: it knows nothing of endorsements, stake, fees or
// bonds; the state machine passes endorsement as BestChain's filter and
// decides what a header submission costs. It does not bound its own size:
// every valid header is kept until SetBase prunes it, so the caller must make
// junk expensive (see the costs below). It does not fetch or validate block
// bodies, and it is not safe for concurrent use.
//
// # Cost of a header
//
// Memory: about 290 bytes of heap per node (measured by TestMemoryPerHeader
// on 14,132 headers: the 176-byte node, its entry in the hash index, its
// slot in the parent's child list and in its Root bucket, and a share of
// the 256 KiB bucket table every tree has). Disk: one record of a 39-byte
// key (with a one-byte prefix) and an 88-byte value, 127 bytes before the
// store's own overhead.
//
// Time: Add costs about 5–8 µs on one core (three double-SHA256 of the
// header, one by btcd for proof of work, one for the checkpoint check and
// one for the index; a median of 11 times). What the state machine calls
// every block costs in proportion to what changed, not to the size of the
// tree, so that a catch-up or a flood of 100,000 headers does not slow every
// block: BestHeader is kept up to date by Add and SetBase; Root rehashes only
// the buckets headers entered or left (below). BenchmarkBlock measures a
// block's Add, BestHeader, Root and WriteChanges: about 11 µs with 100
// headers in the tree and 20 µs with 100,000 (the difference is the bucket
// rehash, 25 nodes at that size), where one full pass over 100,000 headers
// took 40 ms. What still walks the tree: BestChain with a filter (one visit
// per node above the base that passes it), Tips and Nodes (a sort), SetBase
// when it prunes the best header (one BestChain), and Load.
//
// # Storage format, version 1
//
// All keys start with the caller's prefix P (one or more bytes, for example
// 'H'); nothing else in the store may use keys that start with P. After P
// comes a table tag and a version byte, as in package utxo, so one table can
// change format while both versions stay readable.
//
//	table  key                                   value
//	meta   P 'm' 01                              meta record (below)
//	node   P 'n' 01 u32be(height) hash[32]       header[80] ‖ u64be(seq)
//
// Heights are big-endian, so key order is height order and Load reads every
// parent before its children; the hash is in internal byte order (the
// reverse of the usual hex). One node record exists for every node in the
// tree, the base's ancestry included.
//
//	node value   size  field
//	header        80   the block header as serialized on the wire
//	seq            8   insertion sequence number, big-endian
//
//	meta value   size  field
//	net            4   the network's wire.BitcoinNet, big-endian (mainnet d9b4bef9)
//	base height    4   big-endian
//	base hash     32   internal byte order
//	bottom work   32   cumulative work of the lowest node kept, a big-endian uint256
//	next seq       8   the sequence number the next added header gets, big-endian
//
// Cumulative work is not stored per node: Load recomputes it from the bottom
// node's work and each header's bits (blockchain.CalcWork), which also checks
// the records against each other.
//
// Worked example (storeformat_test.go checks these bytes): a mainnet tree
// from genesis with block 1 added, written with P = 'H', is three records.
//
//	48 6d 01                                                            meta key
//	d9b4bef9                                                            net: mainnet
//	00000000                                                            base height 0
//	6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000    base hash: genesis
//	0000000000000000000000000000000000000000000000000000000100010001    bottom work 0x100010001
//	0000000000000002                                                    next seq 2
//
//	48 6e 01 00000000 6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000
//	'H' 'n' v1 height 0  genesis hash
//	01000000 0000…0000 3ba3edfd…4b1e5e4a 29ab5f49 ffff001d 1dac2b7c     the genesis header
//	0000000000000000                                                    seq 0
//
//	48 6e 01 00000001 4860eb18bf1b1620e37e9490fc8a427514416fd75159ab86688e9a8300000000
//	01000000 6fe28c0a…00000000 982051fd…57233e0e 61bc6649 ffff001d 01e36299 block 1's header
//	0000000000000001                                                    seq 1
//
// # Root
//
// Root commits to exactly what Load would rebuild: the meta record and every
// node record. Version 2 (rootDomain "satnode/btcheaders/root/v2") is a
// three-level hash, so that a change rehashes only its own path:
//
//	Root      = SHA-256("satnode/btcheaders/root/v2" ‖ meta value ‖ G(0) ‖ … ‖ G(63))
//	G(g)      = SHA-256(H(64g) ‖ H(64g+1) ‖ … ‖ H(64g+63))
//	H(b)      = SHA-256 of the concatenated records of bucket b, in key order,
//	            each u32be(height) ‖ hash[32] ‖ header[80] ‖ u64be(seq)
//	            (the node key without P, tag and version, then the value)
//
// A node's bucket is the first 12 bits of its block hash in internal byte
// order: hash[0]<<4 | hash[1]>>4. The block hash is already a hash, so it
// spreads nodes evenly; an empty bucket hashes to SHA-256 of nothing. The
// tree keeps each bucket's nodes in key order and marks a bucket dirty when
// a node enters (New, Add, Load) or leaves (SetBase); a node's record never
// changes while it is in the tree. Root rehashes the dirty buckets, their
// groups and the top, and returns the previous result when nothing changed.
// Every byte hashed is a stored byte and every order is key order, so Root
// depends only on the stored contents: not on insertion order, on how often
// Root or WriteChanges was called, or on whether the tree was loaded.
//
// A submitter can steer headers into one bucket only by grinding their hash,
// that is by redoing proof of work 4096 times per header; at worst every
// node shares a bucket and Root costs one pass over the tree, as version 1
// always did, without the sort.
//
// The worked example's tree has genesis in bucket 0x6fe (group 27) and block
// 1 in bucket 0x486 (group 18), every other bucket empty; its Root is
// 2a3e11013009f3733467f07ccb204fb9f171b1a8bf6a058d7d1d04dbba06dbd3
// (storeformat_test.go).
//
// # Crash recovery
//
// WriteChanges only fills the caller's batch; the caller commits it with the
// rest of the block's state in one atomic write. After a crash the store
// holds the tree as of the last commit, Load rebuilds exactly that tree, and
// CometBFT's handshake replays the blocks after it. If a commit fails the
// in-memory tree is ahead of the store: discard it and Load again.
package btcheaders
