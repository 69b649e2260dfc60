// Package apphash defines satnode's app hash: the 32 bytes CometBFT
// signs for every block, and the ICS-23 proofs that tie a part of the
// state to it.
//
// What it does: it names the commitments the app hash covers
// (Commitments), computes the app hash of either version from them (Hash),
// and proves one commitment against the v2 root (Prove), so that a coin's
// proof against the UTXO tree (ICS-23 SmtSpec) and this proof (ICS-23
// TendermintSpec) chain from a coin to the app hash, the way IBC chains an
// IAVL proof to a Cosmos SDK multistore root.
//
// What it does not do: it computes none of the commitments (the UTXO
// engine computes the tree root and MuHash; consensus/app the consensus
// root), stores nothing, and knows nothing of CometBFT headers: checking
// that a header carrying the app hash was signed by ≥ 2/3 of the stake is
// the light client's job (CometBFT puts the app hash of height H in the
// header of H+1).
//
// # Versions
//
// A chain's genesis fixes its version (app_state.app_hash_version; absent
// means 1, so genesis files written before v2 keep their app hash).
//
//	v1  sha256("satnode/apphash/v1" ‖ MuHash ‖ tip hash ‖ u32be(tip height) ‖ consensus)
//	v2  Commitments.Root, below
//
// In both, consensus = sha256("satnode/consensus/v1" ‖ staking root ‖
// header-tree root ‖ endorsement root) (ConsensusRoot), and hashes are in
// internal byte order (the reverse of what Bitcoin Core prints).
//
// # The v2 tree
//
// Four items, sorted by name:
//
//	name        value                                      size
//	btc_tip     u32be(tip height) ‖ tip hash                36
//	consensus   the consensus root                          32
//	muhash      the UTXO set's MuHash3072 digest            32
//	utxo        the UTXO tree root (utxo/smt)               32
//
// Each item is encoded as the Cosmos SDK encodes a store of its multistore
// (store/internal/maps KVPair), and the root is CometBFT's simple Merkle
// tree over the encoded items (crypto/merkle.HashFromByteSlices):
//
//	item  = uvarint(len(name)) ‖ name ‖ uvarint(32) ‖ sha256(value)
//	leaf  = sha256(0x00 ‖ item)
//	inner = sha256(0x01 ‖ left ‖ right)   split at the largest power of two < n
//
// With four items the tree is root = inner(inner(btc_tip, consensus),
// inner(muhash, utxo)). That is exactly what ics23.TendermintSpec verifies:
// its leaf op (prefix 00, key not hashed, value SHA256, length VAR_PROTO)
// builds 00 ‖ item, and each inner op is 01 ‖ left sibling (our node on the
// right) or 01 with the right sibling as suffix (our node on the left).
//
// # Worked example
//
// Synthetic inputs, each hash a repeated byte: utxo 01…01, muhash 02…02,
// tip height 840000 with tip hash 03…03, consensus 04…04
// (TestWorkedExample checks every line):
//
//	btc_tip value  000cd140 0303…03                         (u32be 840000 ‖ hash)
//	        item   07 6274635f746970 20                     (len 7, "btc_tip", len 32)
//	               8c9db69863e8d5bf078dd936330e014f8d6f2dd72659e798c27ff337ed12a7bd  (sha256 of value)
//	        leaf   fc3f764e314222efae5dc0617e4e6dbf5cdf6aeadce823b399adab0571b9764d
//	consensus leaf f8433cd0ea1fc5c9d3ea720cbde29d3ce76e3aaeee2b866cbe441ce68ae1060f
//	muhash    leaf cc75b92d3c1c0192d1be76000777bcdc1b7064777f10ae479fec97e0d4e9b237
//	utxo      leaf 50b13bdc698ce960a733140cd5b8488950fa152ec7d229ea6267e3243a9a3bd0
//	inner(btc_tip, consensus) 1b6584589ff75853cf6c062e6eb48af910ec2ba3029523e40a59c130e6807e76
//	inner(muhash, utxo)       37919c57ba8a39b76be1193a578545a30e78fa6396a0783a68d4090873388634
//	v2 root        241d314a39db02530784175b8856add313776aa7a4e741848b84e5b86d4763f6
//	v1 hash        848fe18dcc0f4a666e433581fc9102b955caa1914df20bd9cea38ffdc613808d
//
// The proof of "utxo" is then the leaf op above and two inner ops: prefix
// 01 ‖ cc75b9…b237 (muhash, its left sibling), then prefix 01 ‖ 1b6584…7e76.
package apphash
